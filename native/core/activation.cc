#include "activation.h"

#include <cmath>
#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "map_blocks.h"
#include "thread_pool.h"

namespace convnet {
namespace {

// Elementwise work is memory-bound: split only arrays big enough to amortize waking threads.
constexpr int64_t kGrain = 1 << 16;

template <class Fn>
void for_chunks(int64_t n, Fn fn) {
  parallel_range(n, kGrain, fn);
}

inline float bits_to_float(int32_t i) {
  float f;
  std::memcpy(&f, &i, sizeof f);
  return f;
}

// exp(x) within 2 ulp for x in [-87.3, 88.7] (clamped outside), without branches or calls so that
// map_blocks vectorizes it: Cephes' expf, x = n ln2 + r with |r| <= ln2 / 2, a degree-6
// polynomial for exp(r), and 2^n built in the exponent bits.
inline float exp_approx(float x) {
  // Written so that NaN becomes -87.3 (the caller restores it): the conversion to int below must
  // see a number in range.
  x = x > -87.3365448f ? x : -87.3365448f;
  x = x < 88.7228394f ? x : 88.7228394f;
  const float t = x * 1.44269504088896341f + 0.5f;
  int32_t n = static_cast<int32_t>(t);  // truncates; floor below
  n -= static_cast<float>(n) > t ? 1 : 0;
  const float fn = static_cast<float>(n);
  // ln2 in two parts: n * 0.693359375 is exact.
  float r = x - fn * 0.693359375f;
  r -= fn * -2.12194440e-4f;
  const float z = r * r;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float e = p * z + r + 1.0f;
  // n + 127 in [1, 255) for the clamped range, except n = 128 at the very top: split the scale.
  const int32_t half = n >> 1;
  return e * bits_to_float((half + 127) << 23) * bits_to_float((n - half + 127) << 23);
}

// tanh(x) within a few ulp: an odd polynomial below |x| = 0.625 (where 1 - 2 / (e^2x + 1) would
// cancel), 1 - 2 / (e^2|x| + 1) above (Cephes' tanhf), both computed and one selected.
inline float tanh_approx(float x) {
  const float a = x < 0.0f ? -x : x;
  const float e = exp_approx(2.0f * (a > 44.0f ? 44.0f : a));
  float big = 1.0f - 2.0f / (e + 1.0f);
  big = x < 0.0f ? -big : big;
  const float z = x * x;
  float p = -5.70498872745e-3f;
  p = p * z + 2.06390887954e-2f;
  p = p * z - 5.37397155531e-2f;
  p = p * z + 1.33314422036e-1f;
  p = p * z - 3.33332819422e-1f;
  const float small = p * z * x + x;
  return a < 0.625f ? small : big;
}

// NaN in, NaN out: the approximations clamp their input, which would turn NaN into a number.
inline float keep_nan(float v, float r) { return v != v ? v : r; }

#if defined(__SSE2__)
// Four lanes of exp_approx / tanh_approx with SSE2 (the x86-64 baseline): the compiler does not
// vectorize the scalar forms itself (their compares count as control flow under strict IEEE).
inline __m128 exp_approx4(__m128 x) {
  const __m128 one = _mm_set1_ps(1.0f);
  x = _mm_min_ps(_mm_max_ps(x, _mm_set1_ps(-87.3365448f)), _mm_set1_ps(88.7228394f));
  const __m128 t = _mm_add_ps(_mm_mul_ps(x, _mm_set1_ps(1.44269504088896341f)), _mm_set1_ps(0.5f));
  __m128i n = _mm_cvttps_epi32(t);
  __m128 fn = _mm_cvtepi32_ps(n);
  const __m128 over = _mm_cmpgt_ps(fn, t);  // truncation rounded up: floor is one less
  n = _mm_add_epi32(n, _mm_castps_si128(over));
  fn = _mm_sub_ps(fn, _mm_and_ps(over, one));
  __m128 r = _mm_sub_ps(x, _mm_mul_ps(fn, _mm_set1_ps(0.693359375f)));
  r = _mm_sub_ps(r, _mm_mul_ps(fn, _mm_set1_ps(-2.12194440e-4f)));
  const __m128 z = _mm_mul_ps(r, r);
  __m128 p = _mm_set1_ps(1.9875691500e-4f);
  p = _mm_add_ps(_mm_mul_ps(p, r), _mm_set1_ps(1.3981999507e-3f));
  p = _mm_add_ps(_mm_mul_ps(p, r), _mm_set1_ps(8.3334519073e-3f));
  p = _mm_add_ps(_mm_mul_ps(p, r), _mm_set1_ps(4.1665795894e-2f));
  p = _mm_add_ps(_mm_mul_ps(p, r), _mm_set1_ps(1.6666665459e-1f));
  p = _mm_add_ps(_mm_mul_ps(p, r), _mm_set1_ps(5.0000001201e-1f));
  const __m128 e = _mm_add_ps(_mm_add_ps(_mm_mul_ps(p, z), r), one);
  const __m128i half = _mm_srai_epi32(n, 1);
  const __m128i bias = _mm_set1_epi32(127);
  const __m128 s1 = _mm_castsi128_ps(_mm_slli_epi32(_mm_add_epi32(half, bias), 23));
  const __m128 s2 =
      _mm_castsi128_ps(_mm_slli_epi32(_mm_add_epi32(_mm_sub_epi32(n, half), bias), 23));
  return _mm_mul_ps(_mm_mul_ps(e, s1), s2);
}

inline __m128 keep_nan4(__m128 v, __m128 r) {
  const __m128 nan = _mm_cmpunord_ps(v, v);
  return _mm_or_ps(_mm_and_ps(nan, v), _mm_andnot_ps(nan, r));
}

inline __m128 sigmoid4(__m128 v) {
  const __m128 one = _mm_set1_ps(1.0f);
  const __m128 e = exp_approx4(_mm_sub_ps(_mm_setzero_ps(), v));
  return keep_nan4(v, _mm_div_ps(one, _mm_add_ps(one, e)));
}

inline __m128 tanh4(__m128 x) {
  const __m128 one = _mm_set1_ps(1.0f);
  const __m128 sign = _mm_set1_ps(-0.0f);
  const __m128 a = _mm_andnot_ps(sign, x);
  const __m128 e =
      exp_approx4(_mm_add_ps(_mm_min_ps(a, _mm_set1_ps(44.0f)), _mm_min_ps(a, _mm_set1_ps(44.0f))));
  __m128 big = _mm_sub_ps(one, _mm_div_ps(_mm_set1_ps(2.0f), _mm_add_ps(e, one)));
  big = _mm_or_ps(big, _mm_and_ps(sign, x));
  const __m128 z = _mm_mul_ps(x, x);
  __m128 p = _mm_set1_ps(-5.70498872745e-3f);
  p = _mm_add_ps(_mm_mul_ps(p, z), _mm_set1_ps(2.06390887954e-2f));
  p = _mm_add_ps(_mm_mul_ps(p, z), _mm_set1_ps(-5.37397155531e-2f));
  p = _mm_add_ps(_mm_mul_ps(p, z), _mm_set1_ps(1.33314422036e-1f));
  p = _mm_add_ps(_mm_mul_ps(p, z), _mm_set1_ps(-3.33332819422e-1f));
  const __m128 small = _mm_add_ps(_mm_mul_ps(_mm_mul_ps(p, z), x), x);
  const __m128 use_small = _mm_cmplt_ps(a, _mm_set1_ps(0.625f));
  return keep_nan4(x, _mm_or_ps(_mm_and_ps(use_small, small), _mm_andnot_ps(use_small, big)));
}
#endif

// y[i] = f(x[i]) over [b, e): four lanes at a time where SSE2 is available, f1 for the rest.
template <class F4, class F1>
inline void map_approx(int64_t b, int64_t e, const float* x, float* y, F4 f4, F1 f1) {
  int64_t i = b;
#if defined(__SSE2__)
  for (; i + 4 <= e; i += 4) _mm_storeu_ps(y + i, f4(_mm_loadu_ps(x + i)));
#else
  (void)f4;
#endif
  for (; i < e; ++i) y[i] = f1(x[i]);
}

}  // namespace

void relu(int64_t n, const float* x, float* y) {
  for_chunks(n, [&](int64_t b, int64_t e) {
    // NaN is kept, as in PyTorch.
    map_blocks(b, e, y, [&](int64_t i) {
      const float v = x[i];
      return v < 0.0f ? 0.0f : v;
    });
  });
}

void relu_backward(int64_t n, const float* x, const float* dy, float* dx) {
  for_chunks(n, [&](int64_t b, int64_t e) {
    map_blocks(b, e, dx, [&](int64_t i) {
      const float g = dy[i];
      return x[i] > 0.0f ? g : 0.0f;
    });
  });
}

void leaky_relu(int64_t n, const float* x, float* y, float slope) {
  for_chunks(n, [&](int64_t b, int64_t e) {
    map_blocks(b, e, y, [&](int64_t i) {
      const float v = x[i];
      return v < 0.0f ? v * slope : v;
    });
  });
}

void leaky_relu_backward(int64_t n, const float* x, const float* dy, float* dx, float slope) {
  for_chunks(n, [&](int64_t b, int64_t e) {
    map_blocks(b, e, dx, [&](int64_t i) {
      const float g = dy[i];
      return x[i] > 0.0f ? g : g * slope;
    });
  });
}

void sigmoid(int64_t n, const float* x, float* y) {
  // 1 / (1 + e^-x) keeps its relative precision on both tails.
  auto one = [](float v) { return keep_nan(v, 1.0f / (1.0f + exp_approx(-v))); };
#if defined(__SSE2__)
  auto four = [](__m128 v) { return sigmoid4(v); };
#else
  auto four = 0;
#endif
  for_chunks(n, [&](int64_t b, int64_t e) { map_approx(b, e, x, y, four, one); });
}

void sigmoid_backward(int64_t n, const float* y, const float* dy, float* dx) {
  for_chunks(n, [&](int64_t b, int64_t e) {
    map_blocks(b, e, dx, [&](int64_t i) { return dy[i] * y[i] * (1.0f - y[i]); });
  });
}

void tanh_forward(int64_t n, const float* x, float* y) {
  auto one = [](float v) { return keep_nan(v, tanh_approx(v)); };
#if defined(__SSE2__)
  auto four = [](__m128 v) { return tanh4(v); };
#else
  auto four = 0;
#endif
  for_chunks(n, [&](int64_t b, int64_t e) { map_approx(b, e, x, y, four, one); });
}

void tanh_backward(int64_t n, const float* y, const float* dy, float* dx) {
  for_chunks(n, [&](int64_t b, int64_t e) {
    map_blocks(b, e, dx, [&](int64_t i) { return dy[i] * (1.0f - y[i] * y[i]); });
  });
}

}  // namespace convnet
