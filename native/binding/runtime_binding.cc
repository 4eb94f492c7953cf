#include "runtime_binding.h"

#include <cmath>
#include <string>

#include "../core/conv2d_winograd.h"
#include "../core/fma_peak.h"
#include "../core/kernel_config.h"
#include "../core/thread_pool.h"
#include "arguments.h"

namespace convnet::binding {
namespace {

constexpr int kMaxThreads = 1024;

std::string available_list() {
  std::string list;
  for (Isa isa : available_isas()) {
    if (!list.empty()) list += ", ";
    list += isa_name(isa);
  }
  return list;
}

Napi::Value GetIsa(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), isa_name(active_kernel_config().isa));
}

Napi::Value AvailableIsas(const Napi::CallbackInfo& info) {
  const std::vector<Isa> isas = available_isas();
  Napi::Array out = Napi::Array::New(info.Env(), isas.size());
  for (size_t i = 0; i < isas.size(); ++i) out.Set(uint32_t(i), isa_name(isas[i]));
  return out;
}

Napi::Value SetIsa(const Napi::CallbackInfo& info) {
  const char* fn = "setIsa";
  Napi::Env env = info.Env();
  if (!info[0].IsString()) {
    throw_type_error(env,
                     std::string(fn) + ": isa must be a string, got " + describe(env, info[0]));
  }
  const std::string name = info[0].As<Napi::String>().Utf8Value();
  const std::optional<Isa> isa = parse_isa(name);
  if (!isa) {
    throw_range_error(env, std::string(fn) + ": unknown instruction set '" + name +
                               "' (known: scalar, sse2, avx2, neon)");
  }
  if (!set_active_isa(*isa)) {
    throw Napi::Error::New(
        env, std::string(fn) + ": instruction set '" + name +
                 "' is not supported by this CPU or build (available: " + available_list() + ")");
  }
  return env.Undefined();
}

// setConvAlgo('auto' | 'direct' | 'winograd'): whether 3x3 stride-1 convolutions may use
// Winograd (CONVNET_CONV_ALGO, applied at load).
Napi::Value SetConvAlgo(const Napi::CallbackInfo& info) {
  const char* fn = "setConvAlgo";
  Napi::Env env = info.Env();
  if (!info[0].IsString()) {
    throw_type_error(env,
                     std::string(fn) + ": algo must be a string, got " + describe(env, info[0]));
  }
  const std::string name = info[0].As<Napi::String>().Utf8Value();
  const std::optional<ConvAlgo> algo = parse_conv_algo(name);
  if (!algo) {
    throw_range_error(
        env, std::string(fn) + ": algo must be one of auto, direct, winograd, got '" + name + "'");
  }
  set_conv_algo(*algo);
  return env.Undefined();
}

Napi::Value NumThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), ThreadPool::global().num_threads());
}

Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  const char* fn = "setNumThreads";
  return guarded(info, fn, [&]() -> Napi::Value {
    const double n = finite_number_arg(info, 0, fn, "n");
    if (n != std::floor(n) || n < 1 || n > kMaxThreads) {
      throw_range_error(info.Env(), std::string(fn) + ": n must be an integer from 1 to " +
                                        std::to_string(kMaxThreads) + ", got " + format_count(n));
    }
    ThreadPool::global().set_num_threads(int(n));
    return info.Env().Undefined();
  });
}

// fmaPeak(threads = 1, seconds = 0.1): GFLOP/s of the active level's peak probe.
Napi::Value FmaPeak(const Napi::CallbackInfo& info) {
  const char* fn = "fmaPeak";
  return guarded(info, fn, [&]() -> Napi::Value {
    double threads = 1, seconds = 0.1;
    if (info.Length() > 0 && !info[0].IsUndefined()) {
      threads = finite_number_arg(info, 0, fn, "threads");
      if (threads != std::floor(threads) || threads < 1) {
        throw_range_error(
            info.Env(),
            std::string(fn) + ": threads must be a positive integer, got " + format_count(threads));
      }
    }
    if (info.Length() > 1 && !info[1].IsUndefined()) {
      seconds = finite_number_arg(info, 1, fn, "seconds");
      if (seconds <= 0 || seconds > 10) {
        throw_range_error(info.Env(), std::string(fn) + ": seconds must be in (0, 10], got " +
                                          format_count(seconds));
      }
    }
    const double gflops = fma_peak_gflops(active_kernel_config(),
                                          int(std::min<double>(threads, kMaxThreads)), seconds);
    return Napi::Number::New(info.Env(), gflops);
  });
}

}  // namespace

void export_runtime(Napi::Env env, Napi::Object exports) {
  exports.Set("isa", Napi::Function::New(env, GetIsa, "isa"));
  exports.Set("availableIsas", Napi::Function::New(env, AvailableIsas, "availableIsas"));
  exports.Set("setIsa", Napi::Function::New(env, SetIsa, "setIsa"));
  exports.Set("setConvAlgo", Napi::Function::New(env, SetConvAlgo, "setConvAlgo"));
  exports.Set("numThreads", Napi::Function::New(env, NumThreads, "numThreads"));
  exports.Set("setNumThreads", Napi::Function::New(env, SetNumThreads, "setNumThreads"));
  exports.Set("fmaPeak", Napi::Function::New(env, FmaPeak, "fmaPeak"));
}

}  // namespace convnet::binding
