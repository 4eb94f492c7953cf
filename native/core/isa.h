// Instruction-set levels the micro-kernels are written for.
#ifndef CONVNET_CORE_ISA_H_
#define CONVNET_CORE_ISA_H_

#include <optional>
#include <string_view>

namespace convnet {

enum class Isa { kScalar, kSse2, kAvx2, kNeon };

// The names used by CONVNET_ARCH and the JS API.
const char* isa_name(Isa isa);
std::optional<Isa> parse_isa(std::string_view name);

}  // namespace convnet

#endif  // CONVNET_CORE_ISA_H_
