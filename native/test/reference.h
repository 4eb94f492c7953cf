// Naive reference loops (double accumulation) and helpers the tests compare against.
#ifndef CONVNET_TEST_REFERENCE_H_
#define CONVNET_TEST_REFERENCE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "../core/conv2d.h"
#include "../core/pool2d.h"

namespace convnet_test {

// Deterministic uniform values in [lo, hi).
std::vector<float> random_vector(int64_t n, uint32_t seed, float lo = -1.0f, float hi = 1.0f);

// Max over i of |got - want| / (atol + rtol * |scale_i|) <= 1, where scale defaults to want.
// Returns "" when close, else a description of the worst element.
std::string compare(const std::vector<float>& got, const std::vector<double>& want, double atol,
                    double rtol, const std::vector<double>* scale = nullptr);

// C = alpha * op(A) * op(B) + beta * C (beta == 0 ignores C). abs_sum receives
// |alpha| * sum |a_ip b_pj| + |beta c_ij| for the error bound.
void gemm_reference(bool ta, bool tb, int64_t m, int64_t n, int64_t k, double alpha,
                    const std::vector<float>& a, int64_t lda, const std::vector<float>& b,
                    int64_t ldb, double beta, const std::vector<float>& c, int64_t ldc,
                    std::vector<double>* out, std::vector<double>* abs_sum);

void conv2d_reference(const convnet::Conv2dShape& s, const std::vector<float>& x,
                      const std::vector<float>& w, const float* bias, std::vector<double>* y);
void conv2d_backward_input_reference(const convnet::Conv2dShape& s, const std::vector<float>& dy,
                                     const std::vector<float>& w, std::vector<double>* dx);
void conv2d_backward_weight_reference(const convnet::Conv2dShape& s, const std::vector<float>& x,
                                      const std::vector<float>& dy, std::vector<double>* dw,
                                      std::vector<double>* dbias);

void max_pool2d_reference(const convnet::Pool2dShape& s, const std::vector<float>& x,
                          std::vector<double>* y, std::vector<int32_t>* argmax);
void avg_pool2d_reference(const convnet::Pool2dShape& s, const std::vector<float>& x,
                          std::vector<double>* y);
void avg_pool2d_backward_reference(const convnet::Pool2dShape& s, const std::vector<float>& dy,
                                   std::vector<double>* dx);

int64_t conv_out_size(int64_t in, int64_t k, int64_t stride, int64_t pad, int64_t dilation);
std::string describe(const convnet::Conv2dShape& s);

}  // namespace convnet_test

#endif  // CONVNET_TEST_REFERENCE_H_
