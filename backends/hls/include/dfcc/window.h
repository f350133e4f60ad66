// dfcc/window.h -- line buffer + sliding window generator.
//
// geom<...> bundles the spatial parameters shared by conv.h and pool.h: input H x W x C,
// kernel KR x KC, stride SR/SC, dilation DR/DC, padding top/bottom/left/right (PyTorch meaning).
// Output size HO = (H+PT+PB - DR*(KR-1) - 1)/SR + 1, likewise WO.
//
// sliding_window<G, P> reads the input once (H*W*C/P beats) and emits, per output pixel
// (ho, wo) and channel block cb, one window<T, KR, KC, P> beat: data[kr][kc][p] is input
// (ho*SR - PT + kr*DR, wo*SC - PL + kc*DC, cb*P + p), or `pad` outside the image. Order ho, wo, cb.
// It walks the padded image (HP*WP*C/P cycles, one beat per cycle), keeping the last
// (KR-1)*DR rows in a line buffer and the last (KC-1)*DC columns in window registers. Each cycle reads
// and writes every lane of both at one address (c, cb), so each is one memory of packed words (a line
// buffer word: (KRE-1)*P elements, WP*CB deep; a window word: KRE*(KCE-1)*P elements, CB deep), or, when
// shallower than a LUT RAM (64 words), a memory per element of the word (lane_banks below).
#ifndef DFCC_WINDOW_H
#define DFCC_WINDOW_H

#include "vec.h"

