// dfcc/sparse_conv.h -- zero-skipping convolution (PASS, arXiv 2307.07821; HASS, arXiv 2406.03088).
//
// Computes what conv.h computes, but spends cycles only on non-zero activation x weight products:
// zero weights are absent from the ROMs (static: only the kept weights and their kernel positions
// are stored), zero activations are dropped at run time.
//
// Structure (one DATAFLOW region): sliding_window (window.h) -> sparse_deal -> CI*CO processing
// elements (PEs) -> sparse_glue. PE p = i*CO + j owns input lane i and output lane j: for every
// window of its lane and every filter of its lane it gathers the pairs whose weight is stored and
// whose activation is non-zero (the crossbar) and multiplies FINE of them per cycle, so a window
// with z zero products costs ceil((KR*KC - z)/FINE) cycles and an all-zero window none. Each PE has
// its own queue (depth SPARSE_QUEUE) in front and behind, so PEs drift apart by up to a queue and the
// stage runs at the pace of the busiest PE: the PASS/HASS expected workload.
//
// Channel assignment (PASS): the deal stage may permute the channels of a pixel inside each group
// before dealing them to the lanes (PERMUTE; src[t][i] is the pixel-local channel that lane i gets in
// slot t), so that the expensive channels spread over the lanes. A permuting deal buffers one pixel
// (ping-pong), still reading one window beat per cycle.
//
// ROMs, per PE p, in the order the PE visits them (pixel-invariant): for each slot t (C/CI of them)
// and output beat fo of its group (NF of them), count[p][r] stored weights, then for each of them its
// value w[p][e] and kernel position pos[p][e] (kr*KC + kc, ascending). Rows of a filter whose group
// is not the lane's group have count 0. Arrays are padded to the longest PE's list E (the tail only).
//
// Arithmetic: y[f] = T_out(T_mid(T_acc(bias[f]) + sum_i partial_i)), partial_i = the sum over PE i's
// products in T_acc, all exact for ap_fixed when T_acc holds every partial sum (the emitter chooses
// such a T_acc and casts to acc_format through T_mid), hence bit-exact with conv.h's order; float
// sums are ordered differently (~1e-6 relative).
#ifndef DFCC_SPARSE_CONV_H
#define DFCC_SPARSE_CONV_H

#include <utility>

#ifdef DFCC_SPARSE_TRACE
#include <cstdio>
#endif

#include "multiply.h"
#include "rom.h"
#include "vec.h"
#include "window.h"

