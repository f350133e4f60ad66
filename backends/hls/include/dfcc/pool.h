// dfcc/pool.h -- max pool and sum pool.
//
// Arithmetic contract (the CPU reference mirrors it bit for bit):
//   max_pool:        y = max over the window (padding counts as the lowest value of T, so it
//                    never wins: PyTorch's -inf padding). No conversion.
//   sum_pool:        acc = T_acc(0); for kr, for kc (in order): acc = acc + T_acc(x[kr][kc]);
//                    y = T_out(acc) -- padding is 0. (dfcc lowers average pooling to a sum pool
//                    followed by a map dividing, as the CPU reference computes it.)
//
// Folding: P lanes; both emit one beat per cycle after the window generator (HP*WP*C/P cycles).
// The _px forms take P whole pixels per beat (HP*ceil(WP/P) cycles).
#ifndef DFCC_POOL_H
#define DFCC_POOL_H

#include <ap_fixed.h>

#include "vec.h"
#include "window.h"

namespace dfcc {

template <typename T>
struct lowest;
template <>
struct lowest<float> {
    static float value() { return -3.402823466e+38f; }
};
template <int W, int I, ap_q_mode Q, ap_o_mode O, int N>
struct lowest<ap_fixed<W, I, Q, O, N> > {
    static ap_fixed<W, I, Q, O, N> value() {
        ap_fixed<W, I, Q, O, N> v = 0;
        v[W - 1] = 1;  // sign bit alone: the most negative value
        return v;
    }
};
template <int W, int I, ap_q_mode Q, ap_o_mode O, int N>
struct lowest<ap_ufixed<W, I, Q, O, N> > {
    static ap_ufixed<W, I, Q, O, N> value() { return 0; }
};

// The pooled value of each of a window's L lanes.
template <int KR, int KC, int L, typename T>
vec<T, L> window_max(const window<T, KR, KC, L>& x) {
    vec<T, L> y;
    for (int p = 0; p < L; p++) {
        T m = x.data[0][0][p];
        for (int kr = 0; kr < KR; kr++)
            for (int kc = 0; kc < KC; kc++) m = x.data[kr][kc][p] > m ? x.data[kr][kc][p] : m;
        y.data[p] = m;
    }
    return y;
}

template <int KR, int KC, int L, typename T_in, typename T_acc, typename T_out>
vec<T_out, L> window_sum(const window<T_in, KR, KC, L>& x) {
    vec<T_out, L> y;
    for (int p = 0; p < L; p++) {
        T_acc acc = 0;
        for (int kr = 0; kr < KR; kr++)
            for (int kc = 0; kc < KC; kc++) acc += T_acc(x.data[kr][kc][p]);
        y.data[p] = T_out(acc);
    }
    return y;
}

// [H][W][C] in P lanes -> [HO][WO][C] in P lanes.
template <class G, int P, typename T>
void max_pool(hls::stream<vec<T, P> >& in, hls::stream<vec<T, P> >& out) {
    DFCC_HLS(DATAFLOW)
    hls::stream<window<T, G::KR, G::KC, P> > windows;
    DFCC_TASKS;
    DFCC_TASK(sliding_window<G, P>(in, windows, lowest<T>::value()));
    for (int i = 0; i < G::HO * G::WO * (G::C / P); i++) {
        DFCC_HLS(PIPELINE II=1)
        out.write(window_max<G::KR, G::KC, P>(windows.read()));
    }
}

template <class G, int P, typename T_in, typename T_acc, typename T_out>
void sum_pool(hls::stream<vec<T_in, P> >& in, hls::stream<vec<T_out, P> >& out) {
    DFCC_HLS(DATAFLOW)
    hls::stream<window<T_in, G::KR, G::KC, P> > windows;
    DFCC_TASKS;
    DFCC_TASK(sliding_window<G, P>(in, windows, T_in(0)));
    for (int i = 0; i < G::HO * G::WO * (G::C / P); i++) {
        DFCC_HLS(PIPELINE II=1)
        out.write(window_sum<G::KR, G::KC, P, T_in, T_acc, T_out>(windows.read()));
    }
}

// Spatial parallelism: P whole pixels (P*C words) per beat in and out; sliding_window_px gives
// the P adjacent windows of a group side by side, lane p*C + c being pixel p's channel c.
template <class G, int P, typename T>
void max_pool_px(hls::stream<vec<T, P * G::C> >& in, hls::stream<vec<T, P * G::C> >& out) {
    DFCC_HLS(DATAFLOW)
    hls::stream<window<T, G::KR, G::KC, P * G::C> > windows;
    DFCC_TASKS;
    DFCC_TASK(sliding_window_px<G, P>(in, windows, lowest<T>::value()));
    for (int i = 0; i < G::HO * (G::WO / P); i++) {
        DFCC_HLS(PIPELINE II=1)
        out.write(window_max<G::KR, G::KC, P * G::C>(windows.read()));
    }
}

template <class G, int P, typename T_in, typename T_acc, typename T_out>
void sum_pool_px(hls::stream<vec<T_in, P * G::C> >& in, hls::stream<vec<T_out, P * G::C> >& out) {
    DFCC_HLS(DATAFLOW)
    hls::stream<window<T_in, G::KR, G::KC, P * G::C> > windows;
    DFCC_TASKS;
    DFCC_TASK(sliding_window_px<G, P>(in, windows, T_in(0)));
    for (int i = 0; i < G::HO * (G::WO / P); i++) {
        DFCC_HLS(PIPELINE II=1)
        out.write(window_sum<G::KR, G::KC, P * G::C, T_in, T_acc, T_out>(windows.read()));
    }
}

}  // namespace dfcc

#endif
