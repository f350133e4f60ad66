// dfcc/join.h -- element-wise binary ops on two streams (residual add, gating mul).
//
// Contract: y = T_out(OP::apply(a, b)) with OP = add (a + b) or mul (a * b); for ap_fixed the
// sum/product is exact and rounded once by T_out's quantization/overflow modes.
// join:           a and b both [N][C]; N*C/P cycles.
// join_broadcast: a [N][C] against b [1][C] (e.g. squeeze-excitation scales [1][1][C] against
//                 [H][W][C]): b's C/P beats are buffered first, then N*C/P cycles.
#ifndef DFCC_JOIN_H
#define DFCC_JOIN_H

#include "vec.h"

namespace dfcc {

struct add {
    template <typename A, typename B>
    static auto apply(const A& a, const B& b) -> decltype(a + b) { return a + b; }
};

struct mul {
    template <typename A, typename B>
    static auto apply(const A& a, const B& b) -> decltype(a * b) { return a * b; }
};

template <class OP, int N, int C, int P, typename T_a, typename T_b, typename T_out>
void join(hls::stream<vec<T_a, P> >& a, hls::stream<vec<T_b, P> >& b, hls::stream<vec<T_out, P> >& out) {
    static_assert(C % P == 0, "channels must fill whole beats");
    for (int i = 0; i < N * (C / P); i++) {
        DFCC_HLS(PIPELINE II=1)
        const vec<T_a, P> x = a.read();
        const vec<T_b, P> z = b.read();
        vec<T_out, P> y;
        for (int p = 0; p < P; p++) y.data[p] = T_out(OP::apply(x.data[p], z.data[p]));
        out.write(y);
    }
}

template <class OP, int N, int C, int P, typename T_a, typename T_b, typename T_out>
void join_broadcast(hls::stream<vec<T_a, P> >& a, hls::stream<vec<T_b, P> >& b,
                    hls::stream<vec<T_out, P> >& out) {
    static_assert(C % P == 0, "channels must fill whole beats");
    vec<T_b, P> row[C / P];
    for (int cb = 0; cb < C / P; cb++) {
        DFCC_HLS(PIPELINE II=1)
        row[cb] = b.read();
    }
    for (int n = 0; n < N; n++) {
        for (int cb = 0; cb < C / P; cb++) {
            DFCC_HLS(PIPELINE II=1)
            const vec<T_a, P> x = a.read();
            vec<T_out, P> y;
            for (int p = 0; p < P; p++) y.data[p] = T_out(OP::apply(x.data[p], row[cb].data[p]));
            out.write(y);
        }
    }
}

}  // namespace dfcc

#endif