namespace dfcc {

static const int SPARSE_QUEUE = 8;  // words of slack between the deal, each PE and the glue

// The lane layout of conv.h (GPB groups per beat or BPG beats per group, LC group channels per beat).
template <class G, int F, int GROUPS, int CI, int CO>
struct sparse_shape {
    static const int K = G::KR * G::KC, CG = G::C / GROUPS, FG = F / GROUPS;
    static const int BPG = CG > CI ? CG / CI : 1;
    static const int GPB = CI > CG ? CI / CG : 1;
    static const int BEATS = G::C / CI;  // window beats (slots) per pixel
    static const int NF = GPB * FG / CO; // output beats per group of beats
    static const int R = BEATS * NF;     // ROM rows per PE per pixel
    static const int PES = CI * CO;
    static_assert(G::C % GROUPS == 0 && F % GROUPS == 0, "groups must divide C and F");
    static_assert(CG % CI == 0 || CI % CG == 0, "CI must divide C/G or be a multiple of it");
    static_assert(G::C % CI == 0 && (GPB * FG) % CO == 0, "lanes must divide the channels");
};

// Window beats (CI channels) -> one single-channel window stream per PE, in slot order.
template <class G, int CI, int CO, bool PERMUTE, typename T, typename T_s>
void sparse_deal(hls::stream<window<T, G::KR, G::KC, CI> >& in, hls::stream<window<T, G::KR, G::KC, 1> > out[CI * CO],
                 const T_s src[G::C / CI][CI]) {
    constexpr int BEATS = G::C / CI, PIXELS = G::HO * G::WO;
    T buf[2][BEATS][G::KR][G::KC][CI];  // ping-pong pixel buffer (used when PERMUTE)
    DFCC_HLS(ARRAY_PARTITION variable=buf complete dim=1)
    DFCC_HLS(ARRAY_PARTITION variable=buf complete dim=3)
    DFCC_HLS(ARRAY_PARTITION variable=buf complete dim=4)
    DFCC_HLS(ARRAY_PARTITION variable=buf complete dim=5)
    for (int pix = 0; pix < PIXELS + (PERMUTE ? 1 : 0); pix++) {
        for (int t = 0; t < BEATS; t++) {
            DFCC_HLS(PIPELINE II=1)
            window<T, G::KR, G::KC, CI> x;
            if (pix < PIXELS) x = in.read();
            for (int i = 0; i < CI; i++) {
                window<T, G::KR, G::KC, 1> v;
                for (int kr = 0; kr < G::KR; kr++) {
                    for (int kc = 0; kc < G::KC; kc++) {
                        if (PERMUTE) {
                            const int s = src[t][i];
                            v.data[kr][kc][0] = buf[(pix + 1) % 2][s / CI][kr][kc][s % CI];
                            if (pix < PIXELS) buf[pix % 2][t][kr][kc][i] = x.data[kr][kc][i];
                        } else {
                            v.data[kr][kc][0] = x.data[kr][kc][i];
                        }
                    }
                }
                if (!PERMUTE || pix > 0)
                    for (int j = 0; j < CO; j++) out[i * CO + j].write(v);
            }
        }
    }
}

// One PE: the partial sums of its filters over its lane's channels, one per output beat.
template <class G, int F, int GROUPS, int CI, int CO, int FINE, int E, typename T_in, typename T_w, typename T_n,
          typename T_acc, class MUL>
void sparse_pe(hls::stream<window<T_in, G::KR, G::KC, 1> >& in, hls::stream<T_acc>& out, const T_w w[E],
               const T_n pos[E], const T_n count[sparse_shape<G, F, GROUPS, CI, CO>::R], int lane) {
    typedef sparse_shape<G, F, GROUPS, CI, CO> S;
    T_acc acc[S::NF];
    T_in a[S::K];  // the crossbar's output: non-zero pairs of the current window and filter
    T_w b[S::K];
    DFCC_HLS(ARRAY_PARTITION variable=a complete)
    DFCC_HLS(ARRAY_PARTITION variable=b complete)
    DFCC_HLS(ARRAY_PARTITION variable=w cyclic factor=S::K)
    DFCC_HLS(ARRAY_PARTITION variable=pos cyclic factor=S::K)
    long cycles = 0;
    for (int pix = 0; pix < G::HO * G::WO; pix++) {
        int e = 0;
        for (int t = 0; t < S::BEATS; t++) {
            const window<T_in, G::KR, G::KC, 1> x = in.read();
            for (int fo = 0; fo < S::NF; fo++) {
                const int r = t * S::NF + fo, n = count[r];
                if (t % S::BPG == 0) acc[fo] = T_acc(0);
                int m = 0;
                for (int k = 0; k < S::K; k++) {
                    if (k < n) {
                        const int p = pos[e + k];
                        const T_in v = x.data[p / G::KC][p % G::KC][0];
                        if (v != 0) {
                            a[m] = v;
                            b[m] = w[e + k];
                            m++;
                        }
                    }
                }
                // PASS / HASS: ceil((K^2 - z) / FINE) cycles for a window with z zero products
                for (int c = 0; c < (m + FINE - 1) / FINE; c++) {
                    DFCC_HLS(PIPELINE II=1)
                    for (int q = 0; q < FINE; q++)
                        if (c * FINE + q < m) acc[fo] += T_acc(MUL::mul(a[c * FINE + q], val(b[c * FINE + q])));
                    cycles++;
                }
                e += n;
                if (t % S::BPG == S::BPG - 1) out.write(acc[fo]);
            }
        }
    }
#ifdef DFCC_SPARSE_TRACE
    std::fprintf(stderr, "dfcc_sparse_pe %d %ld\n", lane, cycles);
#endif
    (void)lane;
    (void)cycles;
}

// Bias plus the CI partial sums of each output lane; one output beat per cycle.
template <class G, int F, int GROUPS, int CI, int CO, typename T_b, typename T_acc, typename T_out, typename T_mid>
void sparse_glue(hls::stream<T_acc> parts[CI * CO], hls::stream<vec<T_out, CO> >& out, const T_b bias[F]) {
    typedef sparse_shape<G, F, GROUPS, CI, CO> S;
    vec<T_out, CO> y;
    DFCC_HLS(ARRAY_PARTITION variable=y.data complete)
    DFCC_HLS(ARRAY_PARTITION variable=bias cyclic factor=CO)
    for (int pix = 0; pix < G::HO * G::WO; pix++) {
        for (int bg = 0; bg < S::BEATS / S::BPG; bg++) {
            for (int fo = 0; fo < S::NF; fo++) {
                DFCC_HLS(PIPELINE II=1)
                const int f0 = bg * S::GPB * S::FG + fo * CO;
                for (int j = 0; j < CO; j++) {
                    T_acc sum = T_acc(val(bias[f0 + j]));
                    for (int i = 0; i < CI; i++) sum += parts[i * CO + j].read();
                    y.data[j] = T_out(T_mid(sum));
                }
                out.write(y);
            }
        }
    }
}

template <class G, int F, int GROUPS, int CI, int CO, int FINE, int E, bool PERMUTE, typename T_in, typename T_w,
          typename T_n, typename T_s, typename T_b, typename T_acc, typename T_out, typename T_mid, class MUL,
          std::size_t... P>
void sparse_conv_pes(std::index_sequence<P...>, hls::stream<vec<T_in, CI> >& in, hls::stream<vec<T_out, CO> >& out,
                     const T_w w[CI * CO][E], const T_n pos[CI * CO][E],
                     const T_n count[CI * CO][sparse_shape<G, F, GROUPS, CI, CO>::R], const T_s src[G::C / CI][CI],
                     const T_b bias[F]) {
    DFCC_HLS(DATAFLOW)
    hls::stream<window<T_in, G::KR, G::KC, CI> > windows;
    hls::stream<window<T_in, G::KR, G::KC, 1> > lanes[CI * CO];
    hls::stream<T_acc> parts[CI * CO];
    DFCC_HLS(STREAM variable=lanes depth=SPARSE_QUEUE)
    DFCC_HLS(STREAM variable=parts depth=SPARSE_QUEUE)
    DFCC_HLS(ARRAY_PARTITION variable=w complete dim=1)
    DFCC_HLS(ARRAY_PARTITION variable=pos complete dim=1)
    DFCC_HLS(ARRAY_PARTITION variable=count complete dim=1)
    DFCC_TASKS;
    DFCC_TASK(sliding_window<G, CI>(in, windows, T_in(0)));
    DFCC_TASK(sparse_deal<G, CI, CO, PERMUTE>(windows, lanes, src));
    const int started[] = {0, (DFCC_TASK((sparse_pe<G, F, GROUPS, CI, CO, FINE, E, T_in, T_w, T_n, T_acc, MUL>(
                                   lanes[P], parts[P], w[P], pos[P], count[P], int(P)))), 0)...};
    (void)started;
    sparse_glue<G, F, GROUPS, CI, CO, T_b, T_acc, T_out, T_mid>(parts, out, bias);
}

// Zero-skipping convolution stage: input [H][W][C] in CI lanes, output [HO][WO][F] in CO lanes.
template <class G, int F, int GROUPS, int CI, int CO, int FINE, int E, bool PERMUTE, typename T_in, typename T_w,
          typename T_n, typename T_s, typename T_b, typename T_acc, typename T_out, typename T_mid = T_acc,
          class MUL = dsp_mul>
void sparse_conv(hls::stream<vec<T_in, CI> >& in, hls::stream<vec<T_out, CO> >& out, const T_w w[CI * CO][E],
                 const T_n pos[CI * CO][E], const T_n count[CI * CO][sparse_shape<G, F, GROUPS, CI, CO>::R],
                 const T_s src[G::C / CI][CI], const T_b bias[F]) {
    sparse_conv_pes<G, F, GROUPS, CI, CO, FINE, E, PERMUTE, T_in, T_w, T_n, T_s, T_b, T_acc, T_out, T_mid, MUL>(
        std::make_index_sequence<CI * CO>(), in, out, w, pos, count, src, bias);
}

}  // namespace dfcc

#endif
