// dfcc/weights.h -- the weights one cycle of a MAC kernel (conv.h, linear.h) reads: one word.
//
// A word holds the WL = CO*LC*FINE weights of a cycle, lane co*LC*FINE + m for output lane co and the
// m-th product of its run (conv.h: position t*LC*FINE + m of the (c, kr, kc) order, filter f0 + co,
// channel c0 + c; linear.h: KR = KC = FINE = 1). Slots past the run's end (FINE not dividing KR*KC, the
// last step) are don't-cares the MAC skips (stored as the run's last weight), as are the lanes past the
// last filter (CO not dividing F, the last filter step: stored as the previous step's filters). The MAC reads its words as the next of a stream in that order: from the node's
// packed on-chip ROM of them (weight_rom below, in BRAM, LUTRAM or URAM: one wide word an address, the
// memory the cost model counts, not a bank per lane), or from DRAM (offchip.h). The MAC code is the same
// either way.
#ifndef DFCC_WEIGHTS_H
#define DFCC_WEIGHTS_H

#include "vec.h"

namespace dfcc {

// A node's packed ROM: its words in the MAC's order, R rows each, R-1 of them holding the first lanes of the
// word (RL a row); R = 1 but in URAM, where with R = 2 the two ports of the rom_2p memory read a word's two
// rows in one cycle. -> the D words, SWEEPS times, one a cycle (the MAC reads them as from DRAM below).
template <int SWEEPS, int D, int R, typename T_w, int RL, int WL>
void weight_rom(const T_w rom[D * R][RL], hls::stream<vec<T_w, WL> >& out) {
    static_assert(R * RL >= WL && (R - 1) * RL < WL, "R rows of RL lanes hold a word");
    DFCC_HLS(ARRAY_RESHAPE variable=rom complete dim=2)
    for (int s = 0; s < SWEEPS; s++) {
        for (int d = 0; d < D; d++) {
            DFCC_HLS(PIPELINE II=1)
            vec<T_w, WL> word;
            for (int l = 0; l < WL; l++) word.data[l] = rom[d * R + l / RL][l % RL];
            out.write(word);
        }
    }
}

}  // namespace dfcc

#endif
