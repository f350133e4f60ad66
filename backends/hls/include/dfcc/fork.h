// dfcc/fork.h -- one stream to K identical copies (a tensor with several consumers).
// Folding: one beat per cycle, BEATS cycles per inference. No arithmetic.
#ifndef DFCC_FORK_H
#define DFCC_FORK_H

#include "vec.h"

namespace dfcc {

template <int BEATS, int K, int P, typename T>
void fork(hls::stream<vec<T, P> >& in, hls::stream<vec<T, P> > out[K]) {
    for (int i = 0; i < BEATS; i++) {
        DFCC_HLS(PIPELINE II=1)
        const vec<T, P> x = in.read();
        for (int k = 0; k < K; k++) out[k].write(x);
    }
}

}  // namespace dfcc

#endif
