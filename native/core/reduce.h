// Sums over contiguous float runs, vectorizable without -ffast-math: eight independent partial
// sums (one 256-bit vector, or two 128-bit ones), so the compiler need not reorder additions.
#ifndef CONVNET_CORE_REDUCE_H_
#define CONVNET_CORE_REDUCE_H_

#include <cstdint>
#include <cstring>

namespace convnet {

// Eight float lanes, lane j accumulating elements i with i % 8 == j. GCC and Clang get them as
// two generic 4-float vectors: left to the auto-vectorizer, the same lane-wise loops come out as
// shuffles and scalar adds, several times slower. Other compilers use the plain loops. Both
// add in the same order, so the results are identical.
#if defined(__GNUC__) || defined(__clang__)
typedef float ReduceVec4 __attribute__((vector_size(16)));

struct Lanes8 {
  ReduceVec4 lo = {0, 0, 0, 0}, hi = {0, 0, 0, 0};

  static Lanes8 load(const float* p) {
    Lanes8 r;
    std::memcpy(&r.lo, p, sizeof(ReduceVec4));
    std::memcpy(&r.hi, p + 4, sizeof(ReduceVec4));
    return r;
  }
  Lanes8& operator+=(const Lanes8& o) {
    lo += o.lo;
    hi += o.hi;
    return *this;
  }
  Lanes8 operator-(float s) const {
    Lanes8 r;
    r.lo = lo - s;
    r.hi = hi - s;
    return r;
  }
  Lanes8 operator*(const Lanes8& o) const {
    Lanes8 r;
    r.lo = lo * o.lo;
    r.hi = hi * o.hi;
    return r;
  }
  // ((l0 + l4) + (l1 + l5)) + ((l2 + l6) + (l3 + l7)).
  float total() const {
    const ReduceVec4 t = lo + hi;
    return (t[0] + t[1]) + (t[2] + t[3]);
  }
};
#else
struct Lanes8 {
  float v[8] = {0, 0, 0, 0, 0, 0, 0, 0};

  static Lanes8 load(const float* p) {
    Lanes8 r;
    for (int j = 0; j < 8; ++j) r.v[j] = p[j];
    return r;
  }
  Lanes8& operator+=(const Lanes8& o) {
    for (int j = 0; j < 8; ++j) v[j] += o.v[j];
    return *this;
  }
  Lanes8 operator-(float s) const {
    Lanes8 r;
    for (int j = 0; j < 8; ++j) r.v[j] = v[j] - s;
    return r;
  }
  Lanes8 operator*(const Lanes8& o) const {
    Lanes8 r;
    for (int j = 0; j < 8; ++j) r.v[j] = v[j] * o.v[j];
    return r;
  }
  float total() const { return ((v[0] + v[4]) + (v[1] + v[5])) + ((v[2] + v[6]) + (v[3] + v[7])); }
};
#endif

// sum of x[0 .. n).
inline float sum_floats(const float* x, int64_t n) {
  Lanes8 acc;
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) acc += Lanes8::load(x + i);
  float s = acc.total();
  for (; i < n; ++i) s += x[i];
  return s;
}

// sum of (x[i] - shift)^2 over [0, n).
inline float sum_squared_deviations(const float* x, int64_t n, float shift) {
  Lanes8 acc;
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const Lanes8 d = Lanes8::load(x + i) - shift;
    acc += d * d;
  }
  float s = acc.total();
  for (; i < n; ++i) {
    const float d = x[i] - shift;
    s += d * d;
  }
  return s;
}

// sum of dy[i] and of dy[i] * (x[i] - shift) over [0, n), in one pass.
inline void sum_and_dot_deviations(const float* dy, const float* x, int64_t n, float shift,
                                   float* sum, float* dot) {
  Lanes8 a, b;
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const Lanes8 g = Lanes8::load(dy + i);
    a += g;
    b += g * (Lanes8::load(x + i) - shift);
  }
  float s = a.total();
  float d = b.total();
  for (; i < n; ++i) {
    s += dy[i];
    d += dy[i] * (x[i] - shift);
  }
  *sum = s;
  *dot = d;
}

}  // namespace convnet

#endif  // CONVNET_CORE_REDUCE_H_
