// dfcc/concat.h -- concatenation of two streams along any stream dim (channels: whole pixels).
#ifndef DFCC_CONCAT_H
#define DFCC_CONCAT_H

#include "vec.h"

namespace dfcc {

// Concatenation along any stream dim: per outer index (the dims before the axis), A beats of a
// (its dims from the axis on), then B beats of b, each element converted to T_out (the identity
// when the types agree). Channel concat is OUTER = pixels, A = C1/P, B = C2/P. For an outer axis
// b waits while a's block passes (its FIFO holds that block). OUTER*(A+B) cycles.
template <int OUTER, int A, int B, int P, typename T_a, typename T_b, typename T_out>
void concat_blocks(hls::stream<vec<T_a, P> >& a, hls::stream<vec<T_b, P> >& b, hls::stream<vec<T_out, P> >& out) {
    for (int n = 0; n < OUTER; n++) {
        for (int i = 0; i < A + B; i++) {
            DFCC_HLS(PIPELINE II=1)
            vec<T_out, P> y;
            if (i < A) {
                const vec<T_a, P> x = a.read();
                for (int p = 0; p < P; p++) y.data[p] = T_out(x.data[p]);
            } else {
                const vec<T_b, P> x = b.read();
                for (int p = 0; p < P; p++) y.data[p] = T_out(x.data[p]);
            }
            out.write(y);
        }
    }
}

// Channel concatenation of whole pixels: per pixel, KA beats of a (LA lanes) and KB beats of b (LB
// lanes) read side by side (both in the same cycle while both have beats left), one output beat of
// the whole pixel (KA*LA + KB*LB lanes) written with the last of them. K = max(KA, KB) cycles per
// pixel, PIXELS*K per inference; with K > 1 the pixel is gathered in registers.
template <int PIXELS, int KA, int KB, int LA, int LB, typename T_a, typename T_b, typename T_out>
void concat_pixels(hls::stream<vec<T_a, LA> >& a, hls::stream<vec<T_b, LB> >& b,
                   hls::stream<vec<T_out, KA * LA + KB * LB> >& out) {
    constexpr int K = KA > KB ? KA : KB;
    vec<T_out, KA * LA + KB * LB> y;
    DFCC_HLS(ARRAY_PARTITION variable=y.data complete)
    for (int n = 0; n < PIXELS * K; n++) {
        DFCC_HLS(PIPELINE II=1)
        const int j = n % K;
        if (j < KA) {
            const vec<T_a, LA> x = a.read();
            for (int p = 0; p < LA; p++) y.data[j * LA + p] = T_out(x.data[p]);
        }
        if (j < KB) {
            const vec<T_b, LB> x = b.read();
            for (int p = 0; p < LB; p++) y.data[KA * LA + j * LB + p] = T_out(x.data[p]);
        }
        if (j == K - 1) out.write(y);
    }
}

// Channel concatenation of P whole pixels a beat: a beat of a (P pixels of CA channels) and one of b
// (P of CB) read in the same cycle, one output beat of P pixels of CA + CB channels written:
// out pixel q = a's pixel q, then b's. BEATS (= pixels / P) cycles, no buffer.
template <int BEATS, int P, int CA, int CB, typename T_a, typename T_b, typename T_out>
void concat_pixels_px(hls::stream<vec<T_a, P * CA> >& a, hls::stream<vec<T_b, P * CB> >& b,
                      hls::stream<vec<T_out, P * (CA + CB)> >& out) {
    for (int n = 0; n < BEATS; n++) {
        DFCC_HLS(PIPELINE II=1)
        const vec<T_a, P * CA> xa = a.read();
        const vec<T_b, P * CB> xb = b.read();
        vec<T_out, P * (CA + CB)> y;
        for (int q = 0; q < P; q++) {
            for (int c = 0; c < CA; c++) y.data[q * (CA + CB) + c] = T_out(xa.data[q * CA + c]);
            for (int c = 0; c < CB; c++) y.data[q * (CA + CB) + CA + c] = T_out(xb.data[q * CB + c]);
        }
        out.write(y);
    }
}

}  // namespace dfcc

#endif
