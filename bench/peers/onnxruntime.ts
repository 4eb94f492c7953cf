/** The onnxruntime-node peer: inference of the ONNX reference CNN on its CPU execution provider. */
import path from 'node:path';
import { peerInstalled, peersDir } from './install.js';
import { peerFigure, runJsonChild, type PeerFigure } from './peer-figure.js';

export interface OnnxPeerOptions {
  /** The reference CNN as ONNX (from the PyTorch peer). */
  model: string;
  threads: number;
  batch: number;
  reps: number;
}

export function runOnnxRuntimePeer(o: OnnxPeerOptions): { figures: PeerFigure[]; notes: string[] } {
  if (!peerInstalled('onnxruntime-node')) {
    return {
      figures: [],
      notes: [
        'onnxruntime-node: skipped, not installed in bench/peers (npm run bench:peers-install)',
      ],
    };
  }
  const script = path.join(peersDir(), 'onnxruntime_bench.cjs');
  const args = [
    script,
    '--model',
    o.model,
    '--threads',
    String(o.threads),
    '--batch',
    String(o.batch),
    '--reps',
    String(o.reps),
  ];
  const r = runJsonChild(process.execPath, args, { timeoutSeconds: 300 });
  if ('error' in r) return { figures: [], notes: [`onnxruntime-node: skipped, ${r.error}`] };
  const seconds = r.json.seconds as number[];
  const fig = peerFigure(
    {
      source: 'onnxruntime',
      peer: `onnxruntime-node ${String(r.json.version)} CPU`,
      task: 'reference-cnn-infer',
      unit: 'images/s',
      threads: o.threads,
      batch: o.batch,
    },
    seconds,
    o.batch,
  );
  return { figures: [fig], notes: [] };
}
