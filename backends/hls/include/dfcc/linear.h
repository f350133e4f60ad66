// dfcc/linear.h -- linear layer (matrix x weights) and matmul of two activation streams.
//
// Arithmetic contract (the CPU reference mirrors it bit for bit):
//   linear:  y[n][f] = T_out(T_mid(acc)) (T_mid defaults to T_acc), acc = T_acc(bias[f]), then for c in 0..C-1 in order:
//            acc = acc + T_acc(x[n][c] * w[f][c])
//   matmul:  y[m][n] = T_out(T_mid(acc)), acc = T_acc(0),       then for k in 0..K-1 in order:
//            acc = acc + T_acc(a[m][k] * b[k][n])
//   Products are exact for ap_fixed (float products for float); T_acc(.) and T_out(.) apply the
//   target type's quantization/overflow modes; acc + p is exact before the conversion to T_acc.
//
// Folding: CI input lanes x CO output lanes = CI*CO MACs per cycle; each input beat is read once
// and used for all F/CO output beats (partial sums of the row kept in acc[F/CO][CO]).
// linear: N*(C/CI)*(F/CO) cycles. matmul: B ([K][N], CO lanes) is buffered first
// (K*N/CO cycles per batch), then M*(K/CI)*(N/CO) cycles per batch.
#ifndef DFCC_LINEAR_H
#define DFCC_LINEAR_H

#include "multiply.h"
#include "rom.h"
#include "vec.h"
#include "weights.h"

namespace dfcc {

// x [N][C] in CI lanes -> y [N][F] in CO lanes; weights w[F][C], bias[F].
// `w` is the array w[F][C] or the stream of its words (weights.h, offchip.h).
template <int N, int C, int F, int CI, int CO, typename T_in, typename T_w, typename T_b, typename T_acc,
          typename T_out, typename T_mid = T_acc, class MUL = dsp_mul, class W>
void linear(hls::stream<vec<T_in, CI> >& in, hls::stream<vec<T_out, CO> >& out, W& w, const T_b bias[F]) {
    static_assert(C % CI == 0 && F % CO == 0, "lanes must divide the channels");
    DFCC_HLS(ARRAY_PARTITION variable=bias cyclic factor=CO)
    T_acc acc[F / CO][CO];
    vec<T_in, CI> x;
    vec<T_out, CO> y;
    vec<T_w, CO * CI> word;  // this cycle's weights
    DFCC_HLS(ARRAY_PARTITION variable=word.data complete)
    DFCC_HLS(ARRAY_PARTITION variable=acc complete dim=2)
    DFCC_HLS(ARRAY_PARTITION variable=x.data complete)
    DFCC_HLS(ARRAY_PARTITION variable=y.data complete)
    for (int n = 0; n < N; n++) {
        for (int cb = 0; cb < C / CI; cb++) {
            for (int fo = 0; fo < F / CO; fo++) {
                DFCC_HLS(PIPELINE II=1)
                if (fo == 0) x = in.read();
                mac_word<CO, CI, 1>(w, word, fo * CO, cb * CI, 0);
                for (int co = 0; co < CO; co++) {
                    const int f = fo * CO + co;
                    T_acc sum = cb == 0 ? T_acc(val(bias[f])) : acc[fo][co];
                    for (int ci = 0; ci < CI; ci++) sum += T_acc(MUL::mul(x.data[ci], val(word.data[co * CI + ci])));
                    acc[fo][co] = sum;
                    y.data[co] = T_out(T_mid(sum));
                }
                if (cb == C / CI - 1) out.write(y);
            }
        }
    }
}

// For each of BATCH batches: a [M][K] in CI lanes times b [K][N] in CO lanes -> y [M][N] in CO lanes.
template <int BATCH, int M, int K, int N, int CI, int CO, typename T_a, typename T_b, typename T_acc,
          typename T_out, typename T_mid = T_acc, class MUL = dsp_mul>
void matmul(hls::stream<vec<T_a, CI> >& a, hls::stream<vec<T_b, CO> >& b, hls::stream<vec<T_out, CO> >& out) {
    static_assert(K % CI == 0 && N % CO == 0, "lanes must divide the dimensions");
    T_b bbuf[K][N / CO][CO];
    T_acc acc[N / CO][CO];
    vec<T_a, CI> x;
    vec<T_out, CO> y;
    DFCC_HLS(ARRAY_PARTITION variable=bbuf cyclic factor=CI dim=1)
    DFCC_HLS(ARRAY_PARTITION variable=bbuf complete dim=3)
    DFCC_HLS(ARRAY_PARTITION variable=acc complete dim=2)
    DFCC_HLS(ARRAY_PARTITION variable=x.data complete)
    DFCC_HLS(ARRAY_PARTITION variable=y.data complete)
    for (int batch = 0; batch < BATCH; batch++) {
        for (int k = 0; k < K; k++) {
            for (int nb = 0; nb < N / CO; nb++) {
                DFCC_HLS(PIPELINE II=1)
                const vec<T_b, CO> v = b.read();
                for (int co = 0; co < CO; co++) bbuf[k][nb][co] = v.data[co];
            }
        }
        for (int m = 0; m < M; m++) {
            for (int kb = 0; kb < K / CI; kb++) {
                for (int nb = 0; nb < N / CO; nb++) {
                    DFCC_HLS(PIPELINE II=1)
                    if (nb == 0) x = a.read();
                    for (int co = 0; co < CO; co++) {
                        T_acc sum = kb == 0 ? T_acc(0) : acc[nb][co];
                        for (int ci = 0; ci < CI; ci++) sum += T_acc(MUL::mul(x.data[ci], bbuf[kb * CI + ci][nb][co]));
                        acc[nb][co] = sum;
                        y.data[co] = T_out(T_mid(sum));
                    }
                    if (kb == K / CI - 1) out.write(y);
                }
            }
        }
    }
}

}  // namespace dfcc

#endif
