#!/usr/bin/env node
// onnxruntime-node peer for convnet's bench: inference of an ONNX model (the reference CNN,
// exported by pytorch_bench.py) on the CPU execution provider. Run by bench/peers/onnxruntime.ts
// as a child process. Prints one JSON object: per-run seconds after warm-up.
//   node onnxruntime_bench.cjs --model ref.onnx --threads 2 --batch 256 --reps 10
'use strict';

const { performance } = require('node:perf_hooks');

function parseArgs(argv) {
  const o = { model: null, threads: 2, batch: 256, reps: 10 };
  for (let i = 0; i < argv.length; i += 2) {
    const flag = argv[i];
    const v = argv[i + 1];
    if (flag === '--model' && v !== undefined) {
      o.model = v;
      continue;
    }
    const key = { '--threads': 'threads', '--batch': 'batch', '--reps': 'reps' }[flag];
    const n = Number(v);
    if (key === undefined || !Number.isInteger(n) || n < 1) {
      throw new RangeError(
        `onnxruntime_bench: expected --model PATH or --threads/--batch/--reps N (N >= 1), got ${flag} ${v}`,
      );
    }
    o[key] = n;
  }
  if (o.model === null) throw new RangeError('onnxruntime_bench: --model PATH is required');
  return o;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const ort = require('onnxruntime-node');
  const session = await ort.InferenceSession.create(opts.model, {
    executionProviders: ['cpu'],
    intraOpNumThreads: opts.threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  const [inputName] = session.inputNames;
  const data = new Float32Array(opts.batch * 28 * 28);
  let s = 1;
  for (let i = 0; i < data.length; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    data[i] = s / 4294967296 - 0.5;
  }
  const feeds = { [inputName]: new ort.Tensor('float32', data, [opts.batch, 1, 28, 28]) };
  for (let i = 0; i < 3; i++) await session.run(feeds);
  // Each sample repeats runs until it lasts 0.2 s, so short runs are not lost in timer noise.
  let t = performance.now();
  await session.run(feeds);
  const inner = Math.max(1, Math.ceil(200 / Math.max(performance.now() - t, 1e-3)));
  const seconds = [];
  for (let r = 0; r < opts.reps; r++) {
    t = performance.now();
    for (let i = 0; i < inner; i++) await session.run(feeds);
    seconds.push((performance.now() - t) / 1000 / inner);
  }
  const version = require('onnxruntime-node/package.json').version;
  process.stdout.write(
    JSON.stringify({ version, threads: opts.threads, batch: opts.batch, seconds }) + '\n',
  );
}

main().catch((e) => {
  process.stderr.write(`onnxruntime_bench: ${e && e.stack ? e.stack : e}\n`);
  process.exit(1);
});
