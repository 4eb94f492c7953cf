#include "arguments.h"

#include <cmath>
#include <cstdio>

namespace convnet::binding {
namespace {

const char* typed_array_name(napi_typedarray_type type) {
  switch (type) {
    case napi_int8_array:
      return "Int8Array";
    case napi_uint8_array:
      return "Uint8Array";
    case napi_uint8_clamped_array:
      return "Uint8ClampedArray";
    case napi_int16_array:
      return "Int16Array";
    case napi_uint16_array:
      return "Uint16Array";
    case napi_int32_array:
      return "Int32Array";
    case napi_uint32_array:
      return "Uint32Array";
    case napi_float32_array:
      return "Float32Array";
    case napi_float64_array:
      return "Float64Array";
    case napi_bigint64_array:
      return "BigInt64Array";
    case napi_biguint64_array:
      return "BigUint64Array";
    default:
      return "typed array";
  }
}

std::string format_number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  char buf[40];
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
  } else {
    std::snprintf(buf, sizeof buf, "%.17g", v);
  }
  return buf;
}

// The typed array at info[index], checked to be of `type`.
template <class T>
Span<T> typed_arg(const Napi::CallbackInfo& info, size_t index, napi_typedarray_type type,
                  const char* fn, const char* name, bool nullable) {
  Napi::Env env = info.Env();
  napi_value value = info[index];
  if (nullable) {
    napi_valuetype vt;
    if (napi_typeof(env, value, &vt) == napi_ok && vt == napi_null) {
      return {nullptr, 0};
    }
  }
  bool is_typed_array = false;
  napi_is_typedarray(env, value, &is_typed_array);
  napi_typedarray_type actual = napi_int8_array;
  size_t length = 0;
  void* data = nullptr;
  if (is_typed_array) {
    napi_get_typedarray_info(env, value, &actual, &length, &data, nullptr, nullptr);
  }
  if (!is_typed_array || actual != type) {
    throw_type_error(env, std::string(fn) + ": " + name + " must be a" +
                              (type == napi_int32_array ? "n " : " ") + typed_array_name(type) +
                              (nullable ? " or null" : "") + ", got " + describe(env, value));
  }
  return {static_cast<T*>(data), static_cast<int64_t>(length)};
}

}  // namespace

std::string format_count(double n) { return format_number(n); }

std::string describe(Napi::Env env, napi_value value) {
  bool flag = false;
  if (napi_is_typedarray(env, value, &flag) == napi_ok && flag) {
    napi_typedarray_type type;
    napi_get_typedarray_info(env, value, &type, nullptr, nullptr, nullptr, nullptr);
    return typed_array_name(type);
  }
  if (napi_is_array(env, value, &flag) == napi_ok && flag) return "Array";
  if (napi_is_arraybuffer(env, value, &flag) == napi_ok && flag) return "ArrayBuffer";
  if (napi_is_dataview(env, value, &flag) == napi_ok && flag) return "DataView";
  napi_valuetype type = napi_undefined;
  napi_typeof(env, value, &type);
  switch (type) {
    case napi_undefined:
      return "undefined";
    case napi_null:
      return "null";
    case napi_boolean:
      return "boolean";
    case napi_number: {
      double v = 0;
      napi_get_value_double(env, value, &v);
      return "number " + format_number(v);
    }
    case napi_string:
      return "string";
    case napi_symbol:
      return "symbol";
    case napi_function:
      return "function";
    case napi_bigint:
      return "bigint";
    default:
      return "object";
  }
}

void throw_type_error(Napi::Env env, const std::string& message) {
  throw Napi::TypeError::New(env, message);
}

void throw_range_error(Napi::Env env, const std::string& message) {
  throw Napi::RangeError::New(env, message);
}

Span<float> float32_arg(const Napi::CallbackInfo& info, size_t index, const char* fn,
                        const char* name, bool nullable) {
  return typed_arg<float>(info, index, napi_float32_array, fn, name, nullable);
}

Span<int32_t> int32_arg(const Napi::CallbackInfo& info, size_t index, const char* fn,
                        const char* name) {
  return typed_arg<int32_t>(info, index, napi_int32_array, fn, name, false);
}

void expect_same_length(Napi::Env env, const Span<float>& array, const Span<float>& ref,
                        const char* fn, const char* name, const char* ref_name) {
  if (array.size != ref.size) {
    throw_range_error(env, std::string(fn) + ": " + name + " must have as many elements as " +
                               ref_name + " (" + std::to_string(ref.size) + "), got " +
                               std::to_string(array.size));
  }
}

double finite_number_arg(const Napi::CallbackInfo& info, size_t index, const char* fn,
                         const char* name) {
  Napi::Env env = info.Env();
  napi_value value = info[index];
  napi_valuetype type = napi_undefined;
  napi_typeof(env, value, &type);
  if (type != napi_number) {
    throw_type_error(
        env, std::string(fn) + ": " + name + " must be a number, got " + describe(env, value));
  }
  double v = 0;
  napi_get_value_double(env, value, &v);
  if (!std::isfinite(v)) {
    throw_range_error(
        env, std::string(fn) + ": " + name + " must be a finite number, got " + format_number(v));
  }
  return v;
}

bool boolean_arg(const Napi::CallbackInfo& info, size_t index, const char* fn, const char* name) {
  Napi::Env env = info.Env();
  napi_value value = info[index];
  napi_valuetype type = napi_undefined;
  napi_typeof(env, value, &type);
  if (type != napi_boolean) {
    throw_type_error(
        env, std::string(fn) + ": " + name + " must be a boolean, got " + describe(env, value));
  }
  bool v = false;
  napi_get_value_bool(env, value, &v);
  return v;
}

void read_fields(const Napi::CallbackInfo& info, size_t index, const char* fn,
                 const char* object_name, const FieldSpec* specs, size_t count, double* out) {
  Napi::Env env = info.Env();
  const Span<double> fields =
      typed_arg<double>(info, index, napi_float64_array, fn, "the geometry record", false);
  if (fields.size != static_cast<int64_t>(count)) {
    throw_type_error(env, std::string(fn) + ": the geometry record must have " +
                              std::to_string(count) + " fields, got " +
                              std::to_string(fields.size));
  }
  for (size_t i = 0; i < count; ++i) {
    const FieldSpec& spec = specs[i];
    const double v = fields.data[i];
    const bool ok = spec.integer
                        ? std::isfinite(v) && v == std::floor(v) && v >= spec.min && v <= spec.max
                        : std::isfinite(v);
    if (!ok) {
      std::string expected;
      if (!spec.integer) {
        expected = "a finite number";
      } else if (spec.max == 1 && spec.min == 0) {
        expected = "a boolean";
      } else {
        expected = "an integer >= " + format_number(spec.min);
        if (spec.max < 2147483647.0) expected += " and <= " + format_number(spec.max);
      }
      throw_range_error(
          env, std::string(fn) + ": " + object_name + "." + spec.name + " must be " + expected +
                   ", got " + (std::isnan(v) ? "NaN (missing or not a number)" : format_number(v)));
    }
    out[i] = v;
  }
}

}  // namespace convnet::binding
