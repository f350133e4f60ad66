// dfcc/ddr.h -- a FIFO through off-chip memory: a skip connection evicted to DRAM (SMOF, SATAY).
//
// ddr_write stores the BEATS beats of one inference into ring[0..BEATS) in bursts of BURST beats
// (an m_axi port, one beat per cycle inside a burst) and, once a burst is written, sends its first
// index to ddr_read on `bursts`; ddr_read waits for that token, then loads the burst back and
// forwards it in order. The values are unchanged.
//
// The ring holds one inference and the writer starts each one at ring[0]. It never overwrites a burst
// the reader has yet to load: the emitter makes `bursts` ceil(BEATS / BURST) - 2 deep
// (hardware/offchip.py ring_bursts), so with every token waiting the writer blocks on the next one;
// then the reader may still be loading the burst before those tokens and the writer has written the
// burst after them, and those bursts lie in different places of the ring. Without that bound a writer
// running an inference ahead (a skip holding more than the ring) would overwrite words before they are
// read. Delivery cannot deadlock: the reader depends only on the writer's forward tokens, and the writer
// waits only for tokens the reader takes in order, so the DATAFLOW region has no cycle of waits. A burst
// is read back only after it was completely written, so the reader never sees stale words.
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
