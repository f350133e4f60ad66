// dfcc/transpose.h -- buffered transpose of a tensor of up to 6 dims (covers reshapes that change the
// element order in the channels-last stream; pure reshapes are only a lanes<> change).
//
// Input x [D0][D1]...[D5] in PI lanes (along D5); output y with dims (D_P0, ..., D_P5), where
// (P0, ..., P5) is a permutation of (0, ..., 5): output dim k walks input dim Pk, in PO lanes (along
// D_P5). Lower ranks put 1s in front; the 3-dim form transpose<D0, D1, D2, A, B, C, PI, PO> is the
// same stage. No arithmetic. The whole tensor is buffered: D0*...*D5/PI write cycles, then as many /PO
// read cycles. Both walks step a multi-index one beat per cycle (no division in the loop).
#ifndef DFCC_TRANSPOSE_H
#define DFCC_TRANSPOSE_H

#include "vec.h"

namespace dfcc {

template <int D0, int D1, int D2, int D3, int D4, int D5, int P0, int P1, int P2, int P3, int P4, int P5, int PI,
          int PO, typename T>
void transpose(hls::stream<vec<T, PI> >& in, hls::stream<vec<T, PO> >& out) {
    constexpr int dims[6] = {D0, D1, D2, D3, D4, D5};
    constexpr int perm[6] = {P0, P1, P2, P3, P4, P5};
    static_assert((1 << P0 | 1 << P1 | 1 << P2 | 1 << P3 | 1 << P4 | 1 << P5) == 63 && P0 >= 0 && P1 >= 0 &&
                      P2 >= 0 && P3 >= 0 && P4 >= 0 && P5 >= 0 && P0 < 6 && P1 < 6 && P2 < 6 && P3 < 6 &&
                      P4 < 6 && P5 < 6,
                  "(P0, ..., P5) must be a permutation of (0, ..., 5)");
    static_assert(PI == PO || P5 != 5, "lane counts must agree when the last dim stays last");
    static_assert(D5 % PI == 0 && dims[P5] % PO == 0, "lanes must divide the last dims");
    constexpr int N = D0 * D1 * D2 * D3 * D4 * D5;
    // cyclic banks per dim: dim 6 is written PI-wide, dim P5+1 read PO-wide (an enum, as the factors
    // are only used by pragmas)
    enum {
        F0 = P5 == 0 ? PO : 1, F1 = P5 == 1 ? PO : 1, F2 = P5 == 2 ? PO : 1, F3 = P5 == 3 ? PO : 1,
        F4 = P5 == 4 ? PO : 1, F5 = PI
    };
    T buf[D0][D1][D2][D3][D4][D5];
    DFCC_HLS(ARRAY_PARTITION variable=buf cyclic factor=F0 dim=1)
    DFCC_HLS(ARRAY_PARTITION variable=buf cyclic factor=F1 dim=2)
    DFCC_HLS(ARRAY_PARTITION variable=buf cyclic factor=F2 dim=3)
    DFCC_HLS(ARRAY_PARTITION variable=buf cyclic factor=F3 dim=4)
    DFCC_HLS(ARRAY_PARTITION variable=buf cyclic factor=F4 dim=5)
    DFCC_HLS(ARRAY_PARTITION variable=buf cyclic factor=F5 dim=6)
    int w[6] = {0, 0, 0, 0, 0, 0};  // input index of the beat written, last dim in steps of PI
    for (int i = 0; i < N / PI; i++) {
        DFCC_HLS(PIPELINE II=1)
        const vec<T, PI> x = in.read();
        for (int p = 0; p < PI; p++) buf[w[0]][w[1]][w[2]][w[3]][w[4]][w[5] + p] = x.data[p];
        w[5] += PI;
        for (int d = 5; d > 0; d--) {
            if (w[d] == dims[d]) {
                w[d] = 0;
                w[d - 1]++;
            }
        }
    }
    int r[6] = {0, 0, 0, 0, 0, 0};  // output index of the beat read, last dim in steps of PO
    for (int i = 0; i < N / PO; i++) {
        DFCC_HLS(PIPELINE II=1)
        vec<T, PO> y;
        for (int p = 0; p < PO; p++) {
            int idx[6];
            for (int k = 0; k < 6; k++) idx[perm[k]] = r[k];
            idx[P5] += p;
            y.data[p] = buf[idx[0]][idx[1]][idx[2]][idx[3]][idx[4]][idx[5]];
        }
        out.write(y);
        r[5] += PO;
        for (int k = 5; k > 0; k--) {
            if (r[k] == dims[perm[k]]) {
                r[k] = 0;
                r[k - 1]++;
            }
        }
    }
}

template <int D0, int D1, int D2, int A, int B, int C, int PI, int PO, typename T>
void transpose(hls::stream<vec<T, PI> >& in, hls::stream<vec<T, PO> >& out) {
    transpose<1, 1, 1, D0, D1, D2, 0, 1, 2, 3 + A, 3 + B, 3 + C, PI, PO, T>(in, out);
}

}  // namespace dfcc

#endif
