// dfcc/weights.h -- the weights one cycle of a MAC kernel (conv.h, linear.h) reads: one word.
//
// A word holds the WL = CO*LC*FINE weights of a cycle, lane co*LC*FINE + m for output lane co and the
// m-th product of its run (conv.h: position t*LC*FINE + m of the (c, kr, kc) order, filter f0 + co,
// channel c0 + c; linear.h: KR = KC = FINE = 1). Slots past the run's end (FINE not dividing KR*KC, the
// last step) are don't-cares the MAC skips: on chip they repeat the run's last weight; so are the lanes
// past the last filter (CO not dividing F, the last filter step): on chip the previous step's filters. The word comes from the node's on-chip weight array
// (partitioned so every lane reads its own bank each cycle), or, when the node streams its weights from
// DRAM (offchip.h) or keeps them in URAM (weight_rom below), is the next word of a stream in that same
// order. The MAC code is the same either way.
#ifndef DFCC_WEIGHTS_H
#define DFCC_WEIGHTS_H

#include "vec.h"

namespace dfcc {

// From an on-chip array w[F][CG][KR][KC] (a linear's w[F][C] is the KR = KC = 1 case below).
template <int CO, int LC, int FINE, typename T_w, int F, int CG, int KR, int KC>
inline void mac_word(const T_w (&w)[F][CG][KR][KC], vec<T_w, CO * LC * FINE>& word, int f0, int c0, int t) {
    DFCC_HLS(ARRAY_PARTITION variable=w cyclic factor=CO dim=1)
    DFCC_HLS(ARRAY_PARTITION variable=w cyclic factor=LC dim=2)
    DFCC_HLS(ARRAY_PARTITION variable=w complete dim=3)
    DFCC_HLS(ARRAY_PARTITION variable=w complete dim=4)
    constexpr int K = KR * KC;
    for (int co = 0; co < CO; co++) {
        const int f = F % CO == 0 || f0 + co < F ? f0 + co : f0 + co - CO;  // an idle lane reads its own bank
        for (int m = 0; m < LC * FINE; m++) {
            const int run = t * LC * FINE + m;
            const int j = K % FINE == 0 || run < LC * K ? run : LC * K - 1;  // an idle slot reads in bounds
            word.data[co * LC * FINE + m] = w[f][c0 + j / K][j % K / KC][j % KC];
        }
    }
}

template <int CO, int LC, int FINE, typename T_w, int F, int C>
inline void mac_word(const T_w (&w)[F][C], vec<T_w, CO * LC * FINE>& word, int f0, int c0, int) {
    static_assert(FINE == 1, "a linear layer has one kernel position");
    DFCC_HLS(ARRAY_PARTITION variable=w cyclic factor=CO dim=1)
    DFCC_HLS(ARRAY_PARTITION variable=w cyclic factor=LC dim=2)
    for (int co = 0; co < CO; co++) {
        for (int c = 0; c < LC; c++) word.data[co * LC + c] = w[f0 + co][c0 + c];
    }
}

// A packed ROM (a node whose weights live in URAM): its words in the MAC's order, R rows each, R-1 of them
// holding the first lanes of the word (RL a row); with R = 2 the two ports of the rom_2p memory read a word's
// two rows in one cycle. -> the D words, SWEEPS times, one a cycle (the MAC reads them as from DRAM below).
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

// From DRAM (and an on-chip part): the words arrive in this order, one per cycle.
template <int CO, int LC, int FINE, typename T_w>
inline void mac_word(hls::stream<vec<T_w, CO * LC * FINE> >& w, vec<T_w, CO * LC * FINE>& word, int, int, int) {
    word = w.read();
}

}  // namespace dfcc

#endif
