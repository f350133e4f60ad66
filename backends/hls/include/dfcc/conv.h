// dfcc/conv.h -- 2-D convolution (groups, depthwise, stride, dilation, padding, bias).
//
// Arithmetic contract (the CPU reference mirrors it bit for bit):
//   for each output pixel and filter f (group g = f / (F/G), its channels g*C/G ...):
//     acc = T_acc(bias[f])
//     for c in 0..C/G-1:  for kr in 0..KR-1:  for kc in 0..KC-1:      (this order, always)
//       acc = acc + T_acc(x[c][kr][kc] * w[f][c][kr][kc])
//     y = T_out(T_mid(acc))       (T_mid defaults to T_acc: y = T_out(acc))
//   x*w is exact for ap_fixed (full-width product) and a float product for float; T_acc(.) and
//   T_out(.) are plain conversions applying the target's quantization and overflow modes, and
//   acc + p is exact before the conversion back to T_acc (only T_acc's overflow mode can act).
//   Padding pixels are 0.
//   IP (inner_product.h) takes each step's products one by one or, ffip_product, in pairs (FFIP) on the integer
//   codes, with the bias less the filter's w-only terms and an accumulator holding FFIP's partial sums: the
//   same exact sum before the one cast.
//
// Folding: the input stream has CI lanes; CO filters are computed per cycle; FINE of the KR*KC
// kernel positions are done per cycle. Per cycle every MAC lane performs LC*FINE MACs, where LC
// (channels of one group inside an input beat) is CI for ordinary convolutions (C/G % CI == 0)
// and C/G when a beat spans several groups (depthwise-like, CI % (C/G) == 0); these LC*FINE
// products are a consecutive run of the (c, kr, kc) order above, so any folding gives the same
// bits. FINE need not divide KR*KC: the LC*KR*KC products of a beat take KT = ceil(KR*KC/FINE)
// steps, and the last step skips the slots past the run's end. Nor, ungrouped, CO the F filters:
// the filters take NF = ceil(F/CO) steps, the last one skipping the lanes past the last filter, and
// the output stream has LO lanes, a divisor of F at least CO (LO = CO when CO divides; grouped
// convolutions always), each output beat written at the step computing its last filter.
// Cycles per inference: HO*WO * (C/CI) * NF * KT, NF = ceil(GPB*(F/G)/CO), GPB = CI/LC, i.e.
// HO*WO*(C/CI)*ceil(F/CO)*KT for ordinary convolutions.
// Weights and bias may be plain arrays or ROMs of dfcc::code<T, C> entries (rom.h).
// Each cycle reads one word of CO*LC*FINE weights from a stream of words (weights.h): read out of the
// packed on-chip ROM by weight_rom, or from DRAM (offchip.h).
#ifndef DFCC_CONV_H
#define DFCC_CONV_H

#include <type_traits>

#include "inner_product.h"
#include "multiply.h"
#include "rom.h"
#include "vec.h"
#include "weights.h"
#include "window.h"

