// Argument conversion and validation for the exported functions. Every check names the
// function and the argument; type problems throw TypeError, size and range problems RangeError,
// always before any memory is touched.
#ifndef CONVNET_BINDING_ARGUMENTS_H_
#define CONVNET_BINDING_ARGUMENTS_H_

#include <napi.h>

#include <cstdint>
#include <exception>
#include <new>
#include <string>

namespace convnet::binding {

template <class T>
struct Span {
  T* data;
  int64_t size;
};

// "null", "undefined", "number", "Array", "Float64Array", ...: what a value is, for messages.
std::string describe(Napi::Env env, napi_value value);

[[noreturn]] void throw_type_error(Napi::Env env, const std::string& message);
[[noreturn]] void throw_range_error(Napi::Env env, const std::string& message);

// The argument at `index` as a Float32Array (TypeError otherwise). When `nullable`, null gives
// {nullptr, 0}.
Span<float> float32_arg(const Napi::CallbackInfo& info, size_t index, const char* fn,
                        const char* name, bool nullable = false);
Span<int32_t> int32_arg(const Napi::CallbackInfo& info, size_t index, const char* fn,
                        const char* name);

// RangeError unless `array` has at least `expected` elements (as the TS kernels require; extra
// elements are left alone): "fn: name must have at least 3136 elements (N*C*H*W), got 100".
// `expected` is a double so that absurd geometry cannot overflow.
template <class T>
void expect_length(Napi::Env env, const Span<T>& array, double expected, const char* fn,
                   const char* name, const std::string& formula);

// RangeError unless `array` has exactly as many elements as `ref` (elementwise kernels):
// "relu: y must have as many elements as x (5), got 4".
void expect_same_length(Napi::Env env, const Span<float>& array, const Span<float>& ref,
                        const char* fn, const char* name, const char* ref_name);

// A number argument (TypeError otherwise) that must be finite (RangeError otherwise).
double finite_number_arg(const Napi::CallbackInfo& info, size_t index, const char* fn,
                         const char* name);

// A boolean argument (TypeError otherwise).
bool boolean_arg(const Napi::CallbackInfo& info, size_t index, const char* fn, const char* name);

// One field of a geometry record, as the TypeScript side writes it into a Float64Array.
struct FieldSpec {
  const char* name;
  double min;
  double max;
  bool integer;
};

// Reads the Float64Array at `index` holding `count` fields and checks each against its spec:
// "conv2d: g.padH must be an integer >= 0, got -1". `object_name` is the argument's name in
// the kernel's signature (g or p).
void read_fields(const Napi::CallbackInfo& info, size_t index, const char* fn,
                 const char* object_name, const FieldSpec* specs, size_t count, double* out);

// Runs body(); C++ exceptions other than Napi::Error (out of memory, thread creation) become a
// JS Error naming the function, so nothing escapes into the JS engine.
template <class Body>
Napi::Value guarded(const Napi::CallbackInfo& info, const char* fn, Body&& body) {
  try {
    return body();
  } catch (const Napi::Error&) {
    throw;
  } catch (const std::bad_alloc&) {
    throw Napi::Error::New(info.Env(), std::string(fn) + ": out of memory");
  } catch (const std::exception& e) {
    throw Napi::Error::New(info.Env(), std::string(fn) + ": " + e.what());
  }
}

// --- implementation of the template ---------------------------------------------------------

std::string format_count(double n);

template <class T>
void expect_length(Napi::Env env, const Span<T>& array, double expected, const char* fn,
                   const char* name, const std::string& formula) {
  if (double(array.size) < expected) {
    throw_range_error(env, std::string(fn) + ": " + name + " must have at least " +
                               format_count(expected) + " elements (" + formula + "), got " +
                               format_count(double(array.size)));
  }
}

}  // namespace convnet::binding

#endif  // CONVNET_BINDING_ARGUMENTS_H_
