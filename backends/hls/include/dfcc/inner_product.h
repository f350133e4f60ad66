// dfcc/inner_product.h -- a filter step's inner product in the MAC kernels (conv.h conv_mac and conv_mac_tiled,
// linear.h linear): its products one by one (direct_product), or paired by Winograd's fast inner product
// (ffip_product), half the multiplications (kinds/inner_product.py: where the IR asks for it).
//
// The policies take one step: N slots of window values x and weights w (the slots past the run 0 in both), and
// add its products to a filter's running sum acc. direct_product adds T_acc(x*w) slot by slot, the slots past the
// run skipped (conv.h's contract as it reads). ffip_product (S. Winograd, "A new algorithm for inner product",
// IEEE Trans. Computers 1968; Pogue & Nicolici, "Fast inner-product algorithms and architectures for deep neural
// network accelerators", IEEE Trans. Computers 2024) works on the integer codes (qx = x*2^FX, qw = w*2^FW) of
// the H = ceil(N/2) pairs (a, b) = (2q, 2q+1), the last one's b a zero where N is odd:
//   qx_a*qw_a + qx_b*qw_b = (qx_a + qw_b) * (qx_b + qw_a) - qx_a*qx_b - qw_a*qw_b
// one product per pair per filter; the x-only sum over the pairs (x_terms) depends on the window alone and is
// shared by every filter of the step; the w-only sum over a filter's whole inner product is a constant, folded
// into its bias by the emitter (kinds/hls_mac.py mac_types). Every term is an exact integer, so acc, which must
// hold the partial sums' worst case with the w-only terms still to come (the emitter's T_acc), gets exactly the
// direct sum's value; the kernel casts it once as it would the direct sum.
// Multiplier lanes (multiply.h split_mul): the direct step of filter lane L takes lanes L*N + m; FFIP's take
// L*H + q, the x-only products of pixel copy p lanes FL*H + p*H + q after all FL filter lanes.
#ifndef DFCC_INNER_PRODUCT_H
#define DFCC_INNER_PRODUCT_H

#include <ap_fixed.h>

#include "rom.h"

namespace dfcc {

constexpr int ceil_log2(int n) { return n <= 1 ? 0 : 1 + ceil_log2((n + 1) / 2); }

// The integer code of an ap_fixed or ap_ufixed value (its bits: value * 2^(W - I)).
template <int W, int I, ap_q_mode Q, ap_o_mode O, int N>
inline ap_int<W> code_of(const ap_fixed<W, I, Q, O, N>& v) {
    ap_int<W> q = v.range(W - 1, 0);
    return q;
}

template <int W, int I, ap_q_mode Q, ap_o_mode O, int N>
inline ap_uint<W> code_of(const ap_ufixed<W, I, Q, O, N>& v) {
    ap_uint<W> q = v.range(W - 1, 0);
    return q;
}

// A step's slots of a window, KR*KC positions of LANES channels from channel `lane0`: slot m is position j = first + m
// of the (c, kr, kc) run, 0 from slot `used` on (past the run).
template <int N, int LANES, int KR, int KC, int L, typename T>
inline void step_values(const T (&win)[KR][KC][L], int first, int used, int lane0, T (&xs)[N]) {
    for (int m = 0; m < N; m++) {
        const int j = first + m, c = j / (KR * KC) % LANES, kr = j % (KR * KC) / KC, kc = j % KC;
        xs[m] = m < used ? win[kr][kc][lane0 + c] : T(0);
    }
}

// A step's weights of one filter lane: N of a weight word's values from `offset`, 0 from slot `used` on.
template <int N, typename T, typename C, int L>
inline void step_weights(const C (&word)[L], int offset, int used, T (&ws)[N]) {
    for (int m = 0; m < N; m++) ws[m] = m < used ? T(val(word[offset + m])) : T(0);
}

struct direct_product {
    template <class MUL, int N, int FL, typename X>
    static int x_terms(int, const X (&)[N]) {
        return 0;  // nothing shared
    }
    template <class MUL, int N, typename T_acc, typename X, typename W, typename S>
    static void accumulate(T_acc& acc, int lane, int used, const X (&x)[N], const W (&w)[N], const S&) {
        for (int m = 0; m < N; m++) {
            if (m >= used) continue;  // past the run: an idle slot
            acc += T_acc(MUL::mul(lane * N + m, x[m], w[m]));
        }
    }
};

struct ffip_product {
    // The widths of a pair's operand (qx + qw, one bit wider than the wider code) and of a step's integer sums.
    template <typename X, typename W, int N>
    struct widths {
        typedef decltype(code_of(X()) + code_of(W())) operand;
        static const int H = (N + 1) / 2, SUM = 2 * operand::width + ceil_log2(H) + 2;
    };

    // The x-only products of pixel copy p's slots: sum over the pairs of qx_a*qx_b.
    template <class MUL, int N, int FL, typename X>
    static ap_int<2 * X::width + ceil_log2((N + 1) / 2) + 2> x_terms(int p, const X (&x)[N]) {
        constexpr int H = (N + 1) / 2;
        ap_int<2 * X::width + ceil_log2(H) + 2> s = 0;
        for (int q = 0; q < H; q++)
            s += MUL::mul(FL * H + p * H + q, code_of(x[2 * q]), code_of(2 * q + 1 < N ? x[2 * q + 1] : X(0)));
        return s;
    }

    template <class MUL, int N, typename T_acc, typename X, typename W, typename S>
    static void accumulate(T_acc& acc, int lane, int, const X (&x)[N], const W (&w)[N], const S& xt) {
        typedef widths<X, W, N> wd;
        constexpr int H = wd::H, B = wd::SUM, F = X::width - X::iwidth + W::width - W::iwidth;
        ap_int<B> s = 0;
        for (int q = 0; q < H; q++) {
            const bool pair = 2 * q + 1 < N;  // N odd: the last slot's partner is a zero
            const typename wd::operand a = code_of(x[2 * q]) + code_of(pair ? w[2 * q + 1] : W(0));
            const typename wd::operand b = code_of(pair ? x[2 * q + 1] : X(0)) + code_of(w[2 * q]);
            s += MUL::mul(lane * H + q, a, b);
        }
        s -= xt;
        ap_fixed<B, B - F> products;  // the step's products' sum plus its w-only terms, in units of 2^-(FX+FW)
        products.range(B - 1, 0) = s.range(B - 1, 0);
        acc += T_acc(products);
    }
};

}  // namespace dfcc

#endif