namespace dfcc {

// The MAC stage: windows in (CI channels each), output pixels out (LO filters per beat, LO*P = LP lanes,
// CO filters computed per step). `w` is the stream of its weight words, in the
// order it takes them (weights.h). With P > 1 a beat holds P windows of adjacent output columns side by side (lane p*CI + ci)
// and an output beat their P pixels (lane p*LO + lo), each computed by its own copy of the MAC array; the
// P copies share each cycle's weight word.
template <class G, int F, int GROUPS, int CI, int CO, int FINE, int P, typename T_in, typename T_w, typename T_b,
          typename T_acc, typename T_out, typename T_mid = T_acc, class MUL = dsp_mul, class IP = direct_product, class W,
          int LP>
void conv_mac(hls::stream<window<T_in, G::KR, G::KC, CI * P> >& in, hls::stream<vec<T_out, LP> >& out, W& w,
              const T_b bias[F]) {
    constexpr int K = G::KR * G::KC, CG = G::C / GROUPS, FG = F / GROUPS;
    constexpr int BPG = CG > CI ? CG / CI : 1;  // input beats per group
    constexpr int GPB = CI > CG ? CI / CG : 1;  // groups per input beat
    constexpr int LC = CI / GPB;                // channels of one group in one beat
    constexpr int FB = GPB * FG;                // filters of a group of beats
    constexpr int NF = (FB + CO - 1) / CO;      // filter steps per group of beats, the last one partly idle
    constexpr int LO = LP / P;                  // output lanes of a pixel
    static_assert(G::C % GROUPS == 0 && F % GROUPS == 0, "groups must divide C and F");
    static_assert(CG % CI == 0 || CI % CG == 0, "CI must divide C/G or be a multiple of it");
    static_assert(G::C % CI == 0 && LP % P == 0 && FB % LO == 0, "lanes must divide the channels");
    static_assert(LO == CO || (GROUPS == 1 && LO > CO), "a partly idle filter step is ungrouped, LO > CO");
    static_assert(FINE >= 1 && FINE <= K, "FINE must be in 1..KR*KC");
    constexpr int KT = (K + FINE - 1) / FINE;  // steps per window beat, the last one partly idle
    static_assert(G::WO % P == 0, "P must divide the output width");
    DFCC_HLS(ARRAY_PARTITION variable=bias cyclic factor=CO)
    typedef typename std::decay<decltype(val(T_w()))>::type T_wv;  // a weight's value (T_w may be its ROM code)
    T_acc acc[NF][P][CO];  // partial sums of the current group's filters
    T_acc sum[P][CO];      // partial sums of the current step's filters
    window<T_in, G::KR, G::KC, CI * P> x;
    vec<T_out, LP> y;
    vec<T_w, CO * LC * FINE> word;  // this cycle's weights
    DFCC_HLS(ARRAY_PARTITION variable=acc complete dim=2)
    DFCC_HLS(ARRAY_PARTITION variable=acc complete dim=3)
    DFCC_HLS(ARRAY_PARTITION variable=sum complete dim=0)
    DFCC_HLS(ARRAY_PARTITION variable=word.data complete)
    DFCC_HLS(ARRAY_PARTITION variable=x.data complete dim=0)
    DFCC_HLS(ARRAY_PARTITION variable=y.data complete)
    for (int pix = 0; pix < G::HO * G::WO / P; pix++) {
        for (int bt = 0; bt < G::C / CI; bt++) {
            for (int fo = 0; fo < NF; fo++) {
                for (int t = 0; t < KT; t++) {
                    DFCC_HLS(PIPELINE II=1)
                    if (fo == 0 && t == 0) x = in.read();
                    const int r0 = fo * CO;                          // first filter of this step in the group's
                    const int f0 = (bt / BPG) * FB + r0;             // first filter of this step
                    const int end = r0 + CO < FB ? r0 + CO : FB;     // past this step's last filter
                    const int cut = end / LO * LO;  // the filters before it complete the output beat this step writes
                    word = w.read();  // the next weight word (weights.h)
                    const int used = K % FINE != 0 && LC * K - t * LC * FINE < LC * FINE ? LC * K - t * LC * FINE
                                                                                          : LC * FINE;  // busy slots
                    for (int p = 0; p < P; p++) {
                        T_in xs[GPB][LC * FINE];  // this step's window values of each group in the beat (0 when idle)
                        DFCC_HLS(ARRAY_PARTITION variable=xs complete dim=0)
                        for (int g = 0; g < GPB; g++)
                            step_values<LC * FINE, LC>(x.data, t * LC * FINE, used, p * CI + g * LC, xs[g]);
                        const auto shared = IP::template x_terms<MUL, LC * FINE, P * CO>(p, xs[0]);  // ungrouped
                        for (int co = 0; co < CO; co++) {
                            const int r = r0 + co;
                            if (FB % CO != 0 && r >= FB) continue;  // past the last filter: an idle lane
                            const int gl = r / FG;  // group of this lane inside the beat
                            if (t == 0) sum[p][co] = bt % BPG == 0 ? T_acc(val(bias[f0 + co])) : acc[fo][p][co];
                            T_wv ws[LC * FINE];  // its weights (0 when idle)
                            DFCC_HLS(ARRAY_PARTITION variable=ws complete)
                            step_weights<LC * FINE>(word.data, co * LC * FINE, used, ws);
                            // the step's products (inner_product.h), its multipliers numbered from lane p*CO + co
                            IP::template accumulate<MUL, LC * FINE>(sum[p][co], p * CO + co, used, xs[gl], ws, shared);
                            acc[fo][p][co] = sum[p][co];
                            if (r < cut) y.data[p * LO + (LO == CO ? co : r % LO)] = T_out(T_mid(sum[p][co]));
                        }
                    }
                    if (bt % BPG == BPG - 1 && t == KT - 1 && cut > r0) out.write(y);
                    if (LO != CO && t == KT - 1) {  // this step's sums of the next output beat, after the write
                        for (int p = 0; p < P; p++) {
                            for (int co = 0; co < CO; co++) {
                                const int r = r0 + co;
                                if (r >= cut && r < FB) y.data[p * LO + r % LO] = T_out(T_mid(sum[p][co]));
                            }
                        }
                    }
                }
            }
        }
    }
}

// Convolution stage: input [H][W][C] in CI lanes, output [HO][WO][F] in LO lanes (CO filters a step, conv_mac);
// weights `w` a stream of words from the on-chip ROM (weights.h weight_rom) or from DRAM (offchip.h).
// The window stream is WD windows deep: while the MACs take the windows it queues, the walk passes the input
// that ends no window (each inference's first KRE-1 rows, the rows a stride skips) instead of stalling them
// (kinds/conv.py window_depth).
template <class G, int F, int GROUPS, int CI, int CO, int FINE, int WD, typename T_in, typename T_w, typename T_b,
          typename T_acc, typename T_out, typename T_mid = T_acc, class MUL = dsp_mul, class IP = direct_product, class W,
          int LO>
void conv(hls::stream<vec<T_in, CI> >& in, hls::stream<vec<T_out, LO> >& out, W& w, const T_b bias[F]) {
    DFCC_HLS(DATAFLOW)
    hls::stream<window<T_in, G::KR, G::KC, CI> > windows;
    DFCC_HLS(STREAM variable=windows depth=WD)
    DFCC_TASKS;
    DFCC_TASK(sliding_window<G, CI>(in, windows, T_in(0)));
    conv_mac<G, F, GROUPS, CI, CO, FINE, 1, T_in, T_w, T_b, T_acc, T_out, T_mid, MUL, IP>(windows, out, w, bias);
}

// Spatially parallel convolution (Ma et al., FPGA'17: Pox = P output columns unrolled): input
// [H][W][C] as P whole pixels per beat (P*C lanes), output [HO][WO][F] likewise (P*F lanes), so
// the beats are the stream order's; P copies of the fully channel-unrolled MAC array, FINE kernel
// positions per cycle. Cycles per inference: HO*WO/P * ceil(KR*KC/FINE) for the MACs, HP*ceil(WP/P)
// for the window generator.
template <class G, int F, int GROUPS, int P, int FINE, typename T_in, typename T_w, typename T_b,
          typename T_acc, typename T_out, typename T_mid = T_acc, class MUL = dsp_mul, class IP = direct_product, class W>
void conv_px(hls::stream<vec<T_in, P * G::C> >& in, hls::stream<vec<T_out, P * F> >& out, W& w, const T_b bias[F]) {
    DFCC_HLS(DATAFLOW)
    hls::stream<window<T_in, G::KR, G::KC, P * G::C> > windows;
    DFCC_TASKS;
    DFCC_TASK(sliding_window_px<G, P>(in, windows, T_in(0)));
    conv_mac<G, F, GROUPS, G::C, F, FINE, P, T_in, T_w, T_b, T_acc, T_out, T_mid, MUL, IP>(windows, out, w, bias);
}

// Winograd F(2,3) MAC stage (Lavin & Gray, CVPR 2016; on FPGAs Lu et al., FCCM 2017): two adjacent output columns
// c, c+1 of a 3-column kernel row from 4 multiplications instead of 6. Each window beat is a pair's window of
// 4 columns (d0..d3 = x[kr][c..c+3], conv_wino's walk), CI channels; each weight word is conv_mac's (the same
// order, weights.h: CO filters of CI*FINE consecutive (c, kr, kc) weights, FINE a multiple of 3, so each triple
// (g0, g1, g2) of it is one (channel, kernel row)), applied to both pixels. Per triple
//   V = B^T d = (d0 - d2, d1 + d2, d2 - d1, d1 - d3)    U = 2 G g = (2g0, g0 + g1 + g2, g0 - g1 + g2, 2g2)
// and per filter M_i = sum over the triples of V_i * U_i, so 2*y_c = M0 + M1 + M2, 2*y_c+1 = M1 - M2 - M3.
// T_v, T_u, T_m hold every value exactly (kinds/hls_mac.py winograd_fx), so y is the exact sum of conv_mac's
// products, then the bias and the one cast as conv.h's contract: the same bits. Output beats of both pixels,
// LO filters each, side by side (lane lo, LO + lo), written at the step computing their last filter (conv_mac's
// partly idle filter steps). Cycles: HO * ceil(WO/2) pairs x C/CI x ceil(F/CO) x ceil(KR*3/FINE).
template <class G, int F, int CI, int CO, int FINE, typename T_v, typename T_u, typename T_m, typename T_in,
          typename T_w, typename T_b, typename T_acc, typename T_out, typename T_mid, class MUL, class W, int LP>
void conv_mac_wino(hls::stream<window<T_in, G::KR, 4, CI> >& in, hls::stream<vec<T_out, LP> >& out, W& w,
                   const T_b bias[F]) {
    constexpr int K = G::KR * G::KC, CB = G::C / CI, LO = LP / 2;
    constexpr int NF = (F + CO - 1) / CO, KT = (K + FINE - 1) / FINE, Q = CI * FINE / 3;  // Q triples a step
    constexpr int PAIRS = G::HO * ((G::WO + 1) / 2);
    static_assert(G::KC == 3 && G::SC == 1 && G::DC == 1, "Winograd F(2,3): 3 kernel columns, stride 1, dilation 1");
    static_assert(FINE % 3 == 0 && FINE <= K, "FINE must be whole kernel rows (a multiple of 3) in 1..KR*3");
    static_assert(G::C % CI == 0 && F % LO == 0 && LO >= CO, "lanes must divide the channels and the filters");
    DFCC_HLS(ARRAY_PARTITION variable=bias cyclic factor=CO)
    T_m acc[NF][CO][4];  // the pair's partial sums of each filter step
    T_m sum[CO][4];      // those of the current step
    T_out y0[CO], y1[CO];  // the current step's outputs of the two pixels
    window<T_in, G::KR, 4, CI> x;
    vec<T_out, LP> y;
    vec<T_w, CO * CI * FINE> word;
    DFCC_HLS(ARRAY_PARTITION variable=acc complete dim=2)
    DFCC_HLS(ARRAY_PARTITION variable=acc complete dim=3)
    DFCC_HLS(ARRAY_PARTITION variable=sum complete dim=0)
    DFCC_HLS(ARRAY_PARTITION variable=y0 complete)
    DFCC_HLS(ARRAY_PARTITION variable=y1 complete)
    DFCC_HLS(ARRAY_PARTITION variable=word.data complete)
    DFCC_HLS(ARRAY_PARTITION variable=x.data complete dim=0)
    DFCC_HLS(ARRAY_PARTITION variable=y.data complete)
    for (int pair = 0; pair < PAIRS; pair++) {
        for (int bt = 0; bt < CB; bt++) {
            for (int fo = 0; fo < NF; fo++) {
                for (int t = 0; t < KT; t++) {
                    DFCC_HLS(PIPELINE II=1)
                    if (fo == 0 && t == 0) x = in.read();
                    const int r0 = fo * CO;                       // first filter of this step
                    const int end = r0 + CO < F ? r0 + CO : F;    // past this step's last filter
                    const int cut = end / LO * LO;  // the filters before it complete the output beat this step writes
                    const bool last = bt == CB - 1 && t == KT - 1;
                    word = w.read();  // the next weight word (weights.h)
                    T_v v[Q][4];  // the input transform of each triple, shared by the CO filters
                    DFCC_HLS(ARRAY_PARTITION variable=v complete dim=0)
                    for (int q = 0; q < Q; q++) {
                        const int j = t * CI * FINE + 3 * q;  // the triple's first position in the (c, kr, kc) run
                        const int c = j < CI * K ? j / K : 0, kr = j < CI * K ? j % K / 3 : 0;
                        const T_v d0 = x.data[kr][0][c], d1 = x.data[kr][1][c], d2 = x.data[kr][2][c],
                                  d3 = x.data[kr][3][c];
                        v[q][0] = T_v(d0 - d2);
                        v[q][1] = T_v(d1 + d2);
                        v[q][2] = T_v(d2 - d1);
                        v[q][3] = T_v(d1 - d3);
                    }
                    for (int co = 0; co < CO; co++) {
                        const int r = r0 + co;
                        if (F % CO != 0 && r >= F) continue;  // past the last filter: an idle lane
                        for (int i = 0; i < 4; i++) sum[co][i] = bt == 0 && t == 0 ? T_m(0) : acc[fo][co][i];
                        for (int q = 0; q < Q; q++) {
                            const int j = t * CI * FINE + 3 * q;
                            if (K % FINE != 0 && j >= CI * K) continue;  // past the run: an idle triple
                            const int at = co * CI * FINE + 3 * q;
                            const T_u g0 = val(word.data[at]), g1 = val(word.data[at + 1]), g2 = val(word.data[at + 2]);
                            const T_u even = T_u(g0 + g2);
                            const T_u u[4] = {T_u(g0 + g0), T_u(even + g1), T_u(even - g1), T_u(g2 + g2)};
                            for (int i = 0; i < 4; i++)
                                sum[co][i] += T_m(MUL::mul((co * Q + q) * 4 + i, v[q][i], u[i]));  // multiply.h lane
                        }
                        for (int i = 0; i < 4; i++) acc[fo][co][i] = sum[co][i];
                        const T_acc b = T_acc(val(bias[r]));
                        // the output transform: exact halves of even sums
                        const T_m even_sum = T_m(sum[co][0] + sum[co][1] + sum[co][2]) >> 1;
                        const T_m odd_sum = T_m(sum[co][1] - sum[co][2] - sum[co][3]) >> 1;
                        y0[co] = T_out(T_mid(T_acc(b + even_sum)));
                        y1[co] = T_out(T_mid(T_acc(b + odd_sum)));
                        if (last && r < cut) {
                            y.data[LO == CO ? co : r % LO] = y0[co];
                            y.data[LO + (LO == CO ? co : r % LO)] = y1[co];
                        }
                    }
                    if (last && cut > r0) out.write(y);
                    if (LO != CO && last) {  // this step's outputs of the next output beat, after the write
                        for (int co = 0; co < CO; co++) {
                            const int r = r0 + co;
                            if (r >= cut && r < F) {
                                y.data[r % LO] = y0[co];
                                y.data[LO + r % LO] = y1[co];
                            }
                        }
                    }
                }
            }
        }
    }
}

// conv_wino's output order: each pair's beats hold both pixels (LO lanes each); pixel c's are written as they come,
// pixel c+1's held and written after them (an odd output width's last pair: its second pixel dropped). One output
// beat a cycle: HO*WO*F/LO cycles.
template <class G, int F, int LO, typename T>
void conv_pair_split(hls::stream<vec<T, 2 * LO> >& in, hls::stream<vec<T, LO> >& out) {
    constexpr int NB = F / LO;  // output beats a pixel
    vec<T, LO> held[NB];
    DFCC_HLS(AGGREGATE variable=held)
    for (int i = 0; i < G::HO * G::WO * NB; i++) {
        DFCC_HLS(PIPELINE II=1)
        const int col = i / NB % G::WO, b = i % NB;
        vec<T, LO> beat;
        DFCC_HLS(ARRAY_PARTITION variable=beat.data complete)
        if (col % 2 == 0) {
            const vec<T, 2 * LO> both = in.read();
            vec<T, LO> second;
            for (int l = 0; l < LO; l++) {
                beat.data[l] = both.data[l];
                second.data[l] = both.data[LO + l];
            }
            held[b] = second;
        } else {
            beat = held[b];
        }
        out.write(beat);
    }
}

// Winograd F(2,3) convolution (conv_mac_wino): input [H][W][C] in CI lanes, output [HO][WO][F] in LO lanes, CO
// filters a step, FINE of the KR*3 kernel positions (whole rows) a step. window.h's walk with the geometry GW
// emits one window of 4 columns a pair of output columns (column stride 2; an odd WO padded by a zero column on the
// right); the window stream is WD deep (kinds/conv.py window_depth). The weights are swept once per pair.
template <class G, int F, int CI, int CO, int FINE, int WD, typename T_v, typename T_u, typename T_m, typename T_in,
          typename T_w, typename T_b, typename T_acc, typename T_out, typename T_mid = T_acc, class MUL = dsp_mul,
          class W, int LO>
void conv_wino(hls::stream<vec<T_in, CI> >& in, hls::stream<vec<T_out, LO> >& out, W& w, const T_b bias[F]) {
    DFCC_HLS(DATAFLOW)
    using GW = geom<G::H, G::W, G::C, G::KR, 4, G::SR, 2, G::DR, 1, G::PT, G::PB, G::PL, G::PR + G::WO % 2>;
    static_assert(GW::HO == G::HO && GW::WO == (G::WO + 1) / 2, "one window a pair of output columns");
    hls::stream<window<T_in, G::KR, 4, CI> > windows;
    hls::stream<vec<T_out, 2 * LO> > pairs;
    DFCC_HLS(STREAM variable=windows depth=WD)
    DFCC_TASKS;
    DFCC_TASK(sliding_window<GW, CI>(in, windows, T_in(0)));
    DFCC_TASK((conv_mac_wino<G, F, CI, CO, FINE, T_v, T_u, T_m, T_in, T_w, T_b, T_acc, T_out, T_mid, MUL>(
        windows, pairs, w, bias)));
    conv_pair_split<G, F, LO>(pairs, out);
}

// conv_mac_tiled's tile buffer. A 1x1 window (KRE = KCE = 1) reads one pixel: the buffer is a ring of pixels,
// the input read through the tile's last pixel. Else a ring of whole rows, banked by row mod KRB and column mod
// KCB, the input read through the tile's last window row.
template <class G>
constexpr bool point_window() { return G::KRE == 1 && G::KCE == 1; }

// Tiles of R output pixels an inference: the last one partly idle where R does not divide the pixels.
template <class G, int R>
constexpr int tile_count() { return (G::HO * G::WO + R - 1) / R; }

// Input pixels read once tile n's are in the buffer (its last window's last pixel or row, inside the image).
template <class G, int R>
constexpr int tile_through(int n) {
    const int last = n * R + R - 1 < G::HO * G::WO ? n * R + R - 1 : G::HO * G::WO - 1;  // the tile's last pixel
    const int p = last, row = p / G::WO * G::SR - G::PT + G::KRE - 1;
    if (row < 0) return 0;
    if (row >= G::H) return G::H * G::W;
    const int col = point_window<G>() ? p % G::WO * G::SC - G::PL + 1 : G::W;
    return row * G::W + (col < 0 ? 0 : col > G::W ? G::W : col);
}

// The buffer's pixels per bank: the most one tile spans, from its first window's first row (first pixel for a
// 1x1 window) to tile_through, a ring of pixels, or of rows: ceil(rows/KRB) rows of each row bank, each row
// ceil(W/KCB) pixels of each column bank.
template <class G, int R, int KRB, int KCB>
constexpr int tile_buffer_depth() {
    int most = 1;
    for (int n = 0; n < tile_count<G, R>(); n++) {
        const int p = n * R, row = p / G::WO * G::SR - G::PT, col = p % G::WO * G::SC - G::PL;
        const int first = row < 0 ? 0 : row >= G::H ? G::H * G::W
                          : row * G::W + (!point_window<G>() || col < 0 ? 0 : col > G::W ? G::W : col);
        most = tile_through<G, R>(n) - first > most ? tile_through<G, R>(n) - first : most;
    }
    if (point_window<G>()) return most;
    const int rows = (most + G::W - 1) / G::W;
    return (rows + KRB - 1) / KRB * ((G::W + KCB - 1) / KCB);
}

// Where the buffer keeps input pixel (row, col) in its bank (row % KRB, col % KCB), in pixels.
template <class G, int KRB, int KCB, int DEPTH>
inline int tile_address(int row, int col) {
    constexpr int WB = (G::W + KCB - 1) / KCB, SLOTS = point_window<G>() ? 1 : DEPTH / WB;  // a row's pixels; rows
    if (point_window<G>()) return (row * G::W + col) % DEPTH;
    return row / KRB % SLOTS * WB + col / KCB;
}

// D words of N lanes, a memory a lane, read at one address and written at another each cycle (a simple dual-port
// RAM), in LUTRAM or block RAM as the cost model has it (kinds/cost.py lane_ram, kinds/conv.py tile_memories): the
// array of the other memory is a word deep and never accessed (the choice is a constant). DFCC_LANE_RAM(v) partitions
// and binds a lane_ram v where it is declared (UG1399 ARRAY_PARTITION, BIND_STORAGE type=ram_s2p).
template <typename T, int D, int N, bool LUTRAM>
struct lane_ram {
    T lutram[LUTRAM ? D : 1][N];
    T bram[LUTRAM ? 1 : D][N];
    T& operator()(int d, int n) { return LUTRAM ? lutram[d][n] : bram[d][n]; }
};

#define DFCC_LANE_RAM(v)                                               \
    DFCC_HLS(ARRAY_PARTITION variable=v.lutram complete dim=2)         \
    DFCC_HLS(ARRAY_PARTITION variable=v.bram complete dim=2)           \
    DFCC_HLS(BIND_STORAGE variable=v.lutram type=ram_s2p impl=lutram)  \
    DFCC_HLS(BIND_STORAGE variable=v.bram type=ram_s2p impl=bram)

// Weight-stationary MAC stage (loop tiling after Zhang et al., FPGA'15: an output tile of R pixels, the
// weights loaded once per tile, the tile's input held once in an input buffer and each window read from it):
// per tile of R consecutive output pixels, (1) the input rows its windows need that are not yet held are
// read into the tile buffer, a ring of ROWS input rows, (2) each weight word, filter step outermost (fo, bt,
// t: hls_offchip.py's tiled order), is read once and applied to the R pixels in turn, each pixel's window
// formed from the buffer, accumulating a filter step's CO sums for every pixel of the tile, whose outputs
// are kept once the step is done, (3) the tile's pixels are written, F/CO beats each.
// The buffer is banked by (row mod KRB, column mod KCB), KRB x KCB banks: one per row and column of the window
// span (KRE x KCE) or half as many rows or columns (kinds/conv.py tile_buffer: the fewer BRAM18). A window's
// rows r0 + kr*DR lie in bank (r0 + kr*DR) % KRB, at its read floor(kr*DR/KRB) (rows r0.. in the bank's order),
// likewise its columns, so each bank is read ceil(KRE/KRB) x ceil(KCE/KCB) times a cycle, at most twice (a
// BRAM's two ports): each kernel row takes each column read from one of the row banks (KRB:1), each window
// position its pixel from one of the column banks' reads (KCB:1). Each (pixel, filter) sum takes its products
// in conv_mac's order (bt, then t), so the bits are conv_mac's.
// The weights are swept ceil(HO*WO/R) times per inference instead of HO*WO (a weight stream from DRAM moves
// about R times fewer bits); cycles: per tile its new input beats, R*C/CI*F/CO*ceil(K/FINE) MAC cycles, then
// R*F/CO output beats, in turn (H*W*C/CI input beats an inference in all); the rows below the last tile's are
// read and dropped. Where R does not divide HO*WO the last tile's pixels past the image take their cycles (the
// loops keep their trip counts, so acc[r]'s distance stays R) and write nothing. Ungrouped convolutions only. acc[r] is read and written back every cycle, R cycles apart:
// R must cover the adder's latency for the pipeline to keep II=1 (the DEPENDENCE pragma states there is no
// dependence across iterations).
// TM_OUT (a tile-major output, conv_tiled_tm_out): no outputs kept and no store: each filter step's R beats are
// written as its last input beat's steps compute them, the stream tile-major (tile R, block CO).
// ACC_LUT, Y_LUT: the sums and the kept outputs, a memory a filter lane each, in LUTRAM, else BRAM (lane_ram).
template <bool TM_OUT, class G, int F, int CI, int CO, int R, int KRB, int KCB, bool ACC_LUT, bool Y_LUT, int FINE,
          typename T_in, typename T_w, typename T_b, typename T_acc, typename T_out, typename T_mid = T_acc,
          class MUL = dsp_mul, class IP = direct_product, class W>
void conv_mac_tiled(hls::stream<vec<T_in, CI> >& in, hls::stream<vec<T_out, CO> >& out, W& w, const T_b bias[F]) {
    constexpr int K = G::KR * G::KC, CB = G::C / CI, NF = F / CO, KF = (K + FINE - 1) / FINE;  // conv_mac's KT
    constexpr int RQ = (G::KRE - 1) / KRB + 1, CQ = (G::KCE - 1) / KCB + 1;  // each bank's row and column reads
    constexpr int DEPTH = tile_buffer_depth<G, R, KRB, KCB>();
    static_assert(G::C % CI == 0 && F % CO == 0, "lanes must divide the channels and the filters");
    static_assert(FINE >= 1 && FINE <= K, "FINE must be in 1..KR*KC");
    static_assert(R >= 1 && R <= G::HO * G::WO, "R must be in 1..HO*WO");
    static_assert(KRB >= 1 && KCB >= 1 && RQ * CQ <= 2, "a bank is read at most twice a cycle (two ports)");
    DFCC_HLS(ARRAY_PARTITION variable=bias cyclic factor=CO)
    vec<T_in, CI> buf[KRB][KCB][DEPTH * CB];            // the tile's input, each pixel once
    lane_ram<T_acc, R, CO, ACC_LUT> acc;                // the filter step's sums for every pixel of the tile
    lane_ram<T_out, TM_OUT ? 1 : NF * R, CO, Y_LUT> y;  // the tile's outputs (fo, r), written pixel by pixel when done
    vec<T_w, CO * CI * FINE> word;                      // the weight word the tile's pixels share
    typedef typename std::decay<decltype(val(T_w()))>::type T_wv;  // a weight's value (T_w may be its ROM code)
    DFCC_HLS(ARRAY_PARTITION variable=buf complete dim=1)
    DFCC_HLS(ARRAY_PARTITION variable=buf complete dim=2)
    DFCC_HLS(AGGREGATE variable=buf)
    DFCC_LANE_RAM(acc)
    DFCC_LANE_RAM(y)
    DFCC_HLS(ARRAY_PARTITION variable=word.data complete)
    int loaded = 0;  // input beats read so far
    for (int n = 0; n < tile_count<G, R>(); n++) {
        for (; loaded < tile_through<G, R>(n) * CB; loaded++) {
            DFCC_HLS(PIPELINE II=1)
            const int row = loaded / CB / G::W, col = loaded / CB % G::W;
            buf[row % KRB][col % KCB][tile_address<G, KRB, KCB, DEPTH>(row, col) * CB + loaded % CB] = in.read();
        }
        for (int fo = 0; fo < NF; fo++) {
            for (int bt = 0; bt < CB; bt++) {
                for (int t = 0; t < KF; t++) {
                    for (int r = 0; r < R; r++) {
                        DFCC_HLS(PIPELINE II=1)
                        DFCC_HLS(DEPENDENCE variable=acc.lutram inter false)
                        DFCC_HLS(DEPENDENCE variable=acc.bram inter false)
                        if (r == 0) word = w.read();
                        const int p = n * R + r, r0 = p / G::WO * G::SR - G::PT, c0 = p % G::WO * G::SC - G::PL;
                        vec<T_in, CI> held_px[KRB][KCB][RQ][CQ];  // each bank's reads: rows and columns from r0, c0
                        DFCC_HLS(ARRAY_PARTITION variable=held_px complete dim=0)
                        for (int br = 0; br < KRB; br++) {
                            for (int bc = 0; bc < KCB; bc++) {
                                for (int qr = 0; qr < RQ; qr++) {
                                    const int row = r0 + ((br - r0) % KRB + KRB) % KRB + qr * KRB;
                                    for (int qc = 0; qc < CQ; qc++) {
                                        const int col = c0 + ((bc - c0) % KCB + KCB) % KCB + qc * KCB;
                                        const bool inside = row >= 0 && row < G::H && col >= 0 && col < G::W;
                                        const int px = inside ? tile_address<G, KRB, KCB, DEPTH>(row, col) : 0;
                                        held_px[br][bc][qr][qc] = buf[br][bc][px * CB + bt];
                                    }
                                }
                            }
                        }
                        vec<T_in, CI> in_row[G::KR][KCB][CQ];  // each kernel row's column reads: a KRB:1 selection
                        DFCC_HLS(ARRAY_PARTITION variable=in_row complete dim=0)
                        for (int kr = 0; kr < G::KR; kr++) {
                            const int br = ((r0 + kr * G::DR) % KRB + KRB) % KRB, qr = kr * G::DR / KRB;
                            for (int bc = 0; bc < KCB; bc++)
                                for (int qc = 0; qc < CQ; qc++) in_row[kr][bc][qc] = held_px[br][bc][qr][qc];
                        }
                        window<T_in, G::KR, G::KC, CI> x;  // then a KCB:1 selection of each row's column reads
                        DFCC_HLS(ARRAY_PARTITION variable=x.data complete dim=0)
                        for (int kr = 0; kr < G::KR; kr++) {
                            const int row = r0 + kr * G::DR;
                            for (int kc = 0; kc < G::KC; kc++) {
                                const int col = c0 + kc * G::DC;
                                const bool inside = row >= 0 && row < G::H && col >= 0 && col < G::W;
                                const vec<T_in, CI>& px = in_row[kr][(col % KCB + KCB) % KCB][kc * G::DC / KCB];
                                for (int c = 0; c < CI; c++) x.data[kr][kc][c] = inside ? px.data[c] : T_in(0);
                            }
                        }
                        const int used = K % FINE != 0 && CI * K - t * CI * FINE < CI * FINE ? CI * K - t * CI * FINE
                                                                                          : CI * FINE;  // busy slots
                        T_in xs[CI * FINE];  // the step's window values and each filter's weights (inner_product.h)
                        T_wv ws[CI * FINE];
                        DFCC_HLS(ARRAY_PARTITION variable=xs complete)
                        DFCC_HLS(ARRAY_PARTITION variable=ws complete)
                        step_values<CI * FINE, CI>(x.data, t * CI * FINE, used, 0, xs);
                        const auto shared = IP::template x_terms<MUL, CI * FINE, CO>(0, xs);
                        vec<T_out, CO> beat;  // the step's output of pixel r (TM_OUT)
                        DFCC_HLS(ARRAY_PARTITION variable=beat.data complete)
                        for (int co = 0; co < CO; co++) {
                            T_acc sum = bt == 0 && t == 0 ? T_acc(val(bias[fo * CO + co])) : acc(r, co);
                            step_weights<CI * FINE>(word.data, co * CI * FINE, used, ws);
                            IP::template accumulate<MUL, CI * FINE>(sum, co, used, xs, ws, shared);
                            acc(r, co) = sum;
                            beat.data[co] = T_out(T_mid(sum));
                            if (!TM_OUT && bt == CB - 1 && t == KF - 1) y(TM_OUT ? 0 : fo * R + r, co) = beat.data[co];
                        }
                        if (TM_OUT && bt == CB - 1 && t == KF - 1 && p < G::HO * G::WO) out.write(beat);
                    }
                }
            }
        }
        for (int i = 0; i < (TM_OUT ? 0 : R * NF); i++) {
            DFCC_HLS(PIPELINE II=1)
            vec<T_out, CO> beat;
            DFCC_HLS(ARRAY_PARTITION variable=beat.data complete)
            for (int co = 0; co < CO; co++) beat.data[co] = y(TM_OUT ? 0 : i % NF * R + i / NF, co);
            if (n * R + i / NF < G::HO * G::WO) out.write(beat);  // the last tile's idle pixels write nothing
        }
    }
    for (int i = loaded; i < G::H * G::W * CB; i++) {  // input no window reads
        DFCC_HLS(PIPELINE II=1)
        in.read();
    }
}

// A 1x1 window striding without padding reads one pixel of each SR x SC block (a ResNet downsample): conv_tiled
// holds only those, the HO x WO image held_geom<G> (a 1x1 window on each at stride 1), not the whole input.
template <class G>
constexpr bool subsampled() {
    return point_window<G>() && (G::SR > 1 || G::SC > 1) && G::PT + G::PB + G::PL + G::PR == 0;
}

template <class G>
using held_geom = typename std::conditional<subsampled<G>(), geom<G::HO, G::WO, G::C, 1, 1>, G>::type;

// conv_tiled's copy into its input FIFO: every input beat, or, subsampled<G>, those of the pixels its windows read.
template <class G, int CI, typename T>
void hold_input(hls::stream<vec<T, CI> >& in, hls::stream<vec<T, CI> >& out) {
    constexpr int CB = G::C / CI;
    for (int i = 0; i < G::H * G::W * CB; i++) {
        DFCC_HLS(PIPELINE II=1)
        const int row = i / CB / G::W, col = i / CB % G::W;
        const vec<T, CI> x = in.read();
        if (!subsampled<G>() || (row % G::SR == 0 && row / G::SR < G::HO && col % G::SC == 0 && col / G::SC < G::WO))
            out.write(x);
    }
}

// Weight-stationary convolution (conv_mac_tiled, its tile buffer in KRB x KCB banks): input [H][W][C] in CI
// lanes, output [HO][WO][F] in CO lanes, weights w[F][C][KR][KC] on chip or their words streamed from DRAM
// ceil(HO*WO/R) times (offchip.h).
// The MACs take a tile's new input rows in a burst, then compute while they read none; a FIFO of a tile's
// share of the held input (HELD beats: held_geom's, R/(HO*WO) of them) in front of them takes what the producer
// writes meanwhile, so the producer never waits on the tile's compute (the whole image for one tile).
// TM_OUT: its output tile-major (conv_mac_tiled), conv_tiled_tm_out.
template <bool TM_OUT, class G, int F, int CI, int CO, int R, int KRB, int KCB, bool ACC_LUT, bool Y_LUT, int FINE,
          typename T_in, typename T_w, typename T_b, typename T_acc, typename T_out, typename T_mid, class MUL, class IP,
          class W>
void conv_tiled_stage(hls::stream<vec<T_in, CI> >& in, hls::stream<vec<T_out, CO> >& out, W& w, const T_b bias[F]) {
    DFCC_HLS(DATAFLOW)
    using GH = held_geom<G>;
    constexpr int HELD = (GH::H * GH::W * R + G::HO * G::WO - 1) / (G::HO * G::WO) * (G::C / CI);
    hls::stream<vec<T_in, CI> > held;
    DFCC_HLS(STREAM variable=held depth=HELD)
    DFCC_TASKS;
    DFCC_TASK(hold_input<G, CI>(in, held));
    conv_mac_tiled<TM_OUT, GH, F, CI, CO, R, KRB, KCB, ACC_LUT, Y_LUT, FINE, T_in, T_w, T_b, T_acc, T_out, T_mid, MUL,
                   IP>(held, out, w, bias);
}

template <class G, int F, int CI, int CO, int R, int KRB, int KCB, bool ACC_LUT, bool Y_LUT, int FINE, typename T_in,
          typename T_w, typename T_b, typename T_acc, typename T_out, typename T_mid = T_acc, class MUL = dsp_mul,
          class IP = direct_product, class W>
void conv_tiled(hls::stream<vec<T_in, CI> >& in, hls::stream<vec<T_out, CO> >& out, W& w, const T_b bias[F]) {
    conv_tiled_stage<false, G, F, CI, CO, R, KRB, KCB, ACC_LUT, Y_LUT, FINE, T_in, T_w, T_b, T_acc, T_out, T_mid, MUL,
                     IP>(in, out, w, bias);
}

// conv_tiled writing its output tile-major (tile R, block CO: per tile, each filter step's outputs of its pixels
// in turn), as each filter step of the tile ends: no outputs kept, no store (kinds/conv.py tile_order_problem).
template <class G, int F, int CI, int CO, int R, int KRB, int KCB, bool ACC_LUT, bool Y_LUT, int FINE, typename T_in,
          typename T_w, typename T_b, typename T_acc, typename T_out, typename T_mid = T_acc, class MUL = dsp_mul,
          class IP = direct_product, class W>
void conv_tiled_tm_out(hls::stream<vec<T_in, CI> >& in, hls::stream<vec<T_out, CO> >& out, W& w, const T_b bias[F]) {
    conv_tiled_stage<true, G, F, CI, CO, R, KRB, KCB, ACC_LUT, Y_LUT, FINE, T_in, T_w, T_b, T_acc, T_out, T_mid, MUL,
                     IP>(in, out, w, bias);
}

// Output-stationary 1x1 convolution over a tile-major input (Zhang et al., FPGA'15's loop order with the input
// channels outermost), at stride S x S (S = G::SR; S > 1, a ResNet downsample: whole S x S blocks, R whole output
// rows, so the input's tiles are S^2 x R pixels, the S x S blocks of the tile's outputs; block CI): per tile of R
// output pixels (the last one the pixels left) and input block bt, the block's S^2 x R beats, read during the
// first filter step, the pixels kept (each S x S block's top-left) into xb, then for each filter step fo one
// weight word (conv_mac's order: bt, fo) applied to the R kept pixels in turn, accumulating into acc[fo][r]. Each
// (pixel, filter) sum takes its channels in conv_mac's order (bt), so the bits are conv_mac's. The tile's outputs
// leave pixel-major (R x F/CO beats after its last block) or, TM_OUT, tile-major (tile R, block CO: each filter
// step's R beats as the last block's step computes them). Cycles: per tile C/CI x (S^2 x R + (F/CO - 1) x R) MAC
// iterations, plus R x F/CO stores pixel-major; the weights are swept ceil(HO*WO/R) times. acc[fo][r] is read and
// written back R cycles apart: R must cover the adder's latency (conv_mac_tiled's DEPENDENCE). ACC_LUT: the sums, a
// memory a filter lane, in LUTRAM, else BRAM (lane_ram).
template <bool TM_OUT, class G, int F, int CI, int CO, int R, bool ACC_LUT, typename T_in, typename T_w, typename T_b,
          typename T_acc, typename T_out, typename T_mid = T_acc, class MUL = dsp_mul, class IP = direct_product,
          class W>
void conv_point_tm_in(hls::stream<vec<T_in, CI> >& in, hls::stream<vec<T_out, CO> >& out, W& w, const T_b bias[F]) {
    constexpr int S = G::SR, CB = G::C / CI, NF = F / CO, PIX = G::HO * G::WO, PIX_IN = G::H * G::W, RI = S * S * R;
    static_assert(G::KR == 1 && G::KC == 1 && G::SC == S && G::PT + G::PB + G::PL + G::PR == 0,
                  "a tile-major input is read by a 1x1 window at stride S x S without padding");
    static_assert(S == 1 || (G::H % S == 0 && G::W % S == 0 && R % G::WO == 0),
                  "a strided tile-major read takes whole S x S blocks and tiles of whole output rows");
    static_assert(G::C % CI == 0 && F % CO == 0, "lanes must divide the channels and the filters");
    static_assert(R >= 1 && R <= PIX, "R must be in 1..HO*WO");
    DFCC_HLS(ARRAY_PARTITION variable=bias cyclic factor=CO)
    typedef typename std::decay<decltype(val(T_w()))>::type T_wv;  // a weight's value (T_w may be its ROM code)
    vec<T_in, CI> xb[R];      // the block's beats of the tile's (kept) pixels
    lane_ram<T_acc, NF * R, CO, ACC_LUT> acc;  // every filter's sums for each pixel of the tile (fo, r)
    vec<T_w, CO * CI> word;                     // the weight word the tile's pixels share
    DFCC_LANE_RAM(acc)
    DFCC_HLS(ARRAY_PARTITION variable=word.data complete)
    for (int n = 0; n < tile_count<G, R>(); n++) {
        for (int bt = 0; bt < CB; bt++) {
            for (int fo = 0; fo < NF; fo++) {
                for (int i = 0; i < (fo == 0 ? RI : R); i++) {  // the first filter step reads the tile's input beats
                    DFCC_HLS(PIPELINE II=1)
                    DFCC_HLS(DEPENDENCE variable=acc.lutram inter false)
                    DFCC_HLS(DEPENDENCE variable=acc.bram inter false)
                    if (i == 0) word = w.read();
                    const int row = i / G::W, col = i % G::W;  // of the input pixel read (S > 1, first step)
                    const bool kept = S == 1 || fo > 0 || (row % S == 0 && col % S == 0);
                    const int r = S == 1 || fo > 0 ? i : row / S * G::WO + col / S;
                    if (fo == 0 && n * RI + i < PIX_IN) {  // the last tile's pixels past the image read nothing
                        const vec<T_in, CI> x = in.read();
                        if (kept) xb[r] = x;
                    }
                    if (!kept) continue;
                    const bool inside = n * R + r < PIX;
                    T_in xs[CI];
                    T_wv ws[CI];
                    DFCC_HLS(ARRAY_PARTITION variable=xs complete)
                    DFCC_HLS(ARRAY_PARTITION variable=ws complete)
                    for (int c = 0; c < CI; c++) xs[c] = inside ? xb[r].data[c] : T_in(0);
                    const auto shared = IP::template x_terms<MUL, CI, CO>(0, xs);
                    vec<T_out, CO> beat;
                    DFCC_HLS(ARRAY_PARTITION variable=beat.data complete)
                    for (int co = 0; co < CO; co++) {
                        T_acc sum = bt == 0 ? T_acc(val(bias[fo * CO + co])) : acc(fo * R + r, co);
                        step_weights<CI>(word.data, co * CI, CI, ws);
                        IP::template accumulate<MUL, CI>(sum, co, CI, xs, ws, shared);
                        acc(fo * R + r, co) = sum;
                        beat.data[co] = T_out(T_mid(sum));
                    }
                    if (TM_OUT && bt == CB - 1 && inside) out.write(beat);
                }
            }
        }
        for (int i = 0; i < (TM_OUT ? 0 : R * NF); i++) {  // pixel-major: the tile's pixels, F/CO beats each
            DFCC_HLS(PIPELINE II=1)
            vec<T_out, CO> beat;
            DFCC_HLS(ARRAY_PARTITION variable=beat.data complete)
            for (int co = 0; co < CO; co++) beat.data[co] = T_out(T_mid(acc(i % NF * R + i / NF, co)));
            if (n * R + i / NF < PIX) out.write(beat);
        }
    }
}

}  // namespace dfcc

#endif
