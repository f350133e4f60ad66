// dfcc/ddr_rows.h -- a convolution whose line buffer lives in DRAM (SMOF: line-buffer eviction).
//
// conv_rows<G, ...> is conv.h's conv with the sliding window's line buffer replaced by off-chip memory:
// ddr_write (ddr.h) stores the input [H][W][C/P beats] in a DRAM ring holding a whole inference, and
// ddr_rows_read loads back, for each output row ho, the KR input rows its windows cover
// (r = ho*SR - PT + kr*DR; rows outside the image are `pad`), emitting one column beat per input beat of a
// row: vec<T, KR*P>, lane kr*P + p being row kr's element. column_window turns the column beats into the
// windows conv_mac takes (the same order and contents as sliding_window's), keeping only the last KCE-1
// columns in registers: no row of the image is held on chip.
//
// Reads are bursts: per output row, the row's beats go in tiles of BURST beats; a tile reads a burst from
// each of the KR rows into a KR x BURST staging buffer, then emits its BURST column beats. Cycles per
// inference: HO * (W*C/P) * (KR + 1) (hardware/offchip.py row_reader_cycles).
//
// The ring holds one inference. Its burst tokens (`bursts`) tell the reader how far the ring is written; the
// reader waits for the token covering the last beat a tile needs (rows are read in increasing order of their
// last row) and takes the remaining tokens at the end of the inference, so the next one starts with none
// pending. `bursts` holds TOKENS (hardware/offchip.py row_ring_tokens): with that many waiting the writer
// blocks before the next inference's bursts reach a row the reader will still read back (at a tile, its
// top row). The reader never sees a stale or overwritten word, and delivery cannot deadlock: the reader waits
// only for the writer's tokens, the writer only for the reader to take tokens in order.
#ifndef DFCC_DDR_ROWS_H
#define DFCC_DDR_ROWS_H

#include "conv.h"
#include "ddr.h"
#include "vec.h"
#include "window.h"

