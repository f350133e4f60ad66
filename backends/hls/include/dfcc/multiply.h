// Where a stage's multipliers are built: DSP blocks (the default), fabric LUTs, or split between them.
//
// explore may give a node `dataflow.mult_impl = "lut"` when DSPs run out; the emitter then passes
// `fabric_mul` as the MAC kernels' MUL parameter, and BIND_OP pins each product to LUTs. With
// `dataflow.dsp_share` as well it passes `split_mul<D>`: the kernels that number their multipliers
// (conv_mac, linear) give each product its lane, lanes 0..D-1 are built as dsp_mul (the tool's
// default: DSPs at these widths) and the others as fabric_mul (a lane is a constant in each unrolled
// copy). The product's value is the same either way (x*w exact for ap_fixed, a float product for float).
#ifndef DFCC_MULTIPLY_H
#define DFCC_MULTIPLY_H

#include "vec.h"

namespace dfcc {

struct dsp_mul {
    template <typename A, typename B>
    static auto mul(const A& a, const B& b) -> decltype(a * b) {
        return a * b;
    }
    template <typename A, typename B>
    static auto mul(int, const A& a, const B& b) -> decltype(a * b) {
        return mul(a, b);
    }
};

struct fabric_mul {
    template <typename A, typename B>
    static auto mul(const A& a, const B& b) -> decltype(a * b) {
        auto product = a * b;
        DFCC_HLS(BIND_OP variable=product op=mul impl=fabric)
        return product;
    }
    template <typename A, typename B>
    static auto mul(int, const A& a, const B& b) -> decltype(a * b) {
        return mul(a, b);
    }
};

template <int D>
struct split_mul {
    template <typename A, typename B>
    static auto mul(int lane, const A& a, const B& b) -> decltype(a * b) {
        return lane < D ? dsp_mul::mul(a, b) : fabric_mul::mul(a, b);
    }
};

}  // namespace dfcc

#endif
