// dfcc/rom.h -- constant memories (weights, parameters, lookup tables) of ap_fixed numbers.
//
// A ROM entry code<T, C> holds the integer code (bit pattern) of a T = ap_fixed/ap_ufixed value
// in a plain C integer C, so a header array of them is constant data that g++ compiles as fast
// as an int array (an ap_fixed array initializer costs ~1 ms per element in g++) and that Vitis
// HLS maps to a ROM of T's width. val(x) gives the T value: a reinterpretation of the bits, no
// arithmetic. For float (and any other type) val is the identity, so kernels call val() on every
// weight they read.
#ifndef DFCC_ROM_H
#define DFCC_ROM_H

namespace dfcc {

template <typename T, typename C>
struct code {
    C bits;
};

template <typename T>
inline const T& val(const T& x) {
    return x;
}

template <typename T, typename C>
inline T val(const code<T, C>& x) {
    T v = 0;
    v.range() = x.bits;
    return v;
}

}  // namespace dfcc

#endif
