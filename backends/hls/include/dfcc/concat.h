// dfcc/concat.h -- concatenation of two streams along any stream dim.
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

}  // namespace dfcc

#endif
