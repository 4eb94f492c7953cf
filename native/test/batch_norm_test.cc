// Batch normalization, global average pooling and add/axpy against straightforward double loops,
// at 1 to 3 threads (every path split over threads at 2 and 3).
#include <cmath>
#include <string>
#include <vector>

#include "../core/activation.h"
#include "../core/batch_norm.h"
#include "../core/elementwise.h"
#include "../core/pool2d.h"
#include "../core/thread_pool.h"
#include "reference.h"
#include "test_framework.h"

using convnet_test::compare;
using convnet_test::random_vector;

namespace {

struct Stats {
  std::vector<double> mean, var, y;
};

// Mean, biased variance and normalized output of each channel, from the definition.
Stats reference_training(const convnet::BiasShape& s, const std::vector<float>& x,
                         const std::vector<float>& gamma, const std::vector<float>& beta,
                         double eps) {
  Stats st{std::vector<double>(s.channels), std::vector<double>(s.channels),
           std::vector<double>(x.size())};
  const double m = double(s.outer * s.inner);
  for (int64_t c = 0; c < s.channels; ++c) {
    double sum = 0;
    for (int64_t o = 0; o < s.outer; ++o)
      for (int64_t i = 0; i < s.inner; ++i) sum += x[(o * s.channels + c) * s.inner + i];
    const double mu = sum / m;
    double sq = 0;
    for (int64_t o = 0; o < s.outer; ++o)
      for (int64_t i = 0; i < s.inner; ++i) {
        const double d = x[(o * s.channels + c) * s.inner + i] - mu;
        sq += d * d;
      }
    st.mean[c] = mu;
    st.var[c] = sq / m;
    for (int64_t o = 0; o < s.outer; ++o)
      for (int64_t i = 0; i < s.inner; ++i) {
        const int64_t j = (o * s.channels + c) * s.inner + i;
        st.y[j] = (x[j] - mu) / std::sqrt(st.var[c] + eps) * gamma[c] + beta[c];
      }
  }
  return st;
}

void check_shape(const convnet::BiasShape& s, uint32_t seed) {
  const int64_t n = s.outer * s.channels * s.inner, m = s.outer * s.inner;
  const std::vector<float> x = random_vector(n, seed, -2.0f, 3.0f);
  const std::vector<float> gamma = random_vector(s.channels, seed + 1, 0.5f, 1.5f);
  const std::vector<float> beta = random_vector(s.channels, seed + 2);
  const std::vector<float> dy = random_vector(n, seed + 3);
  const float eps = 1e-5f, momentum = 0.25f;
  const Stats ref = reference_training(s, x, gamma, beta, eps);
  const std::string where = "shape " + std::to_string(s.outer) + "x" + std::to_string(s.channels) +
                            "x" + std::to_string(s.inner) + ": ";

  std::vector<float> y(n), mean(s.channels), inv_std(s.channels);
  std::vector<float> rm(s.channels, 0.5f), rv(s.channels, 2.0f);
  convnet::batch_norm_training(s, eps, momentum, x.data(), gamma.data(), beta.data(), y.data(),
                               mean.data(), inv_std.data(), rm.data(), rv.data());
  std::vector<double> want_inv(s.channels), want_rm(s.channels), want_rv(s.channels);
  for (int64_t c = 0; c < s.channels; ++c) {
    want_inv[c] = 1.0 / std::sqrt(ref.var[c] + eps);
    want_rm[c] = 0.75 * 0.5 + 0.25 * ref.mean[c];
    want_rv[c] = 0.75 * 2.0 + 0.25 * ref.var[c] * m / (m - 1);
  }
  EXPECT_MSG(compare(y, ref.y, 1e-5, 1e-4).empty(), where + "y " + compare(y, ref.y, 1e-5, 1e-4));
  EXPECT_MSG(compare(mean, ref.mean, 1e-6, 1e-5).empty(), where + "mean");
  EXPECT_MSG(compare(inv_std, want_inv, 1e-6, 1e-5).empty(), where + "inv_std");
  EXPECT_MSG(compare(rm, want_rm, 1e-6, 1e-5).empty(), where + "running_mean");
  EXPECT_MSG(compare(rv, want_rv, 1e-6, 1e-5).empty(), where + "running_var");

  // In place, without running statistics.
  std::vector<float> z = x;
  convnet::batch_norm_training(s, eps, momentum, z.data(), gamma.data(), beta.data(), z.data(),
                               mean.data(), inv_std.data(), nullptr, nullptr);
  EXPECT_MSG(compare(z, ref.y, 1e-5, 1e-4).empty(), where + "y in place");

  // Backward: dbeta = sum dy, dgamma = sum dy * xhat, dx from the closed form in double.
  std::vector<double> want_dx(n), want_dg(s.channels, 0.0), want_db(s.channels, 0.0);
  for (int64_t j = 0; j < n; ++j) {
    const int64_t c = (j / s.inner) % s.channels;
    want_db[c] += dy[j];
    want_dg[c] += dy[j] * (x[j] - ref.mean[c]) * want_inv[c];
  }
  for (int64_t j = 0; j < n; ++j) {
    const int64_t c = (j / s.inner) % s.channels;
    const double xhat = (x[j] - ref.mean[c]) * want_inv[c];
    want_dx[j] = gamma[c] * want_inv[c] * (dy[j] - want_db[c] / m - xhat * want_dg[c] / m);
  }
  std::vector<float> dx(n), dg(s.channels), db(s.channels);
  convnet::batch_norm_backward(s, true, x.data(), dy.data(), mean.data(), inv_std.data(),
                               gamma.data(), dx.data(), dg.data(), db.data());
  EXPECT_MSG(compare(dx, want_dx, 1e-4, 1e-3).empty(),
             where + "dx " + compare(dx, want_dx, 1e-4, 1e-3));
  EXPECT_MSG(compare(dg, want_dg, 1e-4, 1e-4).empty(), where + "dgamma");
  EXPECT_MSG(compare(db, want_db, 1e-4, 1e-4).empty(), where + "dbeta");

  // Inference and its backward (fixed statistics: dx = gamma * inv_std * dy).
  std::vector<float> iy(n);
  convnet::batch_norm_inference(s, eps, x.data(), gamma.data(), beta.data(), rm.data(), rv.data(),
                                iy.data());
  std::vector<double> want_iy(n), want_idx(n);
  std::vector<float> run_inv(s.channels);
  for (int64_t c = 0; c < s.channels; ++c) run_inv[c] = float(1.0 / std::sqrt(rv[c] + eps));
  for (int64_t j = 0; j < n; ++j) {
    const int64_t c = (j / s.inner) % s.channels;
    want_iy[j] = (x[j] - rm[c]) / std::sqrt(double(rv[c]) + eps) * gamma[c] + beta[c];
    want_idx[j] = gamma[c] * double(run_inv[c]) * dy[j];
  }
  EXPECT_MSG(compare(iy, want_iy, 1e-5, 1e-5).empty(), where + "inference y");
  std::vector<float> idx = dy;  // in place: dx = dy
  convnet::batch_norm_backward(s, false, x.data(), idx.data(), rm.data(), run_inv.data(),
                               gamma.data(), idx.data(), nullptr, nullptr);
  EXPECT_MSG(compare(idx, want_idx, 1e-6, 1e-5).empty(), where + "inference dx");
}

}  // namespace

