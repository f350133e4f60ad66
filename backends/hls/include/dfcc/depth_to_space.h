// dfcc/depth_to_space.h -- depth-to-space (ONNX DepthToSpace, DCR order) of an [H][W][SH*SW*C]
// stream: y[h*SH+i][w*SW+j][c] = x[h][w][(i*SW+j)*C + c]. No arithmetic (T_out(x) only).
// The output rows of a transposed convolution computed per phase (sub-pixel convolution).
// Two input rows are buffered (ping-pong, 2*W*SH*SW*C/P beats): while input row h is read, the
// SH output rows of input row h-1 are written, one beat each per iteration: (H+1)*W*SH*SW*C/P
// iterations, the last row's worth only writing.
#ifndef DFCC_DEPTH_TO_SPACE_H
#define DFCC_DEPTH_TO_SPACE_H

#include "vec.h"

namespace dfcc {

template <int H, int W, int C, int SH, int SW, int P, typename T, typename T_out = T>
void depth_to_space(hls::stream<vec<T, P> >& in, hls::stream<vec<T_out, P> >& out) {
    static_assert(C % P == 0, "channels must fill whole beats");
    constexpr int CB = C / P, ROW = W * SH * SW * CB;
    vec<T, P> buf[2][ROW];
    DFCC_HLS(ARRAY_PARTITION variable=buf complete dim=1)
    for (int h = 0; h <= H; h++) {
        for (int i = 0; i < SH; i++) {
            for (int w = 0; w < W; w++) {
                for (int j = 0; j < SW; j++) {
                    for (int cb = 0; cb < CB; cb++) {
                        DFCC_HLS(PIPELINE II=1)
                        DFCC_HLS(DEPENDENCE variable=buf inter false)
                        // iteration k of the row reads input beat k and writes output beat k
                        const int k = ((i * W + w) * SW + j) * CB + cb;
                        if (h < H) buf[h % 2][k] = in.read();
                        if (h > 0) {
                            const vec<T, P> x = buf[(h - 1) % 2][((w * SH + i) * SW + j) * CB + cb];
                            vec<T_out, P> y;
                            for (int p = 0; p < P; p++) y.data[p] = T_out(x.data[p]);
                            out.write(y);
                        }
                    }
                }
            }
        }
    }
}

// depth_to_space_px: P whole output pixels per beat (P*C lanes in and out, SW dividing P, K = P/SW).
// The input pixel's phases (i, 0..SW-1) are SW*C contiguous words, the SW output pixels it gives
// on output row i: an input beat is K such runs, kept in the ping-pong rows as run[i][w], and an
// output beat is K runs of one output row. Banks: rows complete, columns cyclic by K, so the K runs
// a beat reads or writes lie in distinct banks. (H+1)*W*SH/K iterations.
template <int H, int W, int C, int SH, int SW, int P, typename T, typename T_out = T>
void depth_to_space_px(hls::stream<vec<T, P * C> >& in, hls::stream<vec<T_out, P * C> >& out) {
    static_assert(P % SW == 0 && W % (P / SW) == 0, "a beat must be whole runs of SW pixels, dividing the row");
    constexpr int K = P / SW, RUN = SW * C, ROW = W * SH / K;
    T buf[2][SH][W][RUN];
    DFCC_HLS(ARRAY_PARTITION variable=buf complete dim=1)
    DFCC_HLS(ARRAY_PARTITION variable=buf complete dim=2)
    DFCC_HLS(ARRAY_PARTITION variable=buf cyclic factor=K dim=3)
    DFCC_HLS(ARRAY_PARTITION variable=buf complete dim=4)
    for (int h = 0; h <= H; h++) {
        for (int n = 0; n < ROW; n++) {
            DFCC_HLS(PIPELINE II=1)
            DFCC_HLS(DEPENDENCE variable=buf inter false)
            // iteration n reads input beat n (runs n*K.., run s is phase row s % SH of input pixel s / SH)
            // and writes output beat n (output row n / (W/K), runs (n % (W/K))*K..)
            if (h < H) {
                const vec<T, P * C> x = in.read();
                for (int m = 0; m < K; m++) {
                    const int s = n * K + m;
                    for (int t = 0; t < RUN; t++) buf[h % 2][s % SH][s / SH][t] = x.data[m * RUN + t];
                }
            }
            if (h > 0) {
                const int i = n / (W / K), w0 = (n % (W / K)) * K;
                vec<T_out, P * C> y;
                for (int m = 0; m < K; m++) {
                    for (int t = 0; t < RUN; t++) y.data[m * RUN + t] = T_out(buf[(h - 1) % 2][i][w0 + m][t]);
                }
                out.write(y);
            }
        }
    }
}

}  // namespace dfcc

#endif
