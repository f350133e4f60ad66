// dfcc/fork.h -- one stream to K identical copies (a tensor with several consumers).
// Folding: one beat per cycle, BEATS cycles per inference. No arithmetic.
#ifndef DFCC_FORK_H
#define DFCC_FORK_H

#include "vec.h"

namespace dfcc {

template <typename V>
inline void write_each(const V&) {}

template <typename V, typename S, typename... R>
inline void write_each(const V& x, S& first, R&... rest) {
    first.write(x);
    write_each(x, rest...);
}

// Copies as separate streams, so each may have its own FIFO depth.
template <int BEATS, int P, typename T, typename... S>
void fork_each(hls::stream<vec<T, P> >& in, S&... outs) {
    for (int i = 0; i < BEATS; i++) {
        DFCC_HLS(PIPELINE II=1)
        const vec<T, P> x = in.read();
        write_each(x, outs...);
    }
}

}  // namespace dfcc

#endif
