#!/usr/bin/env node
/**
 * Makes the Fashion-MNIST subset bundled in data/fashion-mnist-subset/: the first N images of each
 * class (in file order) from the official training and test files, written as gzipped IDX files
 * with the official names, plus the dataset's MIT licence and a README saying how it was made.
 * Taking the first images of each class keeps the subset class-balanced and the script
 * deterministic: the same input files always give byte-identical output.
 *
 *   npm run build:ts && node scripts/make-fashion-mnist-subset.js \
 *     [--src /usr/share/datasets/fashion-mnist] [--out data/fashion-mnist-subset] \
 *     [--train-per-class 600] [--test-per-class 100]
 *
 * It uses the library's own IDX reader and writer from the build (dist/cjs), so the files are
 * validated on the way in and written the way the library reads them.
 */
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');

const root = path.resolve(__dirname, '..');

function loadLibrary() {
  const idxPath = path.join(root, 'dist', 'cjs', 'data', 'idx.js');
  const atomicPath = path.join(root, 'dist', 'cjs', 'io', 'atomic.js');
  if (!fs.existsSync(idxPath) || !fs.existsSync(atomicPath)) {
    throw new Error(
      `make-fashion-mnist-subset: ${idxPath} is missing; run \`npm run build:ts\` first`,
    );
  }
  return { ...require(idxPath), ...require(atomicPath) };
}

function parseArgs(argv) {
  const opts = {
    src: process.env.CONVNET_DATA
      ? path.join(process.env.CONVNET_DATA, 'fashion-mnist')
      : '/usr/share/datasets/fashion-mnist',
    out: path.join(root, 'data', 'fashion-mnist-subset'),
    trainPerClass: 600,
    testPerClass: 100,
  };
  const names = {
    '--src': 'src',
    '--out': 'out',
    '--train-per-class': 'trainPerClass',
    '--test-per-class': 'testPerClass',
  };
  for (let i = 0; i < argv.length; i += 2) {
    const key = names[argv[i]];
    if (key === undefined || argv[i + 1] === undefined) {
      throw new Error(`make-fashion-mnist-subset: unknown or incomplete argument ${argv[i]}`);
    }
    opts[key] = key.endsWith('PerClass') ? Number(argv[i + 1]) : path.resolve(argv[i + 1]);
    if (key.endsWith('PerClass') && !(Number.isInteger(opts[key]) && opts[key] > 0)) {
      throw new Error(
        `make-fashion-mnist-subset: ${argv[i]} must be a positive integer, got ${argv[i + 1]}`,
      );
    }
  }
  return opts;
}

function findFile(dir, name) {
  for (const candidate of [name, name.replace(/\.gz$/, '')]) {
    const p = path.join(dir, candidate);
    if (fs.existsSync(p)) return p;
  }
  throw new Error(`make-fashion-mnist-subset: ${dir} has no ${name} (gzipped or not)`);
}

/** The indices of the first `perClass` samples of each of the 10 classes, in file order. */
function balancedIndices(labels, perClass) {
  const taken = new Array(10).fill(0);
  const picked = [];
  for (let i = 0; i < labels.length; i++) {
    if (taken[labels[i]] < perClass) {
      taken[labels[i]]++;
      picked.push(i);
    }
  }
  if (taken.some((t) => t < perClass)) {
    throw new Error(`make-fashion-mnist-subset: not enough samples per class: ${taken.join(',')}`);
  }
  return picked;
}

