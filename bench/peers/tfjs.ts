/**
 * The TF.js peer: the reference CNN trained on TF.js's pure-JavaScript CPU backend
 * (@tensorflow/tfjs, not tfjs-node), the alternative a user without native code would pick; it
 * is what convnet's TS backend is compared with.
 */
import path from 'node:path';
import { peerInstalled, peersDir } from './install.js';
import { peerFigure, runJsonChild, type PeerFigure } from './peer-figure.js';

export interface TfjsPeerOptions {
  batch: number;
  reps: number;
  /** The warm-up step's batch (a full one takes tens of seconds on this backend). */
  warmupBatch: number;
}

export function runTfjsPeer(o: TfjsPeerOptions): { figures: PeerFigure[]; notes: string[] } {
  if (!peerInstalled('@tensorflow/tfjs')) {
    return {
      figures: [],
      notes: [
        'TF.js: skipped, @tensorflow/tfjs not installed in bench/peers (npm run bench:peers-install)',
      ],
    };
  }
  const script = path.join(peersDir(), 'tfjs_bench.cjs');
  const args = [
    script,
    '--batch',
    String(o.batch),
    '--reps',
    String(o.reps),
    '--warmup-batch',
    String(o.warmupBatch),
  ];
  const r = runJsonChild(process.execPath, args, { timeoutSeconds: 900 });
  if ('error' in r) return { figures: [], notes: [`TF.js: skipped, ${r.error}`] };
  const fig = peerFigure(
    {
      source: 'tfjs',
      peer: `TF.js ${String(r.json.version)} ${String(r.json.backend)} backend (pure JS)`,
      task: 'reference-cnn-train',
      unit: 'images/s',
      threads: 1,
      batch: o.batch,
    },
    r.json.seconds as number[],
    o.batch,
  );
  return { figures: [fig], notes: [] };
}
