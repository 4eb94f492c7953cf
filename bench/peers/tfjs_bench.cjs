#!/usr/bin/env node
// TF.js peer for convnet's bench: trains the reference CNN on TF.js's pure-JavaScript CPU backend
// (@tensorflow/tfjs, not tfjs-node) with Adam at batch 64, through model.trainOnBatch (the step
// model.fit runs). Run by bench/peers/tfjs.ts as a child process so its globals and its memory
// stay out of convnet's process. Prints one JSON object: per-step seconds after warm-up.
//   node tfjs_bench.cjs --batch 64 --reps 2 --warmup-batch 8
'use strict';

const { performance } = require('node:perf_hooks');

function parseArgs(argv) {
  const o = { batch: 64, reps: 2, warmupBatch: 8 };
  for (let i = 0; i < argv.length; i += 2) {
    const key = { '--batch': 'batch', '--reps': 'reps', '--warmup-batch': 'warmupBatch' }[argv[i]];
    const v = Number(argv[i + 1]);
    if (key === undefined || !Number.isInteger(v) || v < 1) {
      throw new RangeError(
        `tfjs_bench: expected --batch/--reps/--warmup-batch N (N >= 1), got ${argv[i]} ${argv[i + 1]}`,
      );
    }
    o[key] = v;
  }
  return o;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const tf = require('@tensorflow/tfjs');
  await tf.setBackend('cpu');
  await tf.ready();
  const model = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 32, kernelSize: 3, activation: 'relu' }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.conv2d({ filters: 64, kernelSize: 3, activation: 'relu' }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 128, activation: 'relu' }),
      tf.layers.dense({ units: 10 }),
    ],
  });
  model.compile({
    optimizer: tf.train.adam(1e-3),
    loss: (yTrue, yPred) => tf.losses.softmaxCrossEntropy(yTrue, yPred),
  });
  const batchOf = (n) => {
    const x = tf.randomNormal([n, 28, 28, 1], 0, 1, 'float32', 1);
    const y = tf.oneHot(tf.randomUniform([n], 0, 10, 'int32', 2), 10).toFloat();
    return { x, y };
  };
  // The warm-up runs a smaller batch: it only needs to compile the JS paths, and a full batch
  // takes tens of seconds on this backend.
  const warm = batchOf(opts.warmupBatch);
  await model.trainOnBatch(warm.x, warm.y);
  const { x, y } = batchOf(opts.batch);
  const seconds = [];
  for (let r = 0; r < opts.reps; r++) {
    const t0 = performance.now();
    await model.trainOnBatch(x, y);
    seconds.push((performance.now() - t0) / 1000);
  }
  process.stdout.write(
    JSON.stringify({
      version: tf.version.tfjs,
      backend: tf.getBackend(),
      batch: opts.batch,
      seconds,
    }) + '\n',
  );
}

main().catch((e) => {
  process.stderr.write(`tfjs_bench: ${e && e.stack ? e.stack : e}\n`);
  process.exit(1);
});
