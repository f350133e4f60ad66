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
// cycles, so N / min(P1, P2) cycles per inference.
template <int N, int P1, int P2, typename T>
void lanes(hls::stream<vec<T, P1> >& in, hls::stream<vec<T, P2> >& out) {
    static_assert(P1 % P2 == 0 || P2 % P1 == 0, "one lane count must divide the other");
    static_assert(N % P1 == 0 && N % P2 == 0, "the tensor must fill whole beats on both sides");
    constexpr int P = P1 < P2 ? P1 : P2;  // elements moved per cycle
    vec<T, P1> x;
    vec<T, P2> y;
    DFCC_HLS(ARRAY_PARTITION variable=x.data complete)
    DFCC_HLS(ARRAY_PARTITION variable=y.data complete)
    for (int i = 0; i < N / P; i++) {
        DFCC_HLS(PIPELINE II=1)
        const int at_in = (i * P) % P1, at_out = (i * P) % P2;
        if (at_in == 0) x = in.read();
        for (int p = 0; p < P; p++) y.data[at_out + p] = x.data[at_in + p];
        if (at_out + P == P2) out.write(y);
    }
}

}  // namespace dfcc

#endif
