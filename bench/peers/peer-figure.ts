/**
 * What a peer measurement yields, and the one way peers are run: a child process that prints one
 * JSON object as its last line of stdout. Children keep each peer's threads, globals and memory
 * out of convnet's process and out of each other's.
 */
import { spawnSync } from 'node:child_process';
import { rateOf, summarizeSeconds, type Rate } from '../timing.js';

export type PeerSource = 'openblas' | 'pytorch' | 'onnxruntime' | 'tfjs';

/** 'gemm-1024', 'reference-cnn-train', 'reference-cnn-infer', 'resnet18-cifar-train'. */
export type PeerTask =
  'gemm-1024' | 'reference-cnn-train' | 'reference-cnn-infer' | 'resnet18-cifar-train';

export interface PeerFigure {
  source: PeerSource;
  /** Display name with version, e.g. 'PyTorch 1.13.0 CPU'. */
  peer: string;
  task: PeerTask;
  unit: 'GFLOP/s' | 'images/s';
  threads: number;
  batch: number | null;
  rate: Rate;
}

export interface PeersReport {
  figures: PeerFigure[];
  /** Why a peer or a figure is missing, and how the peers were set up. */
  notes: string[];
}

/** A figure from per-call seconds; `work` per call is FLOPs (GFLOP/s) or images. */
export function peerFigure(
  f: Omit<PeerFigure, 'rate'>,
  seconds: readonly number[],
  work: number,
): PeerFigure {
  const scale = f.unit === 'GFLOP/s' ? 1e9 : 1;
  return { ...f, rate: rateOf(work, summarizeSeconds(seconds), scale) };
}

export type ChildResult = { json: Record<string, unknown> } | { error: string };

/** Runs a command and parses the last stdout line that is a JSON object. */
export function runJsonChild(
  command: string,
  args: readonly string[],
  opts: { env?: NodeJS.ProcessEnv; timeoutSeconds: number; cwd?: string },
): ChildResult {
  const r = spawnSync(command, args, {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: opts.timeoutSeconds * 1000,
    maxBuffer: 64 * 1024 * 1024,
  });
  const tail = (s: string | null): string =>
    (s ?? '').trim().split('\n').slice(-4).join(' | ').slice(-600);
  if (r.error !== undefined) return { error: `${command} could not run: ${r.error.message}` };
  if (r.signal !== null)
    return { error: `${command} was stopped by ${r.signal} (timeout ${opts.timeoutSeconds} s?)` };
  if (r.status !== 0)
    return { error: `${command} exited with ${r.status}: ${tail(r.stderr) || tail(r.stdout)}` };
  const line = r.stdout
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith('{'))
    .pop();
  if (line === undefined) return { error: `${command} printed no JSON: ${tail(r.stdout)}` };
  try {
    return { json: JSON.parse(line) as Record<string, unknown> };
  } catch (e) {
    return {
      error: `${command} printed invalid JSON (${(e as Error).message}): ${line.slice(0, 200)}`,
    };
  }
}