TEST(batch_norm_matches_reference_1_to_3_threads) {
  convnet::ThreadPool& pool = convnet::ThreadPool::global();
  const int saved = pool.num_threads();
  for (int threads = 1; threads <= 3; ++threads) {
    pool.set_num_threads(threads);
    check_shape({2, 3, 5}, 1000);
    check_shape({7, 4, 1}, 1010);
    check_shape({3, 1000, 50}, 1020);  // NCHW path, split over threads
    check_shape({64, 2000, 1}, 1030);  // [N, C] path, split over threads
  }
  pool.set_num_threads(saved);
}

namespace {

// The fused epilogue (+ residual, ReLU) and its backward give exactly what the separate kernels
// give: batch norm, add, relu; relu_backward, then batch norm's backward on the masked gradient.
void check_fused_matches_separate(const convnet::BiasShape& s, uint32_t seed) {
  const int64_t n = s.outer * s.channels * s.inner;
  std::vector<float> x = random_vector(n, seed, -2.0f, 3.0f);
  const std::vector<float> r = random_vector(n, seed + 1, -1.0f, 1.0f);
  const std::vector<float> gamma = random_vector(s.channels, seed + 2, 0.5f, 1.5f);
  const std::vector<float> beta = random_vector(s.channels, seed + 3);
  const std::vector<float> dy = random_vector(n, seed + 4);
  for (int64_t i = 0; i < n; i += 7) x[i] = 0.0f;  // ties in every channel
  const std::string where = "fused shape " + std::to_string(s.outer) + "x" +
                            std::to_string(s.channels) + "x" + std::to_string(s.inner) + ": ";
  for (const bool with_residual : {false, true}) {
    std::vector<float> mean(s.channels), inv_std(s.channels), rm(s.channels, 0.5f),
        rv(s.channels, 2.0f);
    std::vector<float> bn(n), sum(n), y(n);
    convnet::batch_norm_training(s, 1e-5f, 0.1f, x.data(), gamma.data(), beta.data(), bn.data(),
                                 mean.data(), inv_std.data(), rm.data(), rv.data());
    const float* pre = bn.data();
    if (with_residual) {
      convnet::add(n, bn.data(), r.data(), sum.data());
      pre = sum.data();
    }
    convnet::relu(n, pre, y.data());
    std::vector<float> g(n), dx(n), dg(s.channels), db(s.channels);
    convnet::relu_backward(n, pre, dy.data(), g.data());
    convnet::batch_norm_backward(s, true, x.data(), g.data(), mean.data(), inv_std.data(),
                                 gamma.data(), dx.data(), dg.data(), db.data());

    std::vector<float> fmean(s.channels), finv(s.channels), frm(s.channels, 0.5f),
        frv(s.channels, 2.0f), fy(n);
    convnet::BatchNormEpilogue e;
    e.residual = with_residual ? r.data() : nullptr;
    e.relu = true;
    convnet::batch_norm_training(s, 1e-5f, 0.1f, x.data(), gamma.data(), beta.data(), fy.data(),
                                 fmean.data(), finv.data(), frm.data(), frv.data(), e);
    const std::string w = where + (with_residual ? "residual: " : "no residual: ");
    EXPECT_MSG(fy == y, w + "y");
    EXPECT_MSG(fmean == mean && finv == inv_std, w + "statistics");
    EXPECT_MSG(frm == rm && frv == rv, w + "running statistics");
    std::vector<float> fdx(n), fdg(s.channels), fdb(s.channels), fdr(n);
    convnet::BatchNormBackwardEpilogue be;
    be.relu_out = fy.data();
    be.dresidual = with_residual ? fdr.data() : nullptr;
    convnet::batch_norm_backward(s, true, x.data(), dy.data(), fmean.data(), finv.data(),
                                 gamma.data(), fdx.data(), fdg.data(), fdb.data(), be);
    EXPECT_MSG(fdx == dx, w + "dx");
    EXPECT_MSG(fdg == dg && fdb == db, w + "dgamma, dbeta");
    if (with_residual) EXPECT_MSG(fdr == g, w + "dresidual");
    // Only the residual's gradient (no dx, no parameter gradients): dresidual still written.
    std::vector<float> only(n, -7.0f);
    be.dresidual = only.data();
    convnet::batch_norm_backward(s, false, x.data(), dy.data(), fmean.data(), finv.data(),
                                 gamma.data(), nullptr, nullptr, nullptr, be);
    EXPECT_MSG(only == g, w + "dresidual alone");
  }
}

}  // namespace

