// Packaging checks, as a user meets the package:
//  1. `npm run prebuild` writes prebuilds/<platform>-<arch>/, and with build/ absent the addon loads
//     from there.
//  2. `npm pack`, installed into an empty project, imports (require and import) and reports the
//     native backend with the avx2 kernels (on a CPU that has them).
//  3. The same tarball installed with --ignore-scripts and no prebuild reports `ts` with a reason and
//     still computes a conv2d correctly.
// Runs in temporary directories; the working tree is not modified.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'convnet-package-'));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
let passed = 0;
let failed = 0;

function run(cmd, args, cwd, env = {}) {
  return execFileSync(cmd, args, {
    cwd,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

function check(name, fn) {
  try {
    fn();
    passed++;
    console.log(`ok   ${name}`);
  } catch (e) {
    failed++;
    console.log(
      `FAIL ${name}\n     ${String(e.stderr || e.message)
        .trim()
        .split('\n')
        .join('\n     ')}`,
    );
  }
}

function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

// A copy of the tracked files (what a clean clone has), sharing node_modules.
const src = path.join(work, 'src');
for (const f of run('git', ['ls-files'], root).split('\n').filter(Boolean)) {
  if (!fs.existsSync(path.join(root, f))) continue;
  fs.mkdirSync(path.dirname(path.join(src, f)), { recursive: true });
  fs.copyFileSync(path.join(root, f), path.join(src, f));
}
fs.symlinkSync(path.join(root, 'node_modules'), path.join(src, 'node_modules'), 'dir');
fs.cpSync(path.join(root, 'dist'), path.join(src, 'dist'), { recursive: true });

// What a loaded package reports, from a script run in `dir`.
const PROBE = `
const c = require('convnet');
const x = c.tensor(new Float32Array([1, 2, 3, 4, 5, 6, 7, 8, 9]), [1, 1, 3, 3]);
const w = c.tensor(new Float32Array([1, 0, 0, -1]), [1, 1, 2, 2]);
const y = c.functional.conv2d(x, w, null);
console.log(JSON.stringify({ info: c.backendInfo(), y: Array.from(y.data), shape: y.shape }));
`;
function probe(dir) {
  return JSON.parse(run(process.execPath, ['-e', PROBE], dir).trim().split('\n').pop());
}

check('prebuild: prebuildify writes prebuilds/ and the addon loads from it without build/', () => {
  run(npm, ['run', 'prebuild'], src);
  const dir = path.join(src, 'prebuilds', `${process.platform}-${process.arch}`);
  assert(
    fs.existsSync(dir) && fs.readdirSync(dir).some((f) => f.endsWith('.node')),
    `no .node file in ${dir}`,
  );
  fs.rmSync(path.join(src, 'build'), { recursive: true, force: true });
  const r = run(
    process.execPath,
    [
      '-e',
      "const c = require('./dist/cjs/index.js'); console.log(JSON.stringify(c.backendInfo()))",
    ],
    src,
  );
  const info = JSON.parse(r.trim());
  assert(info.name === 'native', `expected native from prebuilds/, got ${JSON.stringify(info)}`);
  fs.rmSync(path.join(src, 'prebuilds'), { recursive: true, force: true });
});

let tarball = null;
check('npm pack produces a tarball with dist/, native sources and the bundled data', () => {
  const out = run(npm, ['pack', '--json', '--pack-destination', work], src);
  const info = JSON.parse(out.slice(out.indexOf('[')))[0];
  tarball = path.join(work, info.filename);
  const files = info.files.map((f) => f.path);
  for (const f of [
    'dist/cjs/index.js',
    'dist/esm/index.mjs',
    'dist/cjs/index.d.ts',
    'binding.gyp',
    'native/sources.json',
    'scripts/install-native.js',
    'data/fashion-mnist-subset/train-images-idx3-ubyte.gz',
  ]) {
    assert(files.includes(f), `${f} is missing from the tarball`);
  }
  assert(
    !files.some((f) => f.startsWith('test/') || f.startsWith('build/')),
    'tests or build outputs leaked into the tarball',
  );
});

check('installed with scripts: native backend with avx2 (require and import)', () => {
  const app = path.join(work, 'app-native');
  fs.mkdirSync(app);
  fs.writeFileSync(
    path.join(app, 'package.json'),
    '{"name":"app","version":"1.0.0","private":true}',
  );
  run(npm, ['install', '--no-audit', '--no-fund', tarball], app);
  const p = probe(app);
  assert(p.info.name === 'native', `expected native, got ${JSON.stringify(p.info)}`);
  const cpu = fs.existsSync('/proc/cpuinfo') ? fs.readFileSync('/proc/cpuinfo', 'utf8') : '';
  if (/\bavx2\b/.test(cpu) && /\bfma\b/.test(cpu))
    assert(p.info.isa === 'avx2', `expected avx2, got ${p.info.isa}`);
  assert(JSON.stringify(p.y) === JSON.stringify([-4, -4, -4, -4]), `conv2d gave ${p.y}`);
  const esm = run(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      "import { backendInfo, nn } from 'convnet'; console.log(backendInfo().name, typeof nn.Conv2d)",
    ],
    app,
  );
  assert(esm.trim() === 'native function', `ESM import gave ${esm}`);
});

check('installed with --ignore-scripts: ts backend with a reason, conv2d still right', () => {
  const app = path.join(work, 'app-ts');
  fs.mkdirSync(app);
  fs.writeFileSync(
    path.join(app, 'package.json'),
    '{"name":"app","version":"1.0.0","private":true}',
  );
  run(npm, ['install', '--no-audit', '--no-fund', '--ignore-scripts', tarball], app);
  const p = probe(app);
  assert(p.info.name === 'ts', `expected ts, got ${JSON.stringify(p.info)}`);
  assert(
    typeof p.info.reason === 'string' && p.info.reason.length > 10,
    `no reason given: ${JSON.stringify(p.info)}`,
  );
  // [[1,2,3],[4,5,6],[7,8,9]] * [[1,0],[0,-1]]: each output is x[i][j] - x[i+1][j+1] = -4
  assert(
    JSON.stringify(p.y) === JSON.stringify([-4, -4, -4, -4]) &&
      JSON.stringify(p.shape) === '[1,1,2,2]',
    `conv2d gave ${p.y}`,
  );
});

fs.rmSync(work, { recursive: true, force: true });
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed === 0 ? 0 : 1;
