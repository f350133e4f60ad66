// dfcc/concat.h -- channel concatenation of two streams: [N][C1] ++ [N][C2] -> [N][C1+C2].
// Per pixel (or row) C1/P beats are copied from a, then C2/P from b: N*(C1+C2)/P cycles.
// No arithmetic (insert a map to convert number types first if they differ).
#ifndef DFCC_CONCAT_H
#define DFCC_CONCAT_H

#include "vec.h"

namespace dfcc {

template <int N, int C1, int C2, int P, typename T>
void concat(hls::stream<vec<T, P> >& a, hls::stream<vec<T, P> >& b, hls::stream<vec<T, P> >& out) {
    static_assert(C1 % P == 0 && C2 % P == 0, "both inputs must fill whole beats");
    for (int n = 0; n < N; n++) {
        for (int cb = 0; cb < (C1 + C2) / P; cb++) {
            DFCC_HLS(PIPELINE II=1)
            out.write(cb < C1 / P ? a.read() : b.read());
        }
    }
}

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

}  // namespace dfcc

#endif
