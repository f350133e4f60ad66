// dfcc/vec.h -- the beat of every activation stream, and lane-width conversion.
//
// Streaming convention (all dfcc kernels): a tensor [H][W][C] travels channels-last as
// H*W*(C/P) beats of vec<T, P>; beat data[p] holds channel cb*P + p, beats ordered h, w, cb.
// 2-D data [N][C] travels likewise as N*(C/P) beats. Each kernel call processes exactly one
// inference (one tensor), so a top function calls every stage once inside DATAFLOW.
//
// HLS pragmas are written DFCC_HLS(PIPELINE II=1). Under Vitis HLS (__SYNTHESIS__ is defined)
// that is `#pragma HLS PIPELINE II=1`; in g++ C simulation it expands to nothing, which keeps
// -Wall (-Wunknown-pragmas) quiet.
#ifndef DFCC_VEC_H
#define DFCC_VEC_H

#include <hls_stream.h>

#include "tasks.h"

#ifdef __SYNTHESIS__
#define DFCC_PRAGMA(x) _Pragma(#x)
#define DFCC_HLS(x) DFCC_PRAGMA(HLS x)
#else
#define DFCC_HLS(x)
#endif

namespace dfcc {

template <typename T, int P>
struct vec {
    T data[P];
};

// Re-chunks a stream of N elements from P1 to P2 lanes; one of P1, P2 divides the other
// (convert through gcd(P1, P2) otherwise). One beat of the wider side per max(P1,P2)/min(P1,P2)
// cycles, so N / min(P1, P2) cycles per inference. Narrowing holds the wide beat as K = P1/P2 parts
// and sends part k: a K:1 mux per output bit; widening shifts each narrow beat into the top of the
// wide one: a register with no mux (hardware/logic.py lane_converter_logic costs both). Counters, not
// a modulo of the loop index, find the part: no divider for lane counts that are not powers of two
// (the `%` in unrolled indices folds to constants; it keeps the branches not taken in bounds).
template <int N, int P1, int P2, typename T>
void lanes(hls::stream<vec<T, P1> >& in, hls::stream<vec<T, P2> >& out) {
    static_assert(P1 % P2 == 0 || P2 % P1 == 0, "one lane count must divide the other");
    static_assert(N % P1 == 0 && N % P2 == 0, "the tensor must fill whole beats on both sides");
    if (P1 == P2) {
        for (int i = 0; i < N / P1; i++) {
            DFCC_HLS(PIPELINE II=1)
            vec<T, P2> y;
            const vec<T, P1> x = in.read();
            for (int p = 0; p < P2; p++) y.data[p] = x.data[p % P1];
            out.write(y);
        }
    } else if (P1 > P2) {
        constexpr int K = P1 > P2 ? P1 / P2 : 1;
        T part[K][P2];
        DFCC_HLS(ARRAY_PARTITION variable=part complete dim=0)
        int k = 0;
        for (int i = 0; i < N / P2; i++) {
            DFCC_HLS(PIPELINE II=1)
            if (k == 0) {
                const vec<T, P1> x = in.read();
                for (int j = 0; j < K; j++)
                    for (int p = 0; p < P2; p++) part[j][p] = x.data[(j * P2 + p) % P1];
            }
            vec<T, P2> y;
            for (int p = 0; p < P2; p++) y.data[p] = part[k][p];
            out.write(y);
            k = k == K - 1 ? 0 : k + 1;
        }
    } else {
        constexpr int K = P2 > P1 ? P2 / P1 : 1;
        vec<T, P2> y;
        DFCC_HLS(ARRAY_PARTITION variable=y.data complete)
        int k = 0;
        for (int i = 0; i < N / P1; i++) {
            DFCC_HLS(PIPELINE II=1)
            const vec<T, P1> x = in.read();
            for (int p = 0; p < P2 - P1; p++) y.data[p] = y.data[(p + P1) % P2];
            for (int p = 0; p < P1; p++) y.data[(P2 - P1 + p) % P2] = x.data[p];
            if (k == K - 1) out.write(y);
            k = k == K - 1 ? 0 : k + 1;
        }
    }
}

}  // namespace dfcc

#endif
