#!/usr/bin/env node
/** The `convnet` command: train, eval, predict, info, models, download. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { backendInfo, setBackend, type BackendName } from '../backend/index.js';
import { DataLoader } from '../data/loader.js';
import { datasets } from '../data/datasets.js';
import {
  DATASET_CATALOG,
  downloadDataset,
  FASHION_MNIST_CLASSES,
  type DatasetName,
} from '../data/download.js';
import { readIdx } from '../data/idx.js';
import { decodePng, resizeGray } from '../data/png.js';
import { loadModel } from '../io/model-file.js';
import { countFlops } from '../models/flops.js';
import { createModel, zooEntries } from '../models/registry.js';
import { softmax } from '../functional/activation.js';
import { Tensor } from '../tensor.js';
import { evaluate, predict } from '../train/fit.js';
import { VERSION } from '../version.js';
import { formatFlags, parseArgs, UsageError, type FlagSpec } from './args.js';
import { runTrain, TRAIN_FLAGS } from './train.js';

const BACKEND_FLAG: FlagSpec = {
  type: 'string',
  choices: ['native', 'ts'],
  description: 'kernel backend',
};

const EVAL_FLAGS: Record<string, FlagSpec> = {
  data: {
    type: 'string',
    description: 'directory with the IDX files (default: the bundled subset)',
  },
  dataset: {
    type: 'string',
    choices: ['fashion-mnist', 'mnist'],
    description: 'which dataset --data holds',
    default: 'fashion-mnist',
  },
  backend: BACKEND_FLAG,
};
const PREDICT_FLAGS: Record<string, FlagSpec> = {
  top: { type: 'int', min: 1, description: 'classes shown per image', default: 3 },
  backend: BACKEND_FLAG,
};
const DOWNLOAD_FLAGS: Record<string, FlagSpec> = {
  dir: {
    type: 'string',
    description:
      'where to put the files (default: $CONVNET_DATA/<name> or ~/.cache/convnet/<name>)',
  },
  'base-url': { type: 'string', description: 'mirror to fetch from' },
};

const USAGE = `convnet ${VERSION}: convolutional neural networks for Node.js

Usage:
  convnet train [options]          train a model (default: simple-cnn on the bundled Fashion-MNIST subset)
  convnet eval MODEL [options]     test accuracy of a saved model
  convnet predict MODEL IMAGE...   classify PNG images or an IDX image file
  convnet models                   the model zoo with parameter counts and FLOPs per image
  convnet info                     backend, instruction set, threads and versions
  convnet download NAME [--dir D]  fetch fashion-mnist or mnist

convnet train options:
${formatFlags(TRAIN_FLAGS)}
`;

function requireFile(what: string, p: string | undefined): string {
  if (p === undefined) throw new UsageError(`${what} is required`);
  if (!fs.existsSync(p)) throw new UsageError(`${what} ${p}: no such file`);
  return p;
}

async function cmdEval(argv: string[]): Promise<void> {
  const { flags, positionals } = parseArgs(argv, EVAL_FLAGS);
  const file = requireFile('MODEL', positionals[0]);
  if (flags.data !== undefined && !fs.existsSync(flags.data as string))
    throw new UsageError(`--data ${flags.data}: no such directory`);
  if (flags.backend !== undefined) setBackend(flags.backend as BackendName);
  const model = loadModel(file);
  const load = flags.dataset === 'mnist' ? datasets.mnistSync : datasets.fashionMnistSync;
  const test =
    flags.data === undefined
      ? datasets.fashionMnistSubset({ split: 'test' })
      : load({ root: flags.data as string, split: 'test' });
  const r = await evaluate(model, new DataLoader(test, { batchSize: 256 }), {
    metrics: ['accuracy', 'top5'],
  });
  console.log(
    `${file}: test accuracy ${(r.accuracy * 100).toFixed(2)}%, top-5 ${(r.top5 * 100).toFixed(2)}%, loss ${r.loss.toFixed(4)} on ${test.length} images (${test.dir})`,
  );
}

function readImages(files: string[]): { names: string[]; inputs: Tensor } {
  const names: string[] = [];
  const pixels: Float32Array[] = [];
  for (const f of files) {
    const bytes = fs.readFileSync(requireFile('IMAGE', f));
    if (bytes[0] === 0x89 && bytes[1] === 0x50) {
      const img = resizeGray(decodePng(bytes, f), 28, 28);
      names.push(f);
      pixels.push(img.data);
    } else {
      const idx = readIdx(f);
      if (idx.shape.length !== 3 || idx.shape[1] !== 28 || idx.shape[2] !== 28) {
        throw new UsageError(
          `IMAGE ${f}: an IDX image file must hold [N,28,28] images, got [${idx.shape.join(',')}]`,
        );
      }
      for (let i = 0; i < idx.shape[0]; i++) {
        const img = new Float32Array(784);
        for (let j = 0; j < 784; j++) img[j] = Number(idx.data[i * 784 + j]) / 255;
        names.push(`${f}[${i}]`);
        pixels.push(img);
      }
    }
  }
  const data = new Float32Array(pixels.length * 784);
  pixels.forEach((p, i) => data.set(p, i * 784));
  return { names, inputs: new Tensor(data, [pixels.length, 1, 28, 28]) };
}

function cmdPredict(argv: string[]): void {
  const { flags, positionals } = parseArgs(argv, PREDICT_FLAGS);
  const file = requireFile('MODEL', positionals[0]);
  if (positionals.length < 2) throw new UsageError('predict needs at least one IMAGE after MODEL');
  if (flags.backend !== undefined) setBackend(flags.backend as BackendName);
  const { names, inputs } = readImages(positionals.slice(1));
  const model = loadModel(file);
  const probs = softmax(predict(model, inputs), -1);
  const c = probs.shape[1];
  const top = Math.min(flags.top as number, c);
  const classes = c === FASHION_MNIST_CLASSES.length ? FASHION_MNIST_CLASSES : null;
  names.forEach((name, i) => {
    const row = Array.from(probs.data.subarray(i * c, (i + 1) * c)).map((p, k) => [p, k] as const);
    row.sort((a, b) => b[0] - a[0]);
    const shown = row
      .slice(0, top)
      .map(([p, k]) => `${classes ? classes[k] : k} ${(p * 100).toFixed(1)}%`);
    console.log(`${name}: ${shown.join(', ')}`);
  });
}

function cmdInfo(argv: string[]): void {
  parseArgs(argv, {});
  const info = backendInfo();
  const lines = [
    `convnet ${VERSION}`,
    `backend: ${info.name}`,
    `instruction set: ${info.isa}`,
    `threads: ${info.threads}`,
  ];
  if (info.reason) lines.push(`native not used because: ${info.reason}`);
  lines.push(
    `node: ${process.version} (N-API ${process.versions.napi})`,
    `platform: ${process.platform}-${process.arch}, ${os.availableParallelism()} cores, ${os.cpus()[0]?.model ?? 'unknown CPU'}`,
  );
  console.log(lines.join('\n'));
}

/** MFLOPs with a precision that suits the size: 0.12, 40.6, 3,628. */
function formatMflops(flops: number): string {
  const m = flops / 1e6;
  if (m >= 1000) return Math.round(m).toLocaleString('en-US');
  return m >= 10 ? m.toFixed(1) : m.toFixed(2);
}

