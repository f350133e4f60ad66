// dfcc/transpose.h -- buffered transpose of a 3-D tensor (covers reshapes that change the
// element order in the channels-last stream; pure reshapes are only a lanes<> change).
//
// Input x [D0][D1][D2] in PI lanes (along D2); output y with dims (D_A, D_B, D_C), where
// (A, B, C) is a permutation of (0, 1, 2): y[i][j][k] = x at index i along dim A, j along B,
// k along C, in PO lanes (along D_C). Use D0 = 1 for 2-D. No arithmetic.
// The whole tensor is buffered: D0*D1*D2/PI write cycles, then D0*D1*D2/PO read cycles.
#ifndef DFCC_TRANSPOSE_H
#define DFCC_TRANSPOSE_H

#include "vec.h"

namespace dfcc {

template <int D0, int D1, int D2, int A, int B, int C, int PI, int PO, typename T>
void transpose(hls::stream<vec<T, PI> >& in, hls::stream<vec<T, PO> >& out) {
    static_assert(A != B && B != C && A != C && A >= 0 && B >= 0 && C >= 0 && A < 3 && B < 3 && C < 3,
                  "(A, B, C) must be a permutation of (0, 1, 2)");
    static_assert(PI == PO || C != 2, "lane counts must agree when the last dim stays last");
    constexpr int dims[3] = {D0, D1, D2};
    static_assert(D2 % PI == 0 && dims[C] % PO == 0, "lanes must divide the last dims");
    // cyclic banks per dim: dim 3 is written PI-wide, dim C+1 read PO-wide (an enum, as the
    // factors are only used by pragmas)
    enum { F0 = C == 0 ? PO : 1, F1 = C == 1 ? PO : 1, F2 = PI };
    T buf[D0][D1][D2];
    DFCC_HLS(ARRAY_PARTITION variable=buf cyclic factor=F0 dim=1)
    DFCC_HLS(ARRAY_PARTITION variable=buf cyclic factor=F1 dim=2)
    DFCC_HLS(ARRAY_PARTITION variable=buf cyclic factor=F2 dim=3)
    for (int i = 0; i < D0 * D1 * (D2 / PI); i++) {
        DFCC_HLS(PIPELINE II=1)
        const vec<T, PI> x = in.read();
        const int k0 = i % (D2 / PI) * PI, j = i / (D2 / PI) % D1, h = i / (D2 / PI) / D1;
        for (int p = 0; p < PI; p++) buf[h][j][k0 + p] = x.data[p];
    }
    for (int i = 0; i < dims[A]; i++) {
        for (int j = 0; j < dims[B]; j++) {
            for (int kb = 0; kb < dims[C] / PO; kb++) {
                DFCC_HLS(PIPELINE II=1)
                vec<T, PO> y;
                for (int p = 0; p < PO; p++) {
                    int idx[3];
                    idx[A] = i;
                    idx[B] = j;
                    idx[C] = kb * PO + p;
                    y.data[p] = buf[idx[0]][idx[1]][idx[2]];
                }
                out.write(y);
            }
        }
    }
}

}  // namespace dfcc

#endif
