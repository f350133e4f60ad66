// dfcc/reindex.h -- reads one dim of a stream in a constant order: the input as [OUTER][N][INNER],
// y[o][i][k] = x[o][index[i]][k] for i < M (any order, repeats and omissions allowed). No arithmetic.
// Per outer index: the block [N][INNER] is buffered (N*INNER/P write cycles), then the output block
// read out (M*INNER/P cycles), P lanes along INNER.
#ifndef DFCC_REINDEX_H
#define DFCC_REINDEX_H

#include "vec.h"

namespace dfcc {

template <int OUTER, int N, int M, int INNER, int P, typename T>
void reindex(hls::stream<vec<T, P> >& in, hls::stream<vec<T, P> >& out, const int index[M]) {
    static_assert(INNER % P == 0, "lanes must divide the inner block");
    vec<T, P> buf[N][INNER / P];
    for (int o = 0; o < OUTER; o++) {
        for (int i = 0; i < N * (INNER / P); i++) {
            DFCC_HLS(PIPELINE II=1)
            buf[i / (INNER / P)][i % (INNER / P)] = in.read();
        }
        for (int i = 0; i < M * (INNER / P); i++) {
            DFCC_HLS(PIPELINE II=1)
            out.write(buf[index[i / (INNER / P)]][i % (INNER / P)]);
        }
    }
}

}  // namespace dfcc

#endif
