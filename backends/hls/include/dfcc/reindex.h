// dfcc/reindex.h -- reads one dim of a stream in a constant order: the input as [OUTER][N][INNER],
// y[o][i][k] = x[o][index[i]][k] for i < M (repeats and omissions allowed). No arithmetic. P lanes
// along INNER; one beat read or written per cycle, reads and writes in turn.
// Any order: per outer index the block [N][INNER] is buffered, then the output block read out.
// A non-decreasing index (MONOTONE): only the row index[i] is kept; before output row i the input
// rows up to index[i] are read (those no output takes are dropped), the rest after the last one.
#ifndef DFCC_REINDEX_H
#define DFCC_REINDEX_H

#include "vec.h"

namespace dfcc {

template <int OUTER, int N, int M, int INNER, int P, bool MONOTONE, typename T>
void reindex(hls::stream<vec<T, P> >& in, hls::stream<vec<T, P> >& out, const int index[M]) {
    static_assert(INNER % P == 0, "lanes must divide the inner block");
    constexpr int B = INNER / P;  // beats of one row
    vec<T, P> buf[MONOTONE ? 1 : N][B];
    for (int o = 0; o < OUTER; o++) {
        if (MONOTONE) {
            int next = 0;  // input rows read so far
            for (int i = 0; i < M; i++) {
                for (; next <= index[i]; next++) {
                    for (int b = 0; b < B; b++) {
                        DFCC_HLS(PIPELINE II=1)
                        buf[0][b] = in.read();
                    }
                }
                for (int b = 0; b < B; b++) {
                    DFCC_HLS(PIPELINE II=1)
                    out.write(buf[0][b]);
                }
            }
            for (; next < N; next++) {
                for (int b = 0; b < B; b++) {
                    DFCC_HLS(PIPELINE II=1)
                    in.read();
                }
            }
        } else {
            for (int i = 0; i < N * B; i++) {
                DFCC_HLS(PIPELINE II=1)
                buf[i / B][i % B] = in.read();
            }
            for (int i = 0; i < M * B; i++) {
                DFCC_HLS(PIPELINE II=1)
                out.write(buf[index[i / B]][i % B]);
            }
        }
    }
}

}  // namespace dfcc

#endif