namespace dfcc {

template <int H_, int W_, int C_, int KR_, int KC_, int SR_ = 1, int SC_ = 1, int DR_ = 1, int DC_ = 1,
          int PT_ = 0, int PB_ = 0, int PL_ = 0, int PR_ = 0>
struct geom {
    static const int H = H_, W = W_, C = C_, KR = KR_, KC = KC_, SR = SR_, SC = SC_, DR = DR_,
                     DC = DC_, PT = PT_, PB = PB_, PL = PL_, PR = PR_;
    static const int HP = H + PT + PB, WP = W + PL + PR;           // padded input
    static const int KRE = DR * (KR - 1) + 1, KCE = DC * (KC - 1) + 1;  // dilated kernel extent
    static const int HO = (HP - KRE) / SR + 1, WO = (WP - KCE) / SC + 1;
    static_assert(HP >= KRE && WP >= KCE, "kernel larger than the padded input");
};

template <typename T, int KR, int KC, int P>
struct window {
    T data[KR][KC][P];
};

// Memories a buffer of LANES elements read whole at one of DEPTH addresses each cycle is built as: one packed
// word (a BRAM18 is at most 36 bits wide, so the word fills its blocks), or a LUTRAM per lane when the buffer
// is shallower than a LUT6 RAM (UG573, UG574). The cost model counts the same (hardware/memory.py).
template <int LANES, int DEPTH>
struct lane_banks {
    static const int N = DEPTH < 64 ? LANES : 1;
};

// Element e of the word at `addr` of a buffer built as B banks: bank e % B, place e / B of its word.
template <int B, int D, int WB, typename T>
inline T& lane_at(T (&mem)[B][D][WB], int addr, int e) {
    return mem[e % B][addr][e / B];
}

template <class G, int P, typename T>
void sliding_window(hls::stream<vec<T, P> >& in, hls::stream<window<T, G::KR, G::KC, P> >& out,
                    const T pad) {
    static_assert(G::C % P == 0, "channels must fill whole beats");
    constexpr int CB = G::C / P, KRE = G::KRE, KCE = G::KCE;
    constexpr int ROWS = KRE > 1 ? KRE - 1 : 1, COLS = KCE > 1 ? KCE - 1 : 1;  // no 0-size arrays
    constexpr int LW = ROWS * P, RW = KRE * COLS * P;  // elements of a line buffer word, a window word
    constexpr int LB = lane_banks<LW, G::WP * CB>::N, RB = lane_banks<RW, CB>::N;
    T lines[LB][G::WP * CB][LW / LB];  // previous KRE-1 padded rows at c*CB + cb: element i*P + p, row i, lane p
    T regs[RB][CB][RW / RB];           // previous KCE-1 columns of the current KRE rows: (i*COLS + j)*P + p
    DFCC_HLS(ARRAY_PARTITION variable=lines complete dim=1)
    DFCC_HLS(ARRAY_RESHAPE variable=lines complete dim=3)
    DFCC_HLS(ARRAY_PARTITION variable=regs complete dim=1)
    DFCC_HLS(ARRAY_RESHAPE variable=regs complete dim=3)
    for (int r = 0; r < G::HP; r++) {
        for (int c = 0; c < G::WP; c++) {
            for (int cb = 0; cb < CB; cb++) {
                DFCC_HLS(PIPELINE II=1)
                T win[KRE][KCE][P];  // the full (undilated-extent) window ending at (r, c)
                DFCC_HLS(ARRAY_PARTITION variable=win complete dim=0)
                const bool inside = r >= G::PT && r < G::PT + G::H && c >= G::PL && c < G::PL + G::W;
                vec<T, P> px;
                DFCC_HLS(ARRAY_PARTITION variable=px.data complete)
                if (inside) px = in.read();
                for (int p = 0; p < P; p++) {
                    win[KRE - 1][KCE - 1][p] = inside ? px.data[p] : pad;
                    for (int i = 0; i < KRE - 1; i++) win[i][KCE - 1][p] = lane_at(lines, c * CB + cb, i * P + p);
                    for (int i = 0; i < KRE - 1; i++) lane_at(lines, c * CB + cb, i * P + p) = win[i + 1][KCE - 1][p];
                    for (int i = 0; i < KRE; i++) {
                        for (int j = 0; j < KCE - 1; j++) win[i][j][p] = lane_at(regs, cb, (i * COLS + j) * P + p);
                        for (int j = 0; j < KCE - 1; j++) lane_at(regs, cb, (i * COLS + j) * P + p) = win[i][j + 1][p];
                    }
                }
                const int r0 = r - (KRE - 1), c0 = c - (KCE - 1);  // window origin
                if (r0 >= 0 && c0 >= 0 && r0 % G::SR == 0 && c0 % G::SC == 0) {
                    window<T, G::KR, G::KC, P> w;
                    for (int kr = 0; kr < G::KR; kr++)
                        for (int kc = 0; kc < G::KC; kc++)
                            for (int p = 0; p < P; p++) w.data[kr][kc][p] = win[kr * G::DR][kc * G::DC][p];
                    out.write(w);
                }
            }
        }
    }
}

// sliding_window_px<G, P>: spatial parallelism (Ma et al., FPGA'17: Pox output columns unrolled).
// The input carries P adjacent pixels (all C channels) per beat, H*W/P beats; per output row and
// group of P adjacent output columns wo = j*P .. j*P+P-1 it emits one window<T, KR, KC, P*C> beat,
// data[kr][kc][p*C + c] being window (ho, j*P+p)'s element (kr, kc, c). It walks each padded row in
// steps of P columns (HP*ceil(WP/P) cycles), reading at most one beat per step (two beats straddle
// a step when PL % P != 0), keeping the last KRE-1 rows in a line buffer of steps and, per window
// row, the last HC = (P-1)*SC + KCE + P-1 columns in registers: a group ending in this step starts
// at most P-1 columns after the oldest of them.
template <class G, int P, typename T>
void sliding_window_px(hls::stream<vec<T, P * G::C> >& in, hls::stream<window<T, G::KR, G::KC, P * G::C> >& out,
                       const T pad) {
    constexpr int C = G::C, KRE = G::KRE, KCE = G::KCE;
    constexpr int S = (G::WP + P - 1) / P;          // steps per padded row
    constexpr int SPAN = (P - 1) * G::SC + KCE;     // padded columns one group of P windows covers
    constexpr int HC = SPAN + P - 1;                // columns kept per window row
    constexpr int ROWS = KRE > 1 ? KRE - 1 : 1;     // no 0-size arrays
    static_assert(G::W % P == 0 && G::WO % P == 0, "P must divide the input and the output width");
    T lines[ROWS][S][P][C];  // the previous KRE-1 padded rows, by step
    T hist[KRE][HC][C];      // the last HC columns of the current KRE rows
    DFCC_HLS(ARRAY_PARTITION variable=lines complete dim=1)
    DFCC_HLS(ARRAY_PARTITION variable=lines complete dim=3)
    DFCC_HLS(ARRAY_PARTITION variable=lines complete dim=4)
    DFCC_HLS(ARRAY_PARTITION variable=hist complete dim=0)
    vec<T, P * C> prev, cur;  // the last two beats read (cur: beat number at)
    DFCC_HLS(ARRAY_PARTITION variable=prev.data complete)
    DFCC_HLS(ARRAY_PARTITION variable=cur.data complete)
    for (int r = 0; r < G::HP; r++) {
        int at = -1, group = 0, last = (P - 1) * G::SC + KCE - 1;  // next group of this row ends at column `last`
        for (int s = 0; s < S; s++) {
            DFCC_HLS(PIPELINE II=1)
            const bool row_in = r >= G::PT && r < G::PT + G::H;
            const int first = s * P - G::PL;  // input column of this step's first padded column
            const int need = first + P - 1;   // its beat is read now, if it is in the image
            if (row_in && need >= 0 && need / P < G::W / P) {
                prev = cur;
                cur = in.read();
                at = need / P;
            }
            T col[KRE][P][C];  // this step's columns of the KRE window rows
            DFCC_HLS(ARRAY_PARTITION variable=col complete dim=0)
            for (int q = 0; q < P; q++) {
                const int ic = first + q;
                const bool inside = row_in && ic >= 0 && ic < G::W;
                const bool in_cur = inside && ic / P == at;
                for (int c = 0; c < C; c++) {
                    col[KRE - 1][q][c] = !inside ? pad : in_cur ? cur.data[(ic % P) * C + c] : prev.data[(ic % P) * C + c];
                    for (int i = 0; i < KRE - 1; i++) col[i][q][c] = lines[i][s][q][c];
                    for (int i = 0; i < KRE - 1; i++) lines[i][s][q][c] = col[i + 1][q][c];
                }
            }
            for (int i = 0; i < KRE; i++)
                for (int h = 0; h < HC; h++)
                    for (int c = 0; c < C; c++) hist[i][h][c] = h < HC - P ? hist[i][h + P][c] : col[i][h - (HC - P)][c];
            const int r0 = r - (KRE - 1);
            if (group < G::WO / P && last < s * P + P) {
                const int d = last - s * P;  // the group's first column in hist
                if (r0 >= 0 && r0 % G::SR == 0) {
                    window<T, G::KR, G::KC, P * C> w;
                    for (int kr = 0; kr < G::KR; kr++)
                        for (int kc = 0; kc < G::KC; kc++)
                            for (int p = 0; p < P; p++)
                                for (int c = 0; c < C; c++)
                                    w.data[kr][kc][p * C + c] = hist[kr * G::DR][d + p * G::SC + kc * G::DC][c];
                    out.write(w);
                }
                group++;
                last += P * G::SC;
            }
        }
    }
}

}  // namespace dfcc

#endif