/**
 * Each model with its default options, at the input it is made for (3x224x224 for the ImageNet
 * zoo, 3x32x32 for the CIFAR ResNets, 1x28x28 for the small ones). Models whose zoo entry can
 * tally itself are not built: drawing ResNeXt-101's 88 million weights alone takes seconds.
 */
function cmdModels(argv: string[]): void {
  parseArgs(argv, {});
  const rows = zooEntries().map((e) => {
    const shape = e.inputShape?.({}) ?? [1, 28, 28];
    let params: number;
    let flops: number;
    if (e.stats !== undefined) {
      const s = e.stats({}, shape);
      params = s.params;
      flops = 2 * s.macs;
    } else {
      const model = createModel(e.name);
      params = model.numParameters();
      flops = countFlops(model, shape);
    }
    return [
      e.name,
      params.toLocaleString('en-US'),
      shape.join('x'),
      formatMflops(flops),
      e.description,
    ];
  });
  const head = ['model', 'parameters', 'input', 'MFLOPs/image', 'description'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const right = new Set([1, 3]);
  const fmt = (r: string[]) =>
    r
      .map((v, i) => (right.has(i) ? v.padStart(widths[i]) : v.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  console.log(
    [fmt(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(fmt)].join('\n'),
  );
  console.log(
    '\nFLOPs: 2 per multiply-add of the convolutions and linear layers, for one image of the input shown.',
  );
}

async function cmdDownload(argv: string[]): Promise<void> {
  const { flags, positionals } = parseArgs(argv, DOWNLOAD_FLAGS);
  const name = positionals[0];
  if (name === undefined || !(name in DATASET_CATALOG)) {
    throw new UsageError(
      `download needs a dataset name: ${Object.keys(DATASET_CATALOG).join(', ')}; got ${name ?? 'nothing'}`,
    );
  }
  const dir =
    (flags.dir as string | undefined) ??
    (process.env.CONVNET_DATA
      ? path.join(process.env.CONVNET_DATA, name)
      : path.join(os.homedir(), '.cache', 'convnet', name));
  await downloadDataset(name as DatasetName, {
    dir,
    baseUrl: flags['base-url'] as string | undefined,
    onFile: (f) =>
      console.log(`${f.skipped ? 'kept' : 'fetched'} ${f.path} (${f.bytes} bytes, verified)`),
  });
  console.log(`${name} is in ${dir}`);
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case 'train': {
        const s = await runTrain(parseArgs(rest, TRAIN_FLAGS));
        return s.interrupted ? 130 : 0;
      }
      case 'eval':
        await cmdEval(rest);
        return 0;
      case 'predict':
        cmdPredict(rest);
        return 0;
      case 'info':
        cmdInfo(rest);
        return 0;
      case 'models':
        cmdModels(rest);
        return 0;
      case 'download':
        await cmdDownload(rest);
        return 0;
      case '--version':
      case 'version':
        console.log(VERSION);
        return 0;
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        console.log(USAGE);
        return cmd === undefined ? 1 : 0;
      default:
        throw new UsageError(`unknown command '${cmd}'; run 'convnet help'`);
    }
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    console.error(`convnet ${cmd ?? ''}: ${msg}`.replace('  ', ' '));
    return e instanceof UsageError ? 2 : 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
