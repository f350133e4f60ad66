// dfcc/resize.h -- nearest-neighbour upsampling by integer factors:
// [H][W][C] -> [H*SH][W*SW][C], y[h][w][c] = x[h/SH][w/SW][c]. No arithmetic.
// One input row is buffered (W*C/P beats); one output beat per cycle, H*SH*W*SW*C/P cycles.
#ifndef DFCC_RESIZE_H
#define DFCC_RESIZE_H

#include "vec.h"

namespace dfcc {

template <int H, int W, int C, int SH, int SW, int P, typename T>
void upsample_nearest(hls::stream<vec<T, P> >& in, hls::stream<vec<T, P> >& out) {
    static_assert(C % P == 0, "channels must fill whole beats");
    vec<T, P> row[W][C / P];
    for (int h = 0; h < H * SH; h++) {
        for (int w = 0; w < W * SW; w++) {
            for (int cb = 0; cb < C / P; cb++) {
                DFCC_HLS(PIPELINE II=1)
                if (h % SH == 0 && w % SW == 0) row[w / SW][cb] = in.read();
                out.write(row[w / SW][cb]);
            }
        }
    }
}

}  // namespace dfcc

#endif
