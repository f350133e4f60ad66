// dfcc/weights.h -- the weights one cycle of a MAC kernel (conv.h, linear.h) reads: one word.
//
// A word holds the WL = CO*LC*FINE weights of a cycle, lane co*LC*FINE + m for output lane co and the
// m-th product of its run (conv.h: position t*LC*FINE + m of the (c, kr, kc) order, filter f0 + co,
// channel c0 + c; linear.h: KR = KC = FINE = 1). Slots past the run's end (FINE not dividing KR*KC, the
// last step) are don't-cares the MAC skips: on chip they repeat the run's last weight; so are the lanes
// past the last filter (CO not dividing F, the last filter step): on chip the previous step's filters. The word comes from the node's on-chip weight array
// (partitioned so every lane reads its own bank each cycle), or, when the node streams its weights from
// DRAM, is the next word of a stream in that same order (offchip.h). The MAC code is the same either way.
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

// From DRAM (and an on-chip part): the words arrive in this order, one per cycle.
template <int CO, int LC, int FINE, typename T_w>
inline void mac_word(hls::stream<vec<T_w, CO * LC * FINE> >& w, vec<T_w, CO * LC * FINE>& word, int, int, int) {
    word = w.read();
}

}  // namespace dfcc

#endif
