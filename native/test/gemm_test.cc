#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "../core/gemm.h"
#include "../core/kernel_config.h"
#include "../core/thread_pool.h"
#include "reference.h"
#include "test_framework.h"

using convnet::gemm_with_config;
using convnet::KernelConfig;
using convnet_test::compare;
using convnet_test::random_vector;

namespace {

struct Case {
  int64_t m, n, k;
};

// Runs one GEMM with every transpose combination, leading dimensions wider than the matrices,
// and checks it against the reference loop. NaN in C must not leak through when beta == 0.
void check_gemm(const KernelConfig& cfg, const Case& cs, float alpha, float beta, uint32_t seed) {
  for (int ta = 0; ta < 2; ++ta) {
    for (int tb = 0; tb < 2; ++tb) {
      const int64_t a_rows = ta ? cs.k : cs.m, a_cols = ta ? cs.m : cs.k;
      const int64_t b_rows = tb ? cs.n : cs.k, b_cols = tb ? cs.k : cs.n;
      const int64_t lda = a_cols + 3, ldb = b_cols + 1, ldc = cs.n + 2;
      const std::vector<float> a = random_vector(a_rows * lda, seed);
      const std::vector<float> b = random_vector(b_rows * ldb, seed + 1);
      std::vector<float> c = random_vector(cs.m * ldc, seed + 2);
      if (beta == 0.0f) {
        for (size_t i = 0; i < c.size(); i += 3) c[i] = std::numeric_limits<float>::quiet_NaN();
      }
      std::vector<double> want, scale;
      convnet_test::gemm_reference(ta, tb, cs.m, cs.n, cs.k, alpha, a, lda, b, ldb, beta, c, ldc,
                                   &want, &scale);
      // Padding columns of C (j >= n) must be untouched.
      for (int64_t i = 0; i < cs.m; ++i) {
        for (int64_t j = cs.n; j < ldc; ++j) scale[i * ldc + j] = 0.0;
      }
      gemm_with_config(cfg, ta, tb, cs.m, cs.n, cs.k, alpha, a.data(), lda, b.data(), ldb, beta,
                       c.data(), ldc);
      // NaN padding stays NaN in both, which compare() treats as a mismatch: patch it.
      for (int64_t i = 0; i < cs.m; ++i) {
        for (int64_t j = cs.n; j < ldc; ++j) {
          if (std::isnan(c[i * ldc + j]) && std::isnan(want[i * ldc + j])) {
            c[i * ldc + j] = 0.0f;
            want[i * ldc + j] = 0.0;
          }
        }
      }
      const std::string err = compare(c, want, 1e-6, 2e-6 * double(cs.k + 4), &scale);
      EXPECT_MSG(err.empty(), std::string(convnet::isa_name(cfg.isa)) + " m" +
                                  std::to_string(cs.m) + " n" + std::to_string(cs.n) + " k" +
                                  std::to_string(cs.k) + " ta" + std::to_string(ta) + " tb" +
                                  std::to_string(tb) + " alpha" + std::to_string(alpha) + " beta" +
                                  std::to_string(beta) + ": " + err);
    }
  }
}

const Case kCases[] = {
    {1, 1, 1},
    {1, 7, 3},
    {5, 3, 1},
    {6, 16, 8},
    {7, 17, 9},
    {4, 8, 4},
    {8, 8, 8},
    {13, 33, 300},
    {31, 5, 64},
    {1, 100, 37},
    {100, 1, 37},
    {67, 45, 513},
    {200, 70, 20},
    {170, 19, 5},
    {9, 4100, 3},
    {50, 50, 257},
    // Packed A and B over several depth blocks, with edge tiles; A read in place (B of at most
    // 4 panels) over several depth blocks; gathers whose depth is not a multiple of 8.
    {100, 200, 300},
    {37, 70, 600},
    {130, 40, 700},
    {11, 100, 13},
    {61, 66, 7},
};

}  // namespace

TEST(gemm_every_isa_transpose_and_odd_size) {
  uint32_t seed = 1;
  for (convnet::Isa isa : convnet::available_isas()) {
    const KernelConfig& cfg = *convnet::kernel_config_for(isa);
    for (const Case& cs : kCases) check_gemm(cfg, cs, 1.0f, 0.0f, seed += 7);
    check_gemm(cfg, {23, 29, 31}, 0.5f, 2.0f, seed += 7);
    check_gemm(cfg, {23, 29, 300}, -1.5f, 1.0f, seed += 7);
    check_gemm(cfg, {6, 16, 5}, 1.0f, -0.5f, seed += 7);
  }
}

TEST(gemm_degenerate_k_and_alpha) {
  const KernelConfig& cfg = convnet::active_kernel_config();
  std::vector<float> a(12, 1.0f), b(12, 1.0f), c(12, 2.0f);
  gemm_with_config(cfg, false, false, 3, 4, 0, 1.0f, a.data(), 1, b.data(), 4, 0.5f, c.data(), 4);
  for (float v : c) EXPECT(v == 1.0f);
  c.assign(12, std::numeric_limits<float>::quiet_NaN());
  gemm_with_config(cfg, false, false, 3, 4, 3, 0.0f, a.data(), 3, b.data(), 4, 0.0f, c.data(), 4);
  for (float v : c) EXPECT(v == 0.0f);
}

// Each tile is computed by one task with a fixed k order, so the result is bit-identical for
// any thread count.
TEST(gemm_threads_1_to_4_identical) {
  convnet::ThreadPool& pool = convnet::ThreadPool::global();
  const int saved = pool.num_threads();
  // Threads split the rows (tall), the columns (wide), both (square), with A packed or read in
  // place (at most 4 panels of B).
  const Case shapes[] = {{203, 181, 300}, {40, 700, 300}, {500, 40, 300}, {300, 300, 40}};
  for (convnet::Isa isa : convnet::available_isas()) {
    for (const Case& shape : shapes) {
      const KernelConfig& cfg = *convnet::kernel_config_for(isa);
      const int64_t m = shape.m, n = shape.n, k = shape.k;
      const std::vector<float> a = random_vector(m * k, 11), b = random_vector(k * n, 12);
      std::vector<float> first;
      for (int threads = 1; threads <= 4; ++threads) {
        pool.set_num_threads(threads);
        std::vector<float> c(m * n, 0.0f);
        gemm_with_config(cfg, false, true, m, n, k, 1.0f, a.data(), k, b.data(), k, 0.0f, c.data(),
                         n);
        if (threads == 1) {
          first = c;
          std::vector<double> want, scale;
          convnet_test::gemm_reference(false, true, m, n, k, 1.0, a, k, b, k, 0.0, c, n, &want,
                                       &scale);
          const std::string err = compare(c, want, 1e-6, 1e-5 * k, &scale);
          EXPECT_MSG(err.empty(), err);
        } else {
          EXPECT_MSG(std::memcmp(c.data(), first.data(), c.size() * sizeof(float)) == 0,
                     std::string(convnet::isa_name(isa)) + " " + std::to_string(m) + "x" +
                         std::to_string(n) + "x" + std::to_string(k) + ": result differs with " +
                         std::to_string(threads) + " threads");
        }
      }
    }
  }
  pool.set_num_threads(saved);
}
