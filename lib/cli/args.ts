/**
 * Command-line parsing for `convnet`: flags are declared once per command with their type, so
 * every bad value is rejected in one line before any work starts.
 */

export type FlagType = 'string' | 'int' | 'number' | 'boolean';

export interface FlagSpec {
  type: FlagType;
  description: string;
  /** Allowed values for string flags. */
  choices?: readonly string[];
  /** Smallest allowed value for int/number flags. */
  min?: number;
  /** Largest allowed value for int/number flags. */
  max?: number;
  /** Shown in help; also the value when the flag is absent. */
  default?: string | number | boolean;
}

export class UsageError extends Error {}

export interface ParsedArgs {
  flags: Record<string, string | number | boolean | undefined>;
  positionals: string[];
}

function parseValue(flag: string, spec: FlagSpec, raw: string): string | number {
  if (spec.type === 'string') {
    if (spec.choices && !spec.choices.includes(raw)) {
      throw new UsageError(`--${flag} must be one of ${spec.choices.join(', ')}, got '${raw}'`);
    }
    return raw;
  }
  const v = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(v)) {
    throw new UsageError(`--${flag} must be a number, got '${raw}'`);
  }
  if (spec.type === 'int' && !Number.isInteger(v)) {
    throw new UsageError(`--${flag} must be a whole number, got '${raw}'`);
  }
  if (spec.min !== undefined && v < spec.min)
    throw new UsageError(`--${flag} must be at least ${spec.min}, got ${raw}`);
  if (spec.max !== undefined && v > spec.max)
    throw new UsageError(`--${flag} must be at most ${spec.max}, got ${raw}`);
  return v;
}

/** Parses `--name value`, `--name=value` and boolean `--name`; unknown flags are errors. */
export function parseArgs(argv: readonly string[], specs: Record<string, FlagSpec>): ParsedArgs {
  const flags: ParsedArgs['flags'] = {};
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('--')) {
      if (arg.startsWith('-') && arg.length > 1 && Number.isNaN(Number(arg))) {
        throw new UsageError(`unknown option '${arg}' (options are written --name)`);
      }
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    const spec = specs[name];
    if (spec === undefined) {
      throw new UsageError(
        `unknown option '--${name}'; known: ${Object.keys(specs)
          .map((k) => '--' + k)
          .join(' ')}`,
      );
    }
    if (spec.type === 'boolean') {
      if (eq !== -1) {
        const raw = arg.slice(eq + 1);
        if (raw !== 'true' && raw !== 'false')
          throw new UsageError(`--${name} takes no value or true/false, got '${raw}'`);
        flags[name] = raw === 'true';
      } else {
        flags[name] = true;
      }
      continue;
    }
    let raw: string;
    if (eq !== -1) raw = arg.slice(eq + 1);
    else {
      if (i + 1 >= argv.length) throw new UsageError(`--${name} needs a value`);
      raw = argv[++i];
    }
    flags[name] = parseValue(name, spec, raw);
  }
  for (const [name, spec] of Object.entries(specs)) {
    if (flags[name] === undefined && spec.default !== undefined) flags[name] = spec.default;
  }
  return { flags, positionals };
}

export function formatFlags(specs: Record<string, FlagSpec>): string {
  const rows = Object.entries(specs).map(([name, s]) => {
    const value =
      s.type === 'boolean'
        ? ''
        : s.choices
          ? ` ${s.choices.join('|')}`
          : ` ${s.type === 'string' ? 'VALUE' : 'N'}`;
    const def = s.default !== undefined && s.type !== 'boolean' ? ` (default ${s.default})` : '';
    return [`  --${name}${value}`, `${s.description}${def}`];
  });
  const w = Math.max(...rows.map((r) => r[0].length)) + 2;
  return rows.map(([a, b]) => a.padEnd(w) + b).join('\n');
}
