// dfcc/offchip.h -- weights streamed from off-chip memory (AutoWS partial spill, H2PIPE weight delivery).
//
// A MAC kernel (conv.h, linear.h) reads one word of its weight memory per cycle (conv_tiled one per R
// cycles: the reader waits on its full FIFO, never the MAC on it): vec<T_w, WL>, the WL
// weights of that cycle in the kernel's own order (weights.h), WORDS words in address order per
// sweep, SWEEPS sweeps per inference (a conv sweeps once per output pixel, or per
// tile of pixels in conv_tiled; a linear once per row).
// A spilled node keeps words [0, ON) in an on-chip ROM and reads words [ON, WORDS) from DRAM on
// every sweep (AutoWS splits a weight memory by address range); with ON = 0 every word streams.
//
// DRAM layout of the OFF = WORDS - ON streamed words (the host loads it from weights.bin, placed as
// weights.json says): NP arrays of S-bit beats, one m_axi port each. A word's lane l lives on port
// l / LPP; a beat of a port holds K consecutive words' lanes of that port, word slot j's lane l at
// bits (j*LPP + l%LPP)*B .. +B-1, the B-bit code (two's complement bit pattern) of the weight.
// Either NP = 1 and K = S / (WL*B) words share a beat (the reader shifts the next one down), or K = 1
// and a word spans NP ports, or (weight_reader_beats, for a MAC that spends M or more cycles on each
// word: conv_mac_tiled) one port and a word spans M consecutive beats, lane l in beat l / L at bits
// (l%L)*B, L = S/B lanes a beat, so the port and its m_axi adapter are M times narrower.
//
// Delivery, after H2PIPE's deadlock-free weight streaming:
// - No deadlock: weight_reader writes exactly SWEEPS*OFF words, and its consumer (weight_merge or the
//   MAC itself) reads exactly as many in the same order; the reader waits only on DRAM and on a full
//   FIFO, never on anything its consumer produces, so the DATAFLOW region has no cycle of waits. The
//   m_axi adapter issues a read request only when its buffer can take the whole burst
//   (num_read_outstanding x max_read_burst_length beats: credits), so a stalled reader never holds the
//   shared AXI interconnect and cannot block another node's weights.
// - No starvation: the reader is one pipelined loop over all SWEEPS*OFF words (sweeps flattened),
//   so the m_axi requests run `latency` cycles ahead of their data and one word arrives per cycle
//   once the first DRAM latency has passed. weight_merge spreads a sweep's OFF streamed words evenly
//   among its ON on-chip ones, so the MAC drains the FIFO at a steady OFF/(ON+OFF) words a cycle, never
//   faster than the reader fills it. Each port's m_axi adapter buffers num_read_outstanding x
//   max_read_burst_length beats (256 by default, UG1399), more than the bursts in flight during one
//   DRAM latency, so a DRAM stall of up to one latency leaves the reader taking buffered beats; the
//   FIFO from the reader to the MAC only decouples the two loops (depth 2, hardware/offchip.py
//   WEIGHT_FIFO_DEPTH). When the node's share of the DRAM bandwidth is below that rate, the MAC
//   slows to the DRAM's: the estimate's II' = II * BW_total / BW_max (AutoWS).
#ifndef DFCC_OFFCHIP_H
#define DFCC_OFFCHIP_H

#include <ap_int.h>

#include "rom.h"
#include "vec.h"

namespace dfcc {

// beats[P], beats[P+1], ... <- beat i of each remaining port
template <int P, int S, int NP>
inline void fetch_beats(ap_uint<S> (&)[NP], int) {}

template <int P, int S, int NP, typename... More>
inline void fetch_beats(ap_uint<S> (&beats)[NP], int i, const ap_uint<S>* port, More... more) {
    beats[P] = port[i];
    fetch_beats<P + 1>(beats, i, more...);
}

// DRAM -> words: SWEEPS times the OFF words of ceil(OFF / K) beats on each of the NP ports.
template <int SWEEPS, int OFF, int K, int LPP, int B, int S, typename T, typename C, int WL, typename... Ports>
void weight_reader(hls::stream<vec<code<T, C>, WL> >& out, Ports... ports) {
    constexpr int NP = sizeof...(Ports);
    static_assert(NP * LPP >= WL && K * LPP * B <= S, "the words must fit the ports' beats");
    ap_uint<S> beats[NP];
    DFCC_HLS(ARRAY_PARTITION variable=beats complete)
    for (int s = 0; s < SWEEPS; s++) {
        for (int n = 0; n < OFF; n++) {
            DFCC_HLS(PIPELINE II=1)
            if (n % K == 0) fetch_beats<0>(beats, n / K, ports...);
            vec<code<T, C>, WL> word;
            DFCC_HLS(ARRAY_PARTITION variable=word.data complete)
            for (int l = 0; l < WL; l++) {
                const int at = l % LPP * B;
                word.data[l].bits = C(ap_int<B>(beats[l / LPP].range(at + B - 1, at)).to_int64());
            }
            if (K > 1) beats[0] >>= LPP * B;  // the beat's next word to the low bits
            out.write(word);
        }
    }
}

// DRAM -> words: SWEEPS times the OFF words of M beats each on one port (a word every M cycles).
template <int SWEEPS, int OFF, int M, int B, int S, typename T, typename C, int WL>
void weight_reader_beats(hls::stream<vec<code<T, C>, WL> >& out, const ap_uint<S>* port) {
    constexpr int L = S / B;
    static_assert(M * L >= WL && (M - 1) * L < WL, "a word must take exactly M beats");
    vec<code<T, C>, WL> word;
    DFCC_HLS(ARRAY_PARTITION variable=word.data complete)
    for (int s = 0; s < SWEEPS; s++) {
        for (int i = 0; i < OFF * M; i++) {
            DFCC_HLS(PIPELINE II=1)
            const int m = i % M;
            const ap_uint<S> beat = port[i];
            for (int j = 0; j < L; j++) {
                if (m * L + j < WL) word.data[m * L + j].bits = C(ap_int<B>(beat.range(j * B + B - 1, j * B)).to_int64());
            }
            if (m == M - 1) out.write(word);
        }
    }
}

// Words in the MAC's order: per sweep N = ON + OFF words, word d streamed when floor((d+1)*OFF/N) >
// floor(d*OFF/N) (the OFF streamed words spread evenly, kinds/hls_offchip.py streamed_words), the others
// read in turn from the on-chip rom, one packed word a row (the ON x width memory the cost model counts).
// `due` is d*OFF mod N: a word is streamed when adding OFF carries.
template <int SWEEPS, int ON, int OFF, typename T_w, int WL>
void weight_merge(const T_w rom[ON][WL], hls::stream<vec<T_w, WL> >& off, hls::stream<vec<T_w, WL> >& out) {
    DFCC_HLS(ARRAY_RESHAPE variable=rom complete dim=2)
    constexpr int N = ON + OFF;
    for (int s = 0; s < SWEEPS; s++) {
        int due = 0, r = 0;
        for (int d = 0; d < N; d++) {
            DFCC_HLS(PIPELINE II=1)
            vec<T_w, WL> word;
            due += OFF;
            if (due >= N) {
                due -= N;
                word = off.read();
            } else {
                for (int l = 0; l < WL; l++) word.data[l] = rom[r][l];
                r++;
            }
            out.write(word);
        }
    }
}

}  // namespace dfcc

#endif