TEST(batch_norm_fused_epilogue_matches_separate_kernels_1_to_3_threads) {
  convnet::ThreadPool& pool = convnet::ThreadPool::global();
  const int saved = pool.num_threads();
  for (int threads = 1; threads <= 3; ++threads) {
    pool.set_num_threads(threads);
    check_fused_matches_separate({2, 3, 5}, 2000);
    check_fused_matches_separate({7, 4, 1}, 2010);      // [N, C] path
    check_fused_matches_separate({3, 1000, 50}, 2020);  // blocks of channels, split over threads
    check_fused_matches_separate({1, 37, 1031}, 2030);  // batch 1, rows longer than a block
    check_fused_matches_separate({64, 2000, 1}, 2040);  // [N, C] path, split over threads
  }
  pool.set_num_threads(saved);
}

TEST(global_avg_pool_add_axpy) {
  convnet::ThreadPool& pool = convnet::ThreadPool::global();
  const int saved = pool.num_threads();
  for (int threads = 1; threads <= 3; ++threads) {
    pool.set_num_threads(threads);
    const int64_t planes = 3000, size = 49;
    const std::vector<float> x = random_vector(planes * size, 1100);
    std::vector<float> y(planes);
    convnet::global_avg_pool(planes, size, x.data(), y.data());
    std::vector<double> want(planes, 0.0);
    for (int64_t i = 0; i < planes * size; ++i) want[i / size] += x[i] / double(size);
    EXPECT(compare(y, want, 1e-6, 1e-5).empty());
    std::vector<float> dx(planes * size);
    convnet::global_avg_pool_backward(planes, size, y.data(), dx.data());
    std::vector<double> want_dx(planes * size);
    for (int64_t i = 0; i < planes * size; ++i) want_dx[i] = double(y[i / size] / float(size));
    EXPECT(compare(dx, want_dx, 0, 0).empty());

    const int64_t n = 200003;
    const std::vector<float> a = random_vector(n, 1101), b = random_vector(n, 1102);
    std::vector<float> out(n), acc = b;
    convnet::add(n, a.data(), b.data(), out.data());
    convnet::axpy(n, -0.5f, a.data(), acc.data());
    std::vector<double> want_add(n), want_axpy(n);
    for (int64_t i = 0; i < n; ++i) {
      want_add[i] = double(a[i] + b[i]);
      want_axpy[i] = double(b[i]) - 0.5 * a[i];
    }
    EXPECT(compare(out, want_add, 0, 0).empty());
    EXPECT(compare(acc, want_axpy, 1e-7, 1e-6).empty());
    convnet::add(n, out.data(), b.data(), out.data());  // in place
    for (int64_t i = 0; i < n; ++i) want_add[i] = double((a[i] + b[i]) + b[i]);
    EXPECT(compare(out, want_add, 0, 0).empty());
  }
  pool.set_num_threads(saved);
}
