// A minimal test registry: TEST(name) { ... EXPECT(...) ... }, run by test_main.cc, which prints
// "N passed, M failed" and exits non-zero on any failure.
#ifndef CONVNET_TEST_TEST_FRAMEWORK_H_
#define CONVNET_TEST_TEST_FRAMEWORK_H_

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace convnet_test {

struct TestCase {
  const char* name;
  void (*fn)();
};

std::vector<TestCase>& registry();
// Records a failed expectation of the running test (at most a few are printed per test).
void report_failure(const char* file, int line, const std::string& what);

struct Registrar {
  Registrar(const char* name, void (*fn)()) { registry().push_back({name, fn}); }
};

}  // namespace convnet_test

#define TEST(name)                                                     \
  static void name();                                                  \
  static const convnet_test::Registrar name##_registrar(#name, &name); \
  static void name()

#define EXPECT(cond)                                                                    \
  do {                                                                                  \
    if (!(cond)) convnet_test::report_failure(__FILE__, __LINE__, "EXPECT(" #cond ")"); \
  } while (0)

#define EXPECT_MSG(cond, msg)                                             \
  do {                                                                    \
    if (!(cond)) convnet_test::report_failure(__FILE__, __LINE__, (msg)); \
  } while (0)

#endif  // CONVNET_TEST_TEST_FRAMEWORK_H_
