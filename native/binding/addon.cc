// The module entry point. The binding layer only converts arguments and calls native/core.
#include <napi.h>

#include "kernels_binding.h"
#include "runtime_binding.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  convnet::binding::export_kernels(env, exports);
  convnet::binding::export_runtime(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(convnet, Init)
