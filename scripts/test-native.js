#!/usr/bin/env node
// npm run test:native: configures and builds the C++ tests of native/core and native/kernels
// (CMakeLists.txt, target convnet_native_tests) with AddressSanitizer and
// UndefinedBehaviorSanitizer into build-native-test/, then runs them. Exits non-zero if the
// build or any test fails. Extra arguments are passed to the test binary (a name filter).
//   CONVNET_SANITIZE=0  builds without sanitizers (e.g. on a toolchain that lacks them)
'use strict';

const { spawnSync } = require('node:child_process');
const os = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const buildDir = path.join(root, 'build-native-test');
const sanitize = process.env.CONVNET_SANITIZE !== '0';

function run(cmd, args, options = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', cwd: root, ...options });
  if (r.error) {
    console.error(`test-native: could not run ${cmd}: ${r.error.message}`);
    process.exit(1);
  }
  return r.status ?? 1;
}

function step(what, cmd, args) {
  const status = run(cmd, args);
  if (status !== 0) {
    console.error(`test-native: ${what} failed (exit code ${status})`);
    process.exit(status);
  }
}

const jobs = String(Math.max(1, Math.min(os.availableParallelism(), 8)));
step('cmake configure', 'cmake', [
  '-S',
  root,
  '-B',
  buildDir,
  '-DCMAKE_BUILD_TYPE=RelWithDebInfo',
  '-DCONVNET_NATIVE_TESTS=ON',
  `-DCONVNET_SANITIZE=${sanitize ? 'ON' : 'OFF'}`,
]);
step('build', 'cmake', ['--build', buildDir, '--target', 'convnet_native_tests', '-j', jobs]);

const exe = path.join(
  buildDir,
  process.platform === 'win32' ? 'Release/convnet_native_tests.exe' : 'convnet_native_tests',
);
const env = {
  ...process.env,
  ASAN_OPTIONS: process.env.ASAN_OPTIONS ?? 'detect_leaks=1:abort_on_error=0:halt_on_error=1',
  UBSAN_OPTIONS: process.env.UBSAN_OPTIONS ?? 'print_stacktrace=1:halt_on_error=1',
};
const status = run(exe, process.argv.slice(2), { env });
if (status !== 0) {
  console.error(`test-native: convnet_native_tests failed (exit code ${status})`);
}
process.exit(status);
