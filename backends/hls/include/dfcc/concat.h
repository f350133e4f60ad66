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

}  // namespace dfcc

#endif
