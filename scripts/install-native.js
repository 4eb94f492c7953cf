#!/usr/bin/env node
// The npm `install` script. Uses a prebuilt binary (prebuilds/<platform>-<arch>/) or an existing
// build when node-gyp-build finds one; otherwise compiles the addon with node-gyp. If that
// fails (no compiler, no python), the install still succeeds: convnet then runs on its
// pure-TypeScript backend, and one line says so and how to get the native one.
//   npm_config_build_from_source=true  compile even when a prebuild exists
//   CONVNET_VERBOSE_INSTALL=1          show the compiler's output
'use strict';

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const verbose = process.env.CONVNET_VERBOSE_INSTALL === '1';
const fromSource = /^(true|1|convnet)$/.test(process.env.npm_config_build_from_source ?? '');

function existingBinary() {
  try {
    return require('node-gyp-build').path(root);
  } catch {
    return null;
  }
}

// How to run node-gyp: the one npm names, else the one bundled with npm, else npx.
function nodeGypCommand() {
  const candidates = [process.env.npm_config_node_gyp];
  const nodeDir = path.dirname(process.execPath);
  candidates.push(
    path.join(
      nodeDir,
      '..',
      'lib',
      'node_modules',
      'npm',
      'node_modules',
      'node-gyp',
      'bin',
      'node-gyp.js',
    ),
    path.join(nodeDir, 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  );
  try {
    candidates.push(require.resolve('node-gyp/bin/node-gyp.js'));
  } catch {
    // not installed locally
  }
  for (const file of candidates) {
    if (file && fs.existsSync(file)) return { cmd: process.execPath, args: [file] };
  }
  return { cmd: process.platform === 'win32' ? 'npx.cmd' : 'npx', args: ['--yes', 'node-gyp'] };
}

function lastLine(text) {
  const lines = String(text ?? '')
    .split('\n')
    .map((l) => l.trim())
    .filter(
      (l) => l && !/^gyp (info|ERR! (stack|System|command|cwd|node -v|node-gyp -v|not ok))/.test(l),
    );
  const errors = lines.filter((l) => /error|not found|No such file|ERR!/i.test(l));
  return (errors[0] ?? lines[lines.length - 1] ?? '').replace(/^gyp ERR! /, '').slice(0, 200);
}

function main() {
  if (!fromSource && existingBinary() !== null) return;

  const { cmd, args } = nodeGypCommand();
  const r = spawnSync(cmd, [...args, 'rebuild'], {
    cwd: root,
    stdio: verbose ? 'inherit' : 'pipe',
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    shell: process.platform === 'win32' && cmd.endsWith('.cmd'),
  });
  if (r.status === 0 && existingBinary() !== null) {
    console.log('convnet: built the native addon (build/Release/convnet.node)');
    return;
  }
  const why = r.error ? r.error.message : lastLine(`${r.stdout ?? ''}\n${r.stderr ?? ''}`);
  console.warn(
    `convnet: could not build the native addon${why ? ` (${why})` : ''}; the pure-TypeScript ` +
      'backend will be used. For the native one, install python3, make and a C++ compiler, then ' +
      'run `npm rebuild convnet` (CONVNET_VERBOSE_INSTALL=1 shows the compiler output).',
  );
}

main();
process.exitCode = 0;
