#!/usr/bin/env node
// Checks the C++ under native/ against .clang-format with the clang-format binary of the
// `clang-format` npm package (so every machine uses the same version).
//   node scripts/clang-format-check.js        reports unformatted files, exits 1 if any
//   node scripts/clang-format-check.js --fix  rewrites them in place
'use strict';

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const fix = process.argv.includes('--fix');
const EXTENSIONS = new Set(['.h', '.hpp', '.cc', '.cpp']);

function listSources(dir) {
  const out = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listSources(full));
    else if (EXTENSIONS.has(path.extname(entry.name))) out.push(full);
  }
  return out.sort();
}

function clangFormatBinary() {
  try {
    return require('clang-format').getNativeBinary();
  } catch (e) {
    console.error(`clang-format-check: the clang-format npm package is not usable: ${e.message}`);
    process.exit(2);
  }
}

const files = listSources(path.join(root, 'native'));
if (files.length === 0) {
  console.log('clang-format-check: no C++ sources under native/');
  process.exit(0);
}
const args = fix ? ['-i', '--style=file'] : ['--dry-run', '-Werror', '--style=file'];
const r = spawnSync(clangFormatBinary(), [...args, ...files], { cwd: root, stdio: 'inherit' });
if (r.error) {
  console.error(`clang-format-check: could not run clang-format: ${r.error.message}`);
  process.exit(2);
}
if (r.status !== 0) {
  console.error(
    'clang-format-check: the files above are not formatted; run `npm run format` ' +
      '(or node scripts/clang-format-check.js --fix)',
  );
  process.exit(1);
}
console.log(`clang-format-check: ${files.length} files ${fix ? 'formatted' : 'clean'}`);
