#include <cstdio>
#include <cstring>

#include "test_framework.h"

namespace convnet_test {
namespace {

int g_failures_in_test = 0;

}  // namespace

std::vector<TestCase>& registry() {
  static std::vector<TestCase> tests;
  return tests;
}

void report_failure(const char* file, int line, const std::string& what) {
  if (++g_failures_in_test <= 5) std::printf("    %s:%d: %s\n", file, line, what.c_str());
}

}  // namespace convnet_test

// Usage: convnet_native_tests [substring]  -- runs the tests whose name contains it.
int main(int argc, char** argv) {
  using convnet_test::registry;
  const char* filter = argc > 1 ? argv[1] : nullptr;
  int passed = 0, failed = 0;
  for (const convnet_test::TestCase& t : registry()) {
    if (filter != nullptr && std::strstr(t.name, filter) == nullptr) continue;
    convnet_test::g_failures_in_test = 0;
    std::printf("[ RUN  ] %s\n", t.name);
    std::fflush(stdout);
    t.fn();
    if (convnet_test::g_failures_in_test == 0) {
      ++passed;
      std::printf("[  OK  ] %s\n", t.name);
    } else {
      ++failed;
      std::printf("[ FAIL ] %s (%d failed expectations)\n", t.name,
                  convnet_test::g_failures_in_test);
    }
  }
  std::printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 && passed > 0 ? 0 : 1;
}
