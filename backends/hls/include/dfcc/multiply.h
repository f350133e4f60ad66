// Where a stage's multipliers are built: DSP blocks (the default) or fabric LUTs.
//
// explore may give a node `dataflow.mult_impl = "lut"` when DSPs run out; the emitter then passes
// `fabric_mul` as the MAC kernels' MUL parameter, and BIND_OP pins each product to LUTs. The
// product's value is the same either way (x*w exact for ap_fixed, a float product for float).
#ifndef DFCC_MULTIPLY_H
#define DFCC_MULTIPLY_H

#include "vec.h"

namespace dfcc {

struct dsp_mul {
    template <typename A, typename B>
    static auto mul(const A& a, const B& b) -> decltype(a * b) {
        return a * b;
    }
};

struct fabric_mul {
    template <typename A, typename B>
    static auto mul(const A& a, const B& b) -> decltype(a * b) {
        auto product = a * b;
        DFCC_HLS(BIND_OP variable=product op=mul impl=fabric)
        return product;
    }
};

}  // namespace dfcc

#endif