function makeSplit(lib, opts, prefix, perClass) {
  const imagesName = `${prefix}-images-idx3-ubyte.gz`;
  const labelsName = `${prefix}-labels-idx1-ubyte.gz`;
  const imagesSrc = findFile(opts.src, imagesName);
  const labelsSrc = findFile(opts.src, labelsName);
  const images = lib.readIdx(imagesSrc, { ndim: 3, dtype: 'uint8' });
  const labels = lib.readIdx(labelsSrc, { ndim: 1, dtype: 'uint8' });
  if (labels.shape[0] !== images.shape[0]) {
    throw new Error(
      `make-fashion-mnist-subset: ${imagesSrc} and ${labelsSrc} disagree on the sample count`,
    );
  }
  const picked = balancedIndices(labels.data, perClass);
  const [, h, w] = images.shape;
  const outImages = new Uint8Array(picked.length * h * w);
  const outLabels = new Uint8Array(picked.length);
  picked.forEach((src, i) => {
    outImages.set(images.data.subarray(src * h * w, (src + 1) * h * w), i * h * w);
    outLabels[i] = labels.data[src];
  });
  lib.writeIdx(path.join(opts.out, imagesName), {
    dtype: 'uint8',
    shape: [picked.length, h, w],
    data: outImages,
  });
  lib.writeIdx(path.join(opts.out, labelsName), {
    dtype: 'uint8',
    shape: [picked.length],
    data: outLabels,
  });
  const sha = (p) => crypto.createHash('sha256').update(fs.readFileSync(p)).digest('hex');
  return {
    prefix,
    count: picked.length,
    source: images.shape[0],
    lastIndex: picked[picked.length - 1],
    files: [imagesName, labelsName].map((f) => ({
      file: f,
      bytes: fs.statSync(path.join(opts.out, f)).size,
      sha256: sha(path.join(opts.out, f)),
    })),
  };
}

const LICENSE = `The MIT License (MIT)

Copyright © 2017 Zalando SE, https://tech.zalando.com

Permission is hereby granted, free of charge, to any person obtaining a copy of this software and
associated documentation files (the "Software"), to deal in the Software without restriction,
including without limitation the rights to use, copy, modify, merge, publish, distribute,
sublicense, and/or sell copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all copies or
substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT
NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND
NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES
OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN
CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.
`;

function readme(opts, splits) {
  const rows = splits
    .flatMap((s) =>
      s.files.map((f) => `| \`${f.file}\` | ${s.count} | ${f.bytes} | \`${f.sha256}\` |`),
    )
    .join('\n');
  const [train, test] = splits;
  return `# Fashion-MNIST subset

A small, class-balanced sample of [Fashion-MNIST](https://github.com/zalandoresearch/fashion-mnist)
(Zalando's article images: 28x28 grayscale, 10 classes), bundled with convnet so that examples and
tests can train a real network offline. The full dataset has 60,000 training and 10,000 test images;
load it with \`datasets.fashionMnist({ split })\` (see \`convnet download fashion-mnist\`).

| File | Samples | Bytes | SHA-256 |
| --- | --- | --- | --- |
${rows}

## How it was made

\`scripts/make-fashion-mnist-subset.js\` took, from the official files (as installed by Debian's
\`dataset-fashion-mnist\` package), the first ${opts.trainPerClass} images of each class from the training set
(${train.count} images, all among its first ${train.lastIndex + 1}) and the first ${opts.testPerClass} of each class from
the test set (${test.count} images, all among its first ${test.lastIndex + 1}), in their original order. Pixels and
labels are unchanged; the files keep the official names and IDX format, gzipped.

    npm run build:ts && node scripts/make-fashion-mnist-subset.js

regenerates byte-identical files from the same source files.

Classes: 0 T-shirt/top, 1 Trouser, 2 Pullover, 3 Dress, 4 Coat, 5 Sandal, 6 Shirt, 7 Sneaker,
8 Bag, 9 Ankle boot.

## Licence

Fashion-MNIST is © 2017 Zalando SE and released under the MIT licence; see \`LICENSE\` in this
directory.
`;
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  const lib = loadLibrary();
  fs.mkdirSync(opts.out, { recursive: true });
  const splits = [
    makeSplit(lib, opts, 'train', opts.trainPerClass),
    makeSplit(lib, opts, 't10k', opts.testPerClass),
  ];
  lib.writeFileAtomic(path.join(opts.out, 'LICENSE'), LICENSE);
  lib.writeFileAtomic(path.join(opts.out, 'README.md'), readme(opts, splits));
  for (const s of splits) {
    for (const f of s.files)
      console.log(`${path.join(opts.out, f.file)}: ${s.count} samples, ${f.bytes} bytes`);
  }
}

try {
  main();
} catch (e) {
  console.error(e.message);
  process.exit(1);
}
