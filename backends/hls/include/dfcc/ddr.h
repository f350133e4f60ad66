// dfcc/ddr.h -- a FIFO through off-chip memory: a skip connection evicted to DRAM (SMOF, SATAY).
//
// ddr_write stores the BEATS beats of one inference into ring[0..BEATS) in bursts of BURST beats
// (an m_axi port, one beat per cycle inside a burst) and, once a burst is written, sends its first
// index to ddr_read on `bursts`; ddr_read waits for that token, then loads the burst back and
// forwards it in order. The values are unchanged.
//
// Delivery cannot deadlock: the ring holds a whole inference (the emitter checks capacity >= BEATS),
// so the writer never waits for the reader, and `bursts` is deep enough for every token of an
// inference (ceil(BEATS / BURST)), so the writer never blocks on it either; the reader depends only on
// the writer's forward tokens, so the DATAFLOW region has no cycle of waits. A burst is read back only
// after it was completely written, so the reader never sees stale words.
#ifndef DFCC_DDR_H
#define DFCC_DDR_H

#include "vec.h"

namespace dfcc {

template <int BEATS, int BURST, int P, typename T>
void ddr_write(hls::stream<vec<T, P> >& in, vec<T, P>* ring, hls::stream<vec<int, 1> >& bursts) {
    for (int b = 0; b < BEATS; b += BURST) {
        const int n = BEATS - b < BURST ? BEATS - b : BURST;
        for (int i = 0; i < n; i++) {
            DFCC_HLS(PIPELINE II=1)
            ring[b + i] = in.read();
        }
        vec<int, 1> token;
        token.data[0] = b;
        bursts.write(token);
    }
}

template <int BEATS, int BURST, int P, typename T>
void ddr_read(const vec<T, P>* ring, hls::stream<vec<int, 1> >& bursts, hls::stream<vec<T, P> >& out) {
    for (int b = 0; b < BEATS; b += BURST) {
        const int start = bursts.read().data[0];
        const int n = BEATS - b < BURST ? BEATS - b : BURST;
        for (int i = 0; i < n; i++) {
            DFCC_HLS(PIPELINE II=1)
            out.write(ring[start + i]);
        }
    }
}

}  // namespace dfcc

#endif
