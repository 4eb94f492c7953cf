// The kernel set (lib/backend/kernels.ts) as exported functions: each checks its arguments and
// calls native/core. Geometry records arrive as Float64Arrays whose field order is fixed here
// and in lib/backend/native.ts.
#ifndef CONVNET_BINDING_KERNELS_BINDING_H_
#define CONVNET_BINDING_KERNELS_BINDING_H_

#include <napi.h>

namespace convnet::binding {

void export_kernels(Napi::Env env, Napi::Object exports);

}  // namespace convnet::binding

#endif  // CONVNET_BINDING_KERNELS_BINDING_H_
