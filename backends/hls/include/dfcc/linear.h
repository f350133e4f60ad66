// dfcc/linear.h -- linear layer (matrix x weights) and matmul of two activation streams.
//
// Arithmetic contract (the CPU reference mirrors it bit for bit):
//   linear:  y[n][f] = T_out(T_mid(acc)) (T_mid defaults to T_acc), acc = T_acc(bias[f]), then for c in 0..C-1 in order:
//            acc = acc + T_acc(x[n][c] * w[f][c])
//   matmul:  y[m][n] = T_out(T_mid(acc)), acc = T_acc(0),       then for k in 0..K-1 in order (per batch entry):
//            acc = acc + T_acc(a[m][k] * b[k][n])
//   Products are exact for ap_fixed (float products for float); T_acc(.) and T_out(.) apply the
//   target type's quantization/overflow modes; acc + p is exact before the conversion to T_acc.
//   linear's IP pairs its products by FFIP (inner_product.h) as conv.h's conv_mac does.
//
// Folding: CI input lanes x CO output lanes = CI*CO MACs per cycle; each input beat is read once
// and used for all F/CO output beats (partial sums of the row kept in acc[F/CO][CO]).
// linear: N*(C/CI)*(F/CO) cycles. matmul: per block of I batch entries, b ([I][K][N]) is buffered
// (I*K*N/RL cycles) while the previous block's M*I*(K/CI)*(N/CO) cycles of rows run.
#ifndef DFCC_LINEAR_H
#define DFCC_LINEAR_H

#include <type_traits>

#include "inner_product.h"
#include "multiply.h"
#include "rom.h"
#include "vec.h"
#include "weights.h"

