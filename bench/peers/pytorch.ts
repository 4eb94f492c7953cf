/**
 * The PyTorch peer: bench/peers/pytorch_bench.py under /usr/bin/python3 (Debian's python3-torch;
 * CONVNET_BENCH_PYTHON picks another interpreter). It measures numpy/OpenBLAS sgemm 1024^3, the
 * reference CNN's training and inference, ResNet-18 (CIFAR layout) training, and exports the
 * reference CNN to ONNX for the onnxruntime-node peer.
 */
import fs from 'node:fs';
import path from 'node:path';
import { peersDir } from './install.js';
import { peerFigure, runJsonChild, type PeerFigure } from './peer-figure.js';

export const DEFAULT_PYTHON = '/usr/bin/python3';

export interface PytorchPeerOptions {
  python: string;
  threads: number;
  quick: boolean;
  /** Where to write the reference CNN as ONNX, or null. */
  onnxOut: string | null;
  skipResnet?: boolean;
  timeoutSeconds?: number;
}

export interface PytorchPeerResult {
  figures: PeerFigure[];
  notes: string[];
  /** The ONNX file written, or null. */
  onnx: string | null;
}

function secondsOf(v: unknown): number[] | null {
  const s = (v as { seconds?: unknown } | undefined)?.seconds;
  return Array.isArray(s) && s.length > 0 && s.every((x) => typeof x === 'number' && x > 0)
    ? (s as number[])
    : null;
}

function blasLabel(entry: Record<string, unknown>): string {
  const blas = String(entry.blas ?? 'BLAS');
  const version = /r(\d+\.\d+\.\d+)/.exec(blas)?.[1];
  const name = blas.split(' (')[0];
  return `${name}${version !== undefined ? ` ${version}` : ''} (numpy ${String(entry.numpy ?? '?')})`;
}

/** Turns pytorch_bench.py's JSON into figures (pure; the tests feed it canned output). */
export function pytorchFigures(json: Record<string, unknown>): {
  figures: PeerFigure[];
  notes: string[];
} {
  if (json === null || typeof json !== 'object') {
    throw new TypeError(
      `pytorchFigures: json must be the script's JSON object, got ${json === null ? 'null' : typeof json}`,
    );
  }
  const figures: PeerFigure[] = [];
  const notes: string[] = [];
  for (const entry of (Array.isArray(json.sgemm) ? json.sgemm : []) as Record<string, unknown>[]) {
    const seconds = secondsOf(entry);
    if (seconds === null) {
      notes.push(`OpenBLAS sgemm: ${String(entry.error ?? 'no timings')}`);
      continue;
    }
    const n = Number(entry.n);
    figures.push(
      peerFigure(
        {
          source: 'openblas',
          peer: blasLabel(entry),
          task: 'gemm-1024',
          unit: 'GFLOP/s',
          threads: Number(entry.threads),
          batch: null,
        },
        seconds,
        2 * n * n * n,
      ),
    );
  }
  const torch = `PyTorch ${String(json.torch ?? '?')} CPU`;
  const threads = Number(json.torch_threads ?? json.threads);
  const tasks: [string, PeerFigure['task']][] = [
    ['reference_cnn_train', 'reference-cnn-train'],
    ['reference_cnn_infer', 'reference-cnn-infer'],
    ['resnet18_cifar_train', 'resnet18-cifar-train'],
  ];
  for (const [key, task] of tasks) {
    const entry = json[key] as Record<string, unknown> | undefined;
    if (entry === undefined) continue;
    const seconds = secondsOf(entry);
    if (seconds === null) {
      notes.push(`PyTorch ${task}: no timings`);
      continue;
    }
    const batch = Number(entry.batch);
    figures.push(
      peerFigure(
        { source: 'pytorch', peer: torch, task, unit: 'images/s', threads, batch },
        seconds,
        batch,
      ),
    );
  }
  return { figures, notes };
}

export function runPytorchPeer(o: PytorchPeerOptions): PytorchPeerResult {
  if (typeof o.python !== 'string' || o.python === '') {
    throw new TypeError(
      `runPytorchPeer: python must be an interpreter path, got ${JSON.stringify(o.python)}`,
    );
  }
  if (!Number.isInteger(o.threads) || o.threads < 1) {
    throw new RangeError(`runPytorchPeer: threads must be a positive integer, got ${o.threads}`);
  }
  if (path.isAbsolute(o.python) && !fs.existsSync(o.python)) {
    return {
      figures: [],
      notes: [`PyTorch: skipped, ${o.python} does not exist (apt-get install python3-torch)`],
      onnx: null,
    };
  }
  const args = [path.join(peersDir(), 'pytorch_bench.py'), '--threads', String(o.threads)];
  if (o.quick) args.push('--quick');
  if (o.skipResnet === true) args.push('--skip-resnet');
  if (o.onnxOut !== null) args.push('--onnx-out', o.onnxOut);
  const env = {
    ...process.env,
    OPENBLAS_NUM_THREADS: String(o.threads),
    OMP_NUM_THREADS: String(o.threads),
  };
  const r = runJsonChild(o.python, args, { env, timeoutSeconds: o.timeoutSeconds ?? 900 });
  if ('error' in r) {
    const missingTorch = /No module named 'torch'/.test(r.error);
    return {
      figures: [],
      notes: [
        missingTorch
          ? `PyTorch: skipped, ${o.python} has no torch (apt-get install python3-torch, or set CONVNET_BENCH_PYTHON)`
          : `PyTorch: skipped, ${r.error}`,
      ],
      onnx: null,
    };
  }
  const { figures, notes } = pytorchFigures(r.json);
  const onnx = typeof r.json.onnx === 'string' && fs.existsSync(r.json.onnx) ? r.json.onnx : null;
  if (o.onnxOut !== null && onnx === null) notes.push('PyTorch: the ONNX export was not written');
  return { figures, notes, onnx };
}
