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

}  // namespace dfcc

#endif
