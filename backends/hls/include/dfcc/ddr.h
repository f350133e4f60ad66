// dfcc/ddr.h -- a FIFO through off-chip memory: a skip connection evicted to DRAM (SMOF, SATAY).
//
// ddr_write stores the BEATS beats of one inference into the ring in spans of BURST beats (an m_axi
// port, one beat per cycle, split into bursts of the port's max burst length) and, once a span is written,
// sends a token for it to the reader on `bursts`; ddr_read waits for that token, then loads the span back and
// forwards it in order. The values are unchanged.
//
// The ring holds INFERENCES inferences, ring[0..INFERENCES*BEATS): inference j starts at
// ring[(j mod INFERENCES)*BEATS], each end keeping its place in a static counter (ID tells the rings of a
// design apart, so that each keeps its own). A skip connection whose join reads an inference while its fork
// writes the next ones thus waits in DRAM, not in a FIFO on chip in front of the writer. The writer never
// overwrites a span the reader has yet to load: the emitter makes `bursts` (the ring's spans) - 2 deep
// (hardware/offchip.py ring_bursts), so with every token waiting the writer blocks on the next one; then the
// reader may still be loading the span before those tokens and the writer has written the span after them,
// and those spans lie in different places of the ring. Delivery cannot deadlock: the reader depends only on
// the writer's forward tokens, and the writer waits only for tokens the reader takes in order, so the
// DATAFLOW region has no cycle of waits. A span is read back only after it was completely written, so the
// reader never sees stale words. A token is one bit (the reader knows where the next span is); ddr_rows.h's
// reader, over a ring of one inference, takes tokens holding the burst's first beat instead.
#ifndef DFCC_DDR_H
#define DFCC_DDR_H

#include "vec.h"

namespace dfcc {

inline void burst_token(vec<bool, 1>& token, int) { token.data[0] = true; }
inline void burst_token(vec<int, 1>& token, int first) { token.data[0] = first; }

template <int BEATS, int BURST, int INFERENCES = 1, int ID = 0, int P, typename T, typename K>
void ddr_write(hls::stream<vec<T, P> >& in, vec<T, P>* ring, hls::stream<K>& bursts) {
    static int base = 0;  // where this inference starts in the ring
    for (int b = 0; b < BEATS; b += BURST) {
        const int n = BEATS - b < BURST ? BEATS - b : BURST;
        for (int i = 0; i < n; i++) {
            DFCC_HLS(PIPELINE II=1)
            ring[base + b + i] = in.read();
        }
        K token;
        burst_token(token, base + b);
        bursts.write(token);
    }
    base = base + BEATS < INFERENCES * BEATS ? base + BEATS : 0;
}

template <int BEATS, int BURST, int INFERENCES, int ID, int P, typename T>
void ddr_read(const vec<T, P>* ring, hls::stream<vec<bool, 1> >& bursts, hls::stream<vec<T, P> >& out) {
    static int base = 0;  // where this inference starts in the ring
    for (int b = 0; b < BEATS; b += BURST) {
        bursts.read();
        const int n = BEATS - b < BURST ? BEATS - b : BURST;
        for (int i = 0; i < n; i++) {
            DFCC_HLS(PIPELINE II=1)
            out.write(ring[base + b + i]);
        }
    }
    base = base + BEATS < INFERENCES * BEATS ? base + BEATS : 0;
}

}  // namespace dfcc

#endif
