/** Runs every peer in turn (never concurrently with each other or with convnet's measurements). */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensurePeerPackages } from './install.js';
import { runOnnxRuntimePeer } from './onnxruntime.js';
import type { PeersReport } from './peer-figure.js';
import { DEFAULT_PYTHON, runPytorchPeer } from './pytorch.js';
import { runTfjsPeer } from './tfjs.js';

export interface PeersOptions {
  threads: number;
  quick: boolean;
  /** npm-install missing peer packages into bench/peers/node_modules. */
  install: boolean;
  /** Default: CONVNET_BENCH_PYTHON or /usr/bin/python3. */
  python?: string;
  log?: (line: string) => void;
}

export function runPeers(o: PeersOptions): PeersReport {
  if (!Number.isInteger(o.threads) || o.threads < 1) {
    throw new RangeError(`runPeers: threads must be a positive integer, got ${o.threads}`);
  }
  const log = o.log ?? (() => {});
  const report: PeersReport = { figures: [], notes: [] };
  const installed = ensurePeerPackages(o.install, log);
  if (installed.note !== null) report.notes.push(`peers' npm packages: ${installed.note}`);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'convnet-bench-'));
  try {
    const python = o.python ?? (process.env.CONVNET_BENCH_PYTHON || DEFAULT_PYTHON);
    log(`peers: PyTorch (${python}), ${o.threads} threads`);
    const torch = runPytorchPeer({
      python,
      threads: o.threads,
      quick: o.quick,
      onnxOut: path.join(tmp, 'reference-cnn.onnx'),
    });
    report.figures.push(...torch.figures);
    report.notes.push(...torch.notes);

    if (torch.onnx === null) {
      report.notes.push(
        'onnxruntime-node: skipped, it runs the ONNX model that the PyTorch peer exports',
      );
    } else {
      log(`peers: onnxruntime-node, ${o.threads} threads`);
      const ort = runOnnxRuntimePeer({
        model: torch.onnx,
        threads: o.threads,
        batch: 256,
        reps: o.quick ? 3 : 10,
      });
      report.figures.push(...ort.figures);
      report.notes.push(...ort.notes);
    }

    log('peers: TF.js pure-JS CPU backend (tens of seconds per batch-64 step)');
    const tfjs = runTfjsPeer(
      o.quick ? { batch: 16, reps: 1, warmupBatch: 4 } : { batch: 64, reps: 2, warmupBatch: 8 },
    );
    report.figures.push(...tfjs.figures);
    report.notes.push(...tfjs.notes);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  return report;
}
