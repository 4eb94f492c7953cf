// Exports that describe and configure the native runtime: instruction set, threads, peak probe.
#ifndef CONVNET_BINDING_RUNTIME_BINDING_H_
#define CONVNET_BINDING_RUNTIME_BINDING_H_

#include <napi.h>

namespace convnet::binding {

void export_runtime(Napi::Env env, Napi::Object exports);

}  // namespace convnet::binding

#endif  // CONVNET_BINDING_RUNTIME_BINDING_H_