namespace dfcc {

// x [N][C] in CI lanes -> y [N][F] in CO lanes; weights w[F][C], bias[F].
// `w` is the array w[F][C] or the stream of its words (weights.h, offchip.h).
template <int N, int C, int F, int CI, int CO, typename T_in, typename T_w, typename T_b, typename T_acc,
          typename T_out, typename T_mid = T_acc, class MUL = dsp_mul, class IP = direct_product, class W>
void linear(hls::stream<vec<T_in, CI> >& in, hls::stream<vec<T_out, CO> >& out, W& w, const T_b bias[F]) {
    static_assert(C % CI == 0 && F % CO == 0, "lanes must divide the channels");
    DFCC_HLS(ARRAY_PARTITION variable=bias cyclic factor=CO)
    T_acc acc[F / CO][CO];
    vec<T_in, CI> x;
    vec<T_out, CO> y;
    vec<T_w, CO * CI> word;  // this cycle's weights
    typedef typename std::decay<decltype(val(T_w()))>::type T_wv;  // a weight's value (T_w may be its ROM code)
    T_wv ws[CI];                                                    // one output lane's (inner_product.h)
    DFCC_HLS(ARRAY_PARTITION variable=ws complete)
    DFCC_HLS(ARRAY_PARTITION variable=word.data complete)
    DFCC_HLS(ARRAY_PARTITION variable=acc complete dim=2)
    DFCC_HLS(ARRAY_PARTITION variable=x.data complete)
    DFCC_HLS(ARRAY_PARTITION variable=y.data complete)
    for (int n = 0; n < N; n++) {
        for (int cb = 0; cb < C / CI; cb++) {
            for (int fo = 0; fo < F / CO; fo++) {
                DFCC_HLS(PIPELINE II=1)
                if (fo == 0) x = in.read();
                word = w.read();  // the next weight word (weights.h)
                const auto shared = IP::template x_terms<MUL, CI, CO>(0, x.data);
                for (int co = 0; co < CO; co++) {
                    const int f = fo * CO + co;
                    T_acc sum = cb == 0 ? T_acc(val(bias[f])) : acc[fo][co];
                    step_weights<CI>(word.data, co * CI, CI, ws);
                    IP::template accumulate<MUL, CI>(sum, co, CI, x.data, ws, shared);  // lanes from co (multiply.h)
                    acc[fo][co] = sum;
                    y.data[co] = T_out(T_mid(sum));
                }
                if (cb == C / CI - 1) out.write(y);
            }
        }
    }
}

// matmul's right operand buffer: the I batch entries one block of rows reads, N in CO banks.
template <int I, int K, int N, int CO, typename T_b>
using matmul_buffer = T_b[I][K][N / CO][CO];

// Lanes of matmul's right operand stream: along its last dim group RC (see matmul).
template <int RC, int CI, int CO>
struct matmul_rhs_lanes {
    enum { value = RC == 2 ? CO : RC == 1 ? CI : 1 };
};

// One block of matmul's right operand from its stream into `buf` (see matmul).
template <int I, int K, int N, int RA, int RB, int RC, int CI, int CO, typename T_b>
void matmul_load(hls::stream<vec<T_b, matmul_rhs_lanes<RC, CI, CO>::value> >& b, matmul_buffer<I, K, N, CO, T_b>& buf) {
    constexpr int RL = matmul_rhs_lanes<RC, CI, CO>::value;
    constexpr int dims[3] = {I, K, N};
    for (int s = 0; s < dims[RA]; s++) {
        for (int t = 0; t < dims[RB]; t++) {
            for (int ub = 0; ub < dims[RC] / RL; ub++) {
                DFCC_HLS(PIPELINE II=1)
                const vec<T_b, RL> v = b.read();
                for (int p = 0; p < RL; p++) {
                    int idx[3];
                    idx[RA] = s;
                    idx[RB] = t;
                    idx[RC] = ub * RL + p;
                    buf[idx[0]][idx[1]][idx[2] / CO][idx[2] % CO] = v.data[p];
                }
            }
        }
    }
}

// One block of matmul's rows, M x I of them, against the buffered right operand (see matmul).
template <int M, int I, int K, int N, int CI, int CO, typename T_a, typename T_b, typename T_acc, typename T_out,
          typename T_mid, class MUL>
void matmul_rows(hls::stream<vec<T_a, CI> >& a, const matmul_buffer<I, K, N, CO, T_b>& buf,
                 hls::stream<vec<T_out, CO> >& out) {
    T_acc acc[N / CO][CO];
    vec<T_a, CI> x;
    vec<T_out, CO> y;
    DFCC_HLS(ARRAY_PARTITION variable=acc complete dim=2)
    DFCC_HLS(ARRAY_PARTITION variable=x.data complete)
    DFCC_HLS(ARRAY_PARTITION variable=y.data complete)
    for (int m = 0; m < M; m++) {
        for (int i = 0; i < I; i++) {
            for (int kb = 0; kb < K / CI; kb++) {
                for (int nb = 0; nb < N / CO; nb++) {
                    DFCC_HLS(PIPELINE II=1)
                    if (nb == 0) x = a.read();
                    for (int co = 0; co < CO; co++) {
                        T_acc sum = kb == 0 ? T_acc(0) : acc[nb][co];
                        for (int ci = 0; ci < CI; ci++)
                            sum += T_acc(MUL::mul(x.data[ci], buf[i][kb * CI + ci][nb][co]));
                        acc[nb][co] = sum;
                        y.data[co] = T_out(T_mid(sum));
                    }
                    if (kb == K / CI - 1) out.write(y);
                }
            }
        }
    }
}

// a [O][M][I][K] in CI lanes times b [O*I][K][N] -> y [O][M][I][N] in CO lanes: batch entry o*I + i
// of b multiplies row (o, m, i) of a (I > 1: attention heads read token-major). For each o, b's I
// entries are buffered from its stream, whose dims are the groups (RA, RB, RC) of (0: the I
// entries, 1: K, 2: N) (e.g. 2, 0, 1: a token-major K read as K^T), in lanes along RC: CO along N,
// CI along K, 1 along the entries, so each beat lands in distinct banks. The buffer sits between
// two DATAFLOW processes, a ping-pong (PIPO) buffer (UG1399), so the next block loads while this
// one's rows are computed.
template <int O, int M, int I, int K, int N, int RA, int RB, int RC, int CI, int CO, typename T_a, typename T_b,
          typename T_acc, typename T_out, typename T_mid = T_acc, class MUL = dsp_mul>
void matmul(hls::stream<vec<T_a, CI> >& a, hls::stream<vec<T_b, matmul_rhs_lanes<RC, CI, CO>::value> >& b,
            hls::stream<vec<T_out, CO> >& out) {
    static_assert(K % CI == 0 && N % CO == 0, "lanes must divide the dimensions");
    static_assert(RA != RB && RB != RC && RA != RC && RA >= 0 && RB >= 0 && RC >= 0 && RA < 3 && RB < 3 && RC < 3,
                  "(RA, RB, RC) must be a permutation of (0, 1, 2)");
    for (int o = 0; o < O; o++) {
        DFCC_HLS(DATAFLOW)
        matmul_buffer<I, K, N, CO, T_b> buf;
        DFCC_HLS(ARRAY_PARTITION variable=buf cyclic factor=CI dim=2)
        DFCC_HLS(ARRAY_PARTITION variable=buf complete dim=4)
        matmul_load<I, K, N, RA, RB, RC, CI, CO, T_b>(b, buf);
        matmul_rows<M, I, K, N, CI, CO, T_a, T_b, T_acc, T_out, T_mid, MUL>(a, buf, out);
    }
}

}  // namespace dfcc

#endif
