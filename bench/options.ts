/** Command-line flags of `npm run bench`. */
import os from 'node:os';

export const SECTIONS = ['kernels', 'e2e', 'memory', 'peers'] as const;
export type Section = (typeof SECTIONS)[number];

export interface BenchOptions {
  /** Small shapes and few repetitions: the whole bench in under a minute (CI smoke). */
  quick: boolean;
  /** Print one JSON report on stdout instead of tables (progress still goes to stderr). */
  json: boolean;
  /** Run one section only; null runs all (peers are left out of --quick unless named here). */
  only: Section | null;
  /** The "all threads" count, for convnet's pool and the peers (default: the machine's cores). */
  threads: number;
  /** Install the peers' npm packages when they are missing (default true; --no-install). */
  installPeers: boolean;
  help: boolean;
}

export const USAGE = `usage: npm run bench -- [--quick] [--json] [--only kernels|e2e|memory|peers] [--threads N] [--no-install]

  --quick        small shapes, few repetitions (under a minute; peers only with --only peers)
  --json         one machine-readable JSON report on stdout (progress goes to stderr)
  --only S       run one section: kernels, e2e, memory (10,000 training steps) or peers
  --threads N    threads for the "all threads" figures and for the peers (default: ${os.availableParallelism()})
  --no-install   do not npm-install missing peers into bench/peers/node_modules; skip them
  --help         this text

Figures are medians over repetitions after warm-up; the bench never asserts a speed.`;

function valueOf(argv: readonly string[], i: number, flag: string): [string, number] {
  const a = argv[i];
  if (a.includes('=')) return [a.slice(a.indexOf('=') + 1), i];
  if (i + 1 >= argv.length) throw new RangeError(`parseBenchArgs: ${flag} needs a value`);
  return [argv[i + 1], i + 1];
}

export function parseBenchArgs(argv: readonly string[]): BenchOptions {
  if (!Array.isArray(argv)) {
    throw new TypeError(`parseBenchArgs: argv must be an array of strings, got ${typeof argv}`);
  }
  const o: BenchOptions = {
    quick: false,
    json: false,
    only: null,
    threads: os.availableParallelism(),
    installPeers: true,
    help: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const flag = a.split('=')[0];
    switch (flag) {
      case '--quick':
        o.quick = true;
        break;
      case '--json':
        o.json = true;
        break;
      case '--no-install':
        o.installPeers = false;
        break;
      case '--help':
      case '-h':
        o.help = true;
        break;
      case '--only': {
        const [v, j] = valueOf(argv, i, flag);
        if (!(SECTIONS as readonly string[]).includes(v)) {
          throw new RangeError(
            `parseBenchArgs: --only must be one of ${SECTIONS.join(', ')}, got ${JSON.stringify(v)}`,
          );
        }
        o.only = v as Section;
        i = j;
        break;
      }
      case '--threads': {
        const [v, j] = valueOf(argv, i, flag);
        const n = Number(v);
        if (!Number.isInteger(n) || n < 1) {
          throw new RangeError(
            `parseBenchArgs: --threads must be a positive integer, got ${JSON.stringify(v)}`,
          );
        }
        o.threads = n;
        i = j;
        break;
      }
      default:
        throw new RangeError(`parseBenchArgs: unknown argument ${JSON.stringify(a)}\n${USAGE}`);
    }
  }
  return o;
}

/** Whether a section runs under these options. */
export function runsSection(o: BenchOptions, s: Section): boolean {
  if (o.only !== null) return o.only === s;
  return s !== 'peers' || !o.quick;
}