namespace dfcc {

template <class G, int P, int BURST, typename T>
void ddr_rows_read(const vec<T, P>* ring, hls::stream<vec<int, 1> >& bursts, hls::stream<vec<T, G::KR * P> >& out,
                   const T pad) {
    static_assert(G::C % P == 0, "channels must fill whole beats");
    constexpr int ROW = G::W * (G::C / P), BEATS = G::H * ROW;
    T stage[G::KR][BURST][P];
    DFCC_HLS(ARRAY_PARTITION variable=stage complete dim=1)
    DFCC_HLS(ARRAY_PARTITION variable=stage complete dim=3)
    int written = 0;  // beats of this inference the ring holds
    for (int ho = 0; ho < G::HO; ho++) {
        const int top = ho * G::SR - G::PT;
        const int bottom = top + (G::KR - 1) * G::DR;
        const int last = bottom < G::H ? bottom : G::H - 1;  // the lowest image row this output row reads
        for (int t = 0; t < ROW; t += BURST) {
            const int n = ROW - t < BURST ? ROW - t : BURST;
            while (last >= 0 && written < last * ROW + t + n) {
                const int b = bursts.read().data[0];
                written = b + BURST < BEATS ? b + BURST : BEATS;
            }
            for (int kr = 0; kr < G::KR; kr++) {
                const int r = top + kr * G::DR;
                const bool inside = r >= 0 && r < G::H;
                for (int i = 0; i < n; i++) {
                    DFCC_HLS(PIPELINE II=1)
                    vec<T, P> v;
                    if (inside) v = ring[r * ROW + t + i];
                    for (int p = 0; p < P; p++) stage[kr][i][p] = inside ? v.data[p] : pad;
                }
            }
            for (int i = 0; i < n; i++) {
                DFCC_HLS(PIPELINE II=1)
                vec<T, G::KR * P> col;
                for (int kr = 0; kr < G::KR; kr++)
                    for (int p = 0; p < P; p++) col.data[kr * P + p] = stage[kr][i][p];
                out.write(col);
            }
        }
    }
    while (written < BEATS) {
        const int b = bursts.read().data[0];
        written = b + BURST < BEATS ? b + BURST : BEATS;
    }
}

template <class G, int P, typename T>
void column_window(hls::stream<vec<T, G::KR * P> >& in, hls::stream<window<T, G::KR, G::KC, P> >& out, const T pad) {
    constexpr int CB = G::C / P, KCE = G::KCE;
    constexpr int COLS = KCE > 1 ? KCE - 1 : 1;  // no 0-size arrays
    constexpr int RW = COLS * G::KR * P, RB = lane_banks<RW, CB>::N;  // as window.h's window registers
    T regs[RB][CB][RW / RB];  // the previous KCE-1 columns of the KR window rows: element (j*KR + kr)*P + p
    DFCC_HLS(ARRAY_PARTITION variable=regs complete dim=1)
    DFCC_HLS(ARRAY_RESHAPE variable=regs complete dim=3)
    for (int ho = 0; ho < G::HO; ho++) {
        for (int c = 0; c < G::WP; c++) {
            for (int cb = 0; cb < CB; cb++) {
                DFCC_HLS(PIPELINE II=1)
                const bool inside = c >= G::PL && c < G::PL + G::W;
                vec<T, G::KR * P> col;
                if (inside) col = in.read();
                T win[G::KR][KCE][P];  // the window rows' last KCE columns, ending at column c
                DFCC_HLS(ARRAY_PARTITION variable=win complete dim=0)
                for (int kr = 0; kr < G::KR; kr++) {
                    for (int p = 0; p < P; p++) {
                        win[kr][KCE - 1][p] = inside ? col.data[kr * P + p] : pad;
                        for (int j = 0; j < KCE - 1; j++) win[kr][j][p] = lane_at(regs, cb, (j * G::KR + kr) * P + p);
                        for (int j = 0; j < KCE - 1; j++) lane_at(regs, cb, (j * G::KR + kr) * P + p) = win[kr][j + 1][p];
                    }
                }
                const int c0 = c - (KCE - 1);  // window origin
                if (c0 >= 0 && c0 % G::SC == 0) {
                    window<T, G::KR, G::KC, P> w;
                    for (int kr = 0; kr < G::KR; kr++)
                        for (int kc = 0; kc < G::KC; kc++)
                            for (int p = 0; p < P; p++) w.data[kr][kc][p] = win[kr][kc * G::DC][p];
                    out.write(w);
                }
            }
        }
    }
}

// conv.h's conv with its line buffer in DRAM: `ring_wr` and `ring_rd` are two m_axi ports on the same
// buffer of H*W*C/CI beats.
template <class G, int F, int GROUPS, int CI, int CO, int FINE, int BURST, int TOKENS, typename T_in, typename T_w,
          typename T_b, typename T_acc, typename T_out, typename T_mid = T_acc, class MUL = dsp_mul,
          class IP = direct_product, class W, int LO>
void conv_rows(hls::stream<vec<T_in, CI> >& in, hls::stream<vec<T_out, LO> >& out, W& w, const T_b bias[F],
               vec<T_in, CI>* ring_wr, const vec<T_in, CI>* ring_rd) {
    DFCC_HLS(DATAFLOW)
    constexpr int BEATS = G::H * G::W * (G::C / CI);
#ifdef DFCC_BOUNDED_FIFOS
    hls::stream<vec<int, 1> > bursts("bursts", TOKENS);  // the bounded C simulation's FIFO at the pragma's depth
#else
    hls::stream<vec<int, 1> > bursts;
#endif
    DFCC_HLS(STREAM variable=bursts depth=TOKENS)
    hls::stream<vec<T_in, G::KR * CI> > columns;
    hls::stream<window<T_in, G::KR, G::KC, CI> > windows;
    DFCC_TASKS;
    DFCC_TASK(ddr_write<BEATS, BURST>(in, ring_wr, bursts));
    DFCC_TASK(ddr_rows_read<G, CI, BURST>(ring_rd, bursts, columns, T_in(0)));
    DFCC_TASK(column_window<G, CI>(columns, windows, T_in(0)));
    conv_mac<G, F, GROUPS, CI, CO, FINE, 1, T_in, T_w, T_b, T_acc, T_out, T_mid, MUL, IP>(windows, out, w, bias);
}

}  // namespace dfcc

#endif
