/**
 * The peers' npm packages (onnxruntime-node, @tensorflow/tfjs) live in bench/peers/package.json
 * and are installed on demand into bench/peers/node_modules, so convnet's own install and CI
 * never fetch them. onnxruntime-node's install script would fetch CUDA binaries from NuGet on
 * linux-x64; ONNXRUNTIME_NODE_INSTALL=skip keeps the install inside the npm registry (its CPU
 * execution provider ships in the npm tarball).
 *
 *   npm run bench:peers-install
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../../lib/package-root.js';

export function peersDir(): string {
  return path.join(packageRoot(), 'bench', 'peers');
}

/** The peers' package names, from bench/peers/package.json. */
export function peerPackages(): string[] {
  const file = path.join(peersDir(), 'package.json');
  const pkg = JSON.parse(fs.readFileSync(file, 'utf8')) as {
    dependencies?: Record<string, string>;
  };
  return Object.keys(pkg.dependencies ?? {});
}

/** Whether `name` is installed under bench/peers/node_modules. */
export function peerInstalled(name: string): boolean {
  if (typeof name !== 'string' || name === '') {
    throw new TypeError(`peerInstalled: name must be a package name, got ${JSON.stringify(name)}`);
  }
  return fs.existsSync(path.join(peersDir(), 'node_modules', ...name.split('/'), 'package.json'));
}

export interface PeerInstallResult {
  /** Packages missing after the attempt (empty: all there). */
  missing: string[];
  /** What happened, for the report. */
  note: string | null;
}

/** An environment for a child npm: without the npm_* variables of an enclosing `npm run`. */
function childNpmEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^npm_/i.test(k)) env[k] = v;
  }
  env.ONNXRUNTIME_NODE_INSTALL = 'skip';
  return env;
}

/** Installs the missing peers (all of bench/peers/package.json) unless `install` is false. */
export function ensurePeerPackages(
  install: boolean,
  log: (line: string) => void = () => {},
): PeerInstallResult {
  const missing = peerPackages().filter((p) => !peerInstalled(p));
  if (missing.length === 0) return { missing, note: null };
  if (!install) {
    return {
      missing,
      note: `not installed: ${missing.join(', ')} (run npm run bench:peers-install)`,
    };
  }
  const dir = peersDir();
  log(
    `peers: npm install ${missing.join(' ')} into ${path.join(dir, 'node_modules')} (about 600 MB)`,
  );
  const r = spawnSync(
    process.platform === 'win32' ? 'npm.cmd' : 'npm',
    [
      'install',
      '--prefix',
      dir,
      '--no-audit',
      '--no-fund',
      '--no-package-lock',
      '--loglevel=error',
    ],
    {
      cwd: dir,
      env: childNpmEnv(),
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 15 * 60_000,
      shell: process.platform === 'win32',
    },
  );
  const still = peerPackages().filter((p) => !peerInstalled(p));
  if (still.length === 0) return { missing: still, note: null };
  const why =
    r.error !== undefined
      ? r.error.message
      : `npm exited with ${r.status}: ${(r.stderr || r.stdout || '').trim().split('\n').slice(-3).join(' ')}`;
  return { missing: still, note: `npm install of ${still.join(', ')} failed (${why})` };
}

function main(): void {
  const r = ensurePeerPackages(true, (l) => console.log(l));
  if (r.missing.length > 0) {
    console.error(`bench:peers-install: ${r.note}`);
    process.exitCode = 1;
    return;
  }
  console.log(
    `bench:peers-install: ${peerPackages().join(', ')} installed in ${path.join(peersDir(), 'node_modules')}`,
  );
}

// Guarded so that importing this file (the bench, the tests) never installs anything.
if (typeof require !== 'undefined' && typeof module !== 'undefined' && require.main === module)
  main();
