// Text I/O for the kernel test drivers: values travel as decimal doubles (exact for every
// ap_fixed up to 53 bits and every float), streams as their flat channels-last element order.
#ifndef DFCC_TEST_HARNESS_H
#define DFCC_TEST_HARNESS_H

#include <cstdio>
#include <cstdlib>
#include <ap_fixed.h>
#include <dfcc/vec.h>

template <typename T>
T read_value() {
    double v;
    if (std::scanf("%lf", &v) != 1) std::exit(3);
    return T(v);
}

inline double to_double(float v) { return v; }
template <typename T>
double to_double(const T& v) { return v.to_double(); }

template <typename T, int P>
void feed(hls::stream<dfcc::vec<T, P> >& s, int beats) {
    for (int i = 0; i < beats; i++) {
        dfcc::vec<T, P> x;
        for (int p = 0; p < P; p++) x.data[p] = read_value<T>();
        s.write(x);
    }
}

template <typename T>
void fill(T* a, int n) {
    for (int i = 0; i < n; i++) a[i] = read_value<T>();
}

// Prints every beat left in the stream; the test checks the count.
template <typename T, int P>
void drain(hls::stream<dfcc::vec<T, P> >& s) {
    while (!s.empty()) {
        dfcc::vec<T, P> x = s.read();
        for (int p = 0; p < P; p++) std::printf("%.17g\n", to_double(x.data[p]));
    }
}

#endif
