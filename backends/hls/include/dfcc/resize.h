// dfcc/resize.h -- integer-factor resizing of [H][W][C] streams. No arithmetic (T_out(x) only).
// upsample_nearest: [H][W][C] -> [H*SH][W*SW][C], y[h][w][c] = x[h/SH][w/SW][c].
//   One input row is buffered (W*C/P beats); one output beat per cycle, H*SH*W*SW*C/P cycles.
// upsample_nearest_px: the same with P whole pixels per beat (P*C lanes): output beat b of a row
//   holds output pixels b*P..b*P+P-1, all from input beat b/SW (kept from the row's reads), so an
//   input beat is read once per SW*SH output beats; W*SW/P beats per row, H*SH*W*SW/P cycles.
// insert_zeros: [H][W][C] -> [(H-1)*SH+1][(W-1)*SW+1][C], y[h*SH][w*SW][c] = x[h][w][c], zeros
//   elsewhere (the input of a transposed convolution). No buffer; one output beat per cycle.
#ifndef DFCC_RESIZE_H
#define DFCC_RESIZE_H

#include "vec.h"

namespace dfcc {

template <int H, int W, int C, int SH, int SW, int P, typename T, typename T_out = T>
void upsample_nearest(hls::stream<vec<T, P> >& in, hls::stream<vec<T_out, P> >& out) {
    static_assert(C % P == 0, "channels must fill whole beats");
    vec<T, P> row[W][C / P];
    for (int h = 0; h < H * SH; h++) {
        for (int w = 0; w < W * SW; w++) {
            for (int cb = 0; cb < C / P; cb++) {
                DFCC_HLS(PIPELINE II=1)
                if (h % SH == 0 && w % SW == 0) row[w / SW][cb] = in.read();
                vec<T_out, P> y;
                for (int p = 0; p < P; p++) y.data[p] = T_out(row[w / SW][cb].data[p]);
                out.write(y);
            }
        }
    }
}

template <int H, int W, int C, int SH, int SW, int P, typename T, typename T_out = T>
void upsample_nearest_px(hls::stream<vec<T, P * C> >& in, hls::stream<vec<T_out, P * C> >& out) {
    static_assert(W % P == 0, "pixels per beat must divide the width");
    vec<T, P * C> row[W / P];
    for (int h = 0; h < H * SH; h++) {
        for (int b = 0; b < W * SW / P; b++) {
            DFCC_HLS(PIPELINE II=1)
            if (h % SH == 0 && b % SW == 0) row[b / SW] = in.read();
            const vec<T, P * C> x = row[b / SW];
            vec<T_out, P * C> y;
            // output pixel b*P + q is input pixel (b*P + q)/SW: pixel ((b % SW)*P + q)/SW of beat b/SW
            for (int q = 0; q < P; q++) {
                for (int c = 0; c < C; c++) y.data[q * C + c] = T_out(x.data[((b % SW) * P + q) / SW * C + c]);
            }
            out.write(y);
        }
    }
}

template <int H, int W, int C, int SH, int SW, int P, typename T, typename T_out = T>
void insert_zeros(hls::stream<vec<T, P> >& in, hls::stream<vec<T_out, P> >& out) {
    static_assert(C % P == 0, "channels must fill whole beats");
    for (int h = 0; h < (H - 1) * SH + 1; h++) {
        for (int w = 0; w < (W - 1) * SW + 1; w++) {
            for (int cb = 0; cb < C / P; cb++) {
                DFCC_HLS(PIPELINE II=1)
                vec<T_out, P> y;
                if (h % SH == 0 && w % SW == 0) {
                    const vec<T, P> x = in.read();
                    for (int p = 0; p < P; p++) y.data[p] = T_out(x.data[p]);
                } else {
                    for (int p = 0; p < P; p++) y.data[p] = T_out(0);
                }
                out.write(y);
            }
        }
    }
}

}  // namespace dfcc

#endif
