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
// A tile-major output (tile R, block B: kinds/pool.py PoolOp.order_problem) is the pool's pixel-major
// beats reordered by tile_major_out.
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

// Pixel-major [PIX][C] in P lanes -> tile-major (tile R, block B; P dividing B): each tile's beats are held
// in one half of a ping-pong buffer while the previous tile leaves from the other, a block of its pixels at a
// time (pixel j, beat q of block b: buffer beat j * C/P + b * B/P + q). (TILES + 1) x R*C/P iterations, one
// read and one write each at most; the last tile the pixels left.
template <int PIX, int C, int R, int B, int P, typename T>
void tile_major_out(hls::stream<vec<T, P> >& in, hls::stream<vec<T, P> >& out) {
    constexpr int CB = C / P, QB = B / P, TILES = (PIX + R - 1) / R, LAST = PIX - (TILES - 1) * R;
    static_assert(C % B == 0 && B % P == 0, "lanes must divide the block and the block the channels");
    vec<T, P> buf[2][R * CB];
    DFCC_HLS(ARRAY_PARTITION variable=buf complete dim=1)
    for (int n = 0; n <= TILES; n++) {
        const int reads = n < TILES ? (n == TILES - 1 ? LAST : R) * CB : 0;
        const int tile = n == TILES ? LAST : R;  // pixels of the tile written (tile n - 1)
        const int writes = n > 0 ? tile * CB : 0;
        int j = 0, b = 0, q = 0;  // pixel, block and beat in the block of the beat written
        for (int i = 0; i < R * CB; i++) {
            DFCC_HLS(PIPELINE II=1)
            DFCC_HLS(DEPENDENCE variable=buf inter false)
            if (i < reads) buf[n % 2][i] = in.read();
            if (i < writes) {
                out.write(buf[(n + 1) % 2][j * CB + b * QB + q]);
                if (++q == QB) {
                    q = 0;
                    if (++j == tile) {
                        j = 0;
                        b++;
                    }
                }
            }
        }
    }
}

}  // namespace dfcc

#endif
