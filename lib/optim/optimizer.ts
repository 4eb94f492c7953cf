/**
 * Optimizer: the base every optimizer extends. It owns the parameter groups (each with its own lr and
 * options) and the per-parameter state, walks the parameters on `step()`, and saves / restores
 * itself; a subclass only writes the update of one parameter, as a loop over raw Float32Arrays.
 *
 * State dicts follow torch's layout, with parameters referred to by index (numbered across the
 * groups in order):
 *
 * ```
 * {
 *   state: { '0': { step: 3, expAvg: Float32Array [...], ... }, '2': {...} },   // only params that have state
 *   paramGroups: [ { lr: 0.01, momentum: 0.9, ..., params: [0, 1] }, { ..., params: [2] } ],
 * }
 * ```
 *
 * `stateDict()` copies the state arrays as Float32Array (for binary savers); `stateDict({ plainArrays:
 * true })` gives number[] instead, so `JSON.stringify` round-trips it exactly. `loadStateDict`
 * accepts either, and takes the groups' options (lr included) from the dict, as torch does.
 */
import { setGradEnabled } from '../autograd/engine.js';
import { Tensor, formatShape } from '../tensor.js';

/** The options every param group has. */
export interface GroupOptions {
  lr: number;
}

/** A param group: its tensors and its options (the optimizer's defaults, overridden per group). */
export type ParamGroup<O extends GroupOptions = GroupOptions> = O & {
  params: Tensor[];
  /** The lr a scheduler computes its schedule from; set by the first scheduler attached. */
  initialLr?: number;
};

/** A group as passed to the constructor or addParamGroup: params plus any options to override. */
export type ParamGroupInput<O extends GroupOptions = GroupOptions> = Partial<O> & {
  params: Iterable<Tensor>;
  initialLr?: number;
};

/** What an optimizer optimizes: tensors (one group), or groups with their own options. */
export type ParamsInput<O extends GroupOptions = GroupOptions> =
  Tensor | Iterable<Tensor> | Iterable<ParamGroupInput<O>>;

/** A value of per-parameter state: a counter, a buffer the size of the parameter, or not-yet-made. */
export type StateValue = number | Float32Array | null | undefined;
export type ParamState = Record<string, StateValue>;

/**
 * How each state key is checked on load: 'count' a finite number; 'buffer' an array of the
 * parameter's size; 'lazyBuffer' such an array or null (made on first use).
 */
export type StateKind = 'count' | 'buffer' | 'lazyBuffer';

export type SavedStateValue = number | Float32Array | number[] | null;

export interface OptimizerStateDict {
  state: Record<string, Record<string, SavedStateValue>>;
  paramGroups: (Record<string, unknown> & { params: number[] })[];
}

export interface StateDictOptions {
  /** Give state arrays as number[] (JSON-able) rather than Float32Array copies. */
  plainArrays?: boolean;
}

export interface ZeroGradOptions {
  /** true (default): set each grad to null, as torch does; false: fill existing grads with zeros. */
  setToNone?: boolean;
}

/** The description a subclass hands to the base constructor. */
export interface OptimizerSpec<O extends GroupOptions> {
  /** Used in error messages: 'SGD', 'Adam', ... */
  name: string;
  /** Every option with its default; undefined marks a required option (checked by checkOptions). */
  defaults: { [K in keyof O]: O[K] | undefined };
  stateKinds: Readonly<Record<string, StateKind>>;
}

/** Whether a value is a plain object (not an array, tensor, typed array, ...). */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** A short description of a value for error messages. */
export function describeValue(v: unknown): string {
  if (v === undefined) return 'undefined';
  if (v === null) return 'null';
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'function') return 'a function';
  if (v instanceof Tensor) return `a Tensor of shape ${formatShape(v.shape)}`;
  if (ArrayBuffer.isView(v)) return `a ${v.constructor.name}`;
  if (Array.isArray(v)) {
    const s = JSON.stringify(v);
    return s !== undefined && s.length <= 60 ? s : `an array of length ${v.length}`;
  }
  if (isPlainObject(v)) return 'an object';
  return `a ${(v as object).constructor?.name ?? 'object'}`;
}

export function checkNumberInRange(
  where: string,
  key: string,
  v: unknown,
  min: number,
  max: number,
  opts: { minOpen?: boolean; maxOpen?: boolean; what?: string } = {},
): number {
  const ok =
    typeof v === 'number' &&
    !Number.isNaN(v) &&
    (opts.minOpen ? v > min : v >= min) &&
    (opts.maxOpen ? v < max : v <= max) &&
    Number.isFinite(v);
  if (!ok) {
    let what = opts.what;
    if (what === undefined) {
      if (min === 0 && max === Infinity)
        what = opts.minOpen ? 'a positive number' : 'a non-negative number';
      else
        what = `a number in ${opts.minOpen ? '(' : '['}${min}, ${max}${opts.maxOpen ? ')' : ']'}`;
    }
    throw new RangeError(`${where}: ${key} must be ${what}, got ${describeValue(v)}`);
  }
  return v as number;
}

/** A non-negative finite number (lr, weight decay, eps, ...). */
export function checkNonNegative(where: string, key: string, v: unknown): number {
  return checkNumberInRange(where, key, v, 0, Infinity);
}

export function checkBoolean(where: string, key: string, v: unknown): boolean {
  if (typeof v !== 'boolean') {
    throw new TypeError(`${where}: ${key} must be a boolean, got ${describeValue(v)}`);
  }
  return v;
}

export function checkInteger(where: string, key: string, v: unknown, min: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
    const what =
      min === 0
        ? 'a non-negative integer'
        : min === 1
          ? 'a positive integer'
          : `an integer >= ${min}`;
    throw new RangeError(`${where}: ${key} must be ${what}, got ${describeValue(v)}`);
  }
  return v;
}

/** Rejects keys that are not options (typos like `weight_decay` would otherwise be ignored silently). */
export function checkKnownKeys(
  where: string,
  obj: Record<string, unknown>,
  known: readonly string[],
): void {
  for (const k of Object.keys(obj)) {
    if (!known.includes(k)) {
      throw new TypeError(`${where}: unknown option '${k}' (expected one of: ${known.join(', ')})`);
    }
  }
}

/** Array options (betas) are copied so that groups never share, or alias the caller's, arrays. */
function copyOption(v: unknown): unknown {
  return Array.isArray(v) ? [...v] : v;
}

function isIterable(v: unknown): v is Iterable<unknown> {
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof (v as Iterable<unknown>)[Symbol.iterator] === 'function'
  );
}

export abstract class Optimizer<
  O extends GroupOptions = GroupOptions,
  S extends ParamState = ParamState,
> {
  /** The groups, each with its params and options; schedulers and users may change `lr` etc. */
  readonly paramGroups: ParamGroup<O>[] = [];
  /** The options a group gets when it does not override them. */
  readonly defaults: Readonly<O>;
  /** Name used in error messages ('SGD', 'Adam', ...). */
  readonly name: string;
  private readonly stateKinds: Readonly<Record<string, StateKind>>;
  private readonly optionKeys: readonly string[];
  private readonly state = new Map<Tensor, S>();

  protected constructor(params: ParamsInput<O>, options: unknown, spec: OptimizerSpec<O>) {
    this.name = spec.name;
    this.stateKinds = spec.stateKinds;
    this.optionKeys = Object.keys(spec.defaults);
    if (options !== undefined && !isPlainObject(options)) {
      throw new TypeError(`${this.name}: options must be an object, got ${describeValue(options)}`);
    }
    const given = options ?? {};
    checkKnownKeys(this.name, given, this.optionKeys);
    const merged: Record<string, unknown> = {};
    for (const k of this.optionKeys) {
      merged[k] = copyOption(
        given[k] !== undefined ? given[k] : (spec.defaults as Record<string, unknown>)[k],
      );
    }
    this.checkOptions(merged as unknown as O, this.name);
    this.defaults = Object.freeze(merged as unknown as O);

    for (const g of this.normalizeParams(params)) this.addParamGroup(g);
  }

  /** Throws `${where}: <option> must be ..., got ...` for an invalid option. */
  protected abstract checkOptions(options: O, where: string): void;

  /** The state of a parameter with `size` elements before its first update. */
  protected abstract initState(size: number, group: O): S;

  /**
   * Updates one parameter in place: `param` and `grad` have the same length; `state` is this
   * parameter's (mutable) state. Called with graph recording off.
   */
  protected abstract updateParam(param: Float32Array, grad: Float32Array, state: S, group: O): void;

  private normalizeParams(params: ParamsInput<O>): ParamGroupInput<O>[] {
    if (params instanceof Tensor) return [{ params: [params] } as unknown as ParamGroupInput<O>];
    if (!isIterable(params)) {
      throw new TypeError(
        `${this.name}: params must be an iterable of Tensors or of param groups ({ params, ...options }), got ${describeValue(params)}`,
      );
    }
    const items = [...params];
    if (items.length === 0)
      throw new Error(`${this.name}: params is empty; there is nothing to optimize`);
    if (items.every((p) => p instanceof Tensor))
      return [{ params: items as Tensor[] } as unknown as ParamGroupInput<O>];
    const isGroup = isPlainObject(items[0]);
    const odd = items.findIndex((g) => (isGroup ? !isPlainObject(g) : !(g instanceof Tensor)));
    if (odd >= 0) {
      throw new TypeError(
        `${this.name}: params must hold either only Tensors or only param groups ({ params, ...options }); item 0 is ${describeValue(items[0])}, item ${odd} is ${describeValue(items[odd])}`,
      );
    }
    return items as ParamGroupInput<O>[];
  }

  /** Adds a group of params, with options overriding the defaults; like torch's add_param_group. */
  addParamGroup(group: ParamGroupInput<O>): void {
    const where = `${this.name}: param group ${this.paramGroups.length}`;
    if (!isPlainObject(group)) {
      throw new TypeError(
        `${where} must be an object { params, ...options }, got ${describeValue(group)}`,
      );
    }
    checkKnownKeys(where, group, ['params', 'initialLr', ...this.optionKeys]);
    let ps: unknown[];
    if (group.params instanceof Tensor) ps = [group.params];
    else if (isIterable(group.params)) ps = [...group.params];
    else
      throw new TypeError(
        `${where}: params must be an iterable of Tensors, got ${describeValue(group.params)}`,
      );
    if (ps.length === 0) throw new Error(`${where}: params is empty`);

    const seen = new Set<Tensor>();
    for (const g of this.paramGroups) for (const p of g.params) seen.add(p);
    ps.forEach((p, i) => {
      if (!(p instanceof Tensor) || !(p.data instanceof Float32Array)) {
        throw new TypeError(
          `${where}: params[${i}] must be a float32 Tensor, got ${describeValue(p)}`,
        );
      }
      if (p.gradFn !== null) {
        throw new Error(
          `${where}: params[${i}] is not a leaf tensor (it was computed by ${p.gradFn.name}); optimize the tensor it was computed from`,
        );
      }
      if (seen.has(p)) {
        throw new Error(
          `${where}: params[${i}] (shape ${formatShape(p.shape)}) appears more than once among the param groups`,
        );
      }
      seen.add(p);
    });

    const merged: Record<string, unknown> = {};
    for (const k of this.optionKeys) {
      const v = (group as Record<string, unknown>)[k];
      merged[k] = copyOption(v !== undefined ? v : (this.defaults as Record<string, unknown>)[k]);
    }
    this.checkOptions(merged as unknown as O, where);
    if (group.initialLr !== undefined) {
      merged.initialLr = checkNonNegative(where, 'initialLr', group.initialLr);
    }
    merged.params = ps as Tensor[];
    this.paramGroups.push(merged as unknown as ParamGroup<O>);
  }

  /**
   * Clears the gradients of all params: sets them to null (default; the next backward() makes fresh
   * ones), or with `{ setToNone: false }` fills the existing gradient arrays with zeros.
   */
  zeroGrad(options: ZeroGradOptions = {}): void {
    if (!isPlainObject(options)) {
      throw new TypeError(
        `${this.name}.zeroGrad: options must be an object, got ${describeValue(options)}`,
      );
    }
    checkKnownKeys(`${this.name}.zeroGrad`, options, ['setToNone']);
    const setToNone =
      options.setToNone === undefined
        ? true
        : checkBoolean(`${this.name}.zeroGrad`, 'setToNone', options.setToNone);
    for (const g of this.paramGroups) {
      for (const p of g.params) {
        if (p.grad === null) continue;
        if (setToNone) p.grad = null;
        else p.grad.data.fill(0);
      }
    }
  }

  /**
   * Updates every param that has a gradient (params whose grad is null are skipped). `closure`, when
   * given, re-evaluates the model and returns the loss; it is called first (with recording on) and
   * its result returned.
   */
  step(closure?: () => number): number | undefined {
    let loss: number | undefined;
    if (closure !== undefined) {
      if (typeof closure !== 'function') {
        throw new TypeError(
          `${this.name}.step: closure must be a function, got ${describeValue(closure)}`,
        );
      }
      loss = closure();
    }
    const prev = setGradEnabled(false);
    try {
      for (let gi = 0; gi < this.paramGroups.length; gi++) {
        const group = this.paramGroups[gi];
        const ps = group.params;
        for (let pi = 0; pi < ps.length; pi++) {
          const p = ps[pi];
          const grad = p.grad;
          if (grad === null) continue;
          const w = p.data as Float32Array;
          if (grad.size !== w.length || !(grad.data instanceof Float32Array)) {
            throw new Error(
              `${this.name}.step: the gradient of param ${pi} in group ${gi} must be a float32 tensor of shape ${formatShape(p.shape)}, got ${describeValue(grad)}${grad.dtype === 'int32' ? ' (int32)' : ''}`,
            );
          }
          let st = this.state.get(p);
          if (st === undefined) {
            st = this.initState(w.length, group);
            this.state.set(p, st);
          }
          this.updateParam(w, grad.data, st, group);
        }
      }
    } finally {
      setGradEnabled(prev);
    }
    return loss;
  }

  /** The state of one param (undefined before its first update); a live view, for inspection. */
  stateOf(param: Tensor): Readonly<S> | undefined {
    return this.state.get(param);
  }

  /** A copy of the optimizer's state and group options; see the file comment for the layout. */
  stateDict(options: StateDictOptions = {}): OptimizerStateDict {
    const plain = options.plainArrays === true;
    const state: OptimizerStateDict['state'] = {};
    const paramGroups: OptimizerStateDict['paramGroups'] = [];
    let index = 0;
    for (const g of this.paramGroups) {
      const ids: number[] = [];
      for (const p of g.params) {
        const st = this.state.get(p);
        if (st !== undefined) {
          const saved: Record<string, SavedStateValue> = {};
          for (const [k, v] of Object.entries(st)) {
            if (v === undefined) continue;
            saved[k] = v instanceof Float32Array ? (plain ? Array.from(v) : v.slice()) : v;
          }
          state[String(index)] = saved;
        }
        ids.push(index++);
      }
      const savedGroup: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(g)) {
        if (k !== 'params') savedGroup[k] = copyOption(v);
      }
      paramGroups.push({ ...savedGroup, params: ids });
    }
    return { state, paramGroups };
  }

  /**
   * Restores a state dict made by `stateDict()` of an optimizer of the same kind over params of the
   * same shapes, in the same groups. Everything is checked before anything changes.
   */
  loadStateDict(stateDict: OptimizerStateDict): void {
    const where = `${this.name}.loadStateDict`;
    if (
      !isPlainObject(stateDict) ||
      !isPlainObject(stateDict.state) ||
      !Array.isArray(stateDict.paramGroups)
    ) {
      throw new TypeError(
        `${where}: expected an object { state, paramGroups }, got ${describeValue(stateDict)}`,
      );
    }
    const saved = stateDict.paramGroups;
    if (saved.length !== this.paramGroups.length) {
      throw new Error(
        `${where}: the state dict has ${saved.length} param group(s), this optimizer has ${this.paramGroups.length}`,
      );
    }
    const byId = new Map<string, { param: Tensor; group: number }>();
    const newOptions: Record<string, unknown>[] = [];
    saved.forEach((sg, gi) => {
      const gw = `${where}: param group ${gi}`;
      if (!isPlainObject(sg) || !Array.isArray(sg.params)) {
        throw new TypeError(
          `${gw} must be an object with a params array, got ${describeValue(sg)}`,
        );
      }
      const mine = this.paramGroups[gi].params;
      if (sg.params.length !== mine.length) {
        throw new Error(
          `${gw} has ${sg.params.length} param(s) in the state dict, ${mine.length} in this optimizer`,
        );
      }
      sg.params.forEach((id, j) => {
        if (!Number.isInteger(id) || byId.has(String(id))) {
          throw new Error(
            `${gw}: params[${j}] must be a unique integer index, got ${describeValue(id)}`,
          );
        }
        byId.set(String(id), { param: mine[j], group: gi });
      });
      const { params: _ids, ...opts } = sg;
      checkKnownKeys(gw, opts, ['initialLr', ...this.optionKeys]);
      const merged: Record<string, unknown> = {};
      for (const k of this.optionKeys)
        merged[k] =
          k in opts ? opts[k] : (this.paramGroups[gi] as unknown as Record<string, unknown>)[k];
      this.checkOptions(merged as unknown as O, gw);
      if (opts.initialLr !== undefined)
        merged.initialLr = checkNonNegative(gw, 'initialLr', opts.initialLr);
      newOptions.push(merged);
    });

    const newState = new Map<Tensor, S>();
    for (const [id, entry] of Object.entries(stateDict.state)) {
      const target = byId.get(id);
      const sw = `${where}: state of param ${id}`;
      if (target === undefined) throw new Error(`${sw}: no param group lists param ${id}`);
      if (!isPlainObject(entry))
        throw new TypeError(`${sw} must be an object, got ${describeValue(entry)}`);
      const size = target.param.size;
      const fresh = this.initState(size, newOptions[target.group] as unknown as O);
      for (const k of Object.keys(fresh)) {
        if (fresh[k] !== undefined && !(k in entry)) throw new Error(`${sw} is missing '${k}'`);
      }
      const st: Record<string, StateValue> = {};
      for (const [k, v] of Object.entries(entry)) {
        const kind = this.stateKinds[k];
        if (kind === undefined) {
          throw new Error(
            `${sw} has an unknown entry '${k}' (expected: ${Object.keys(this.stateKinds).join(', ')})`,
          );
        }
        if (kind === 'count') {
          if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
            throw new TypeError(
              `${sw}: ${k} must be a non-negative number, got ${describeValue(v)}`,
            );
          }
          st[k] = v;
        } else if (v === null && kind === 'lazyBuffer') {
          st[k] = null;
        } else {
          if (
            !(v instanceof Float32Array) &&
            !(Array.isArray(v) && v.every((x) => typeof x === 'number'))
          ) {
            throw new TypeError(
              `${sw}: ${k} must be a Float32Array or number[], got ${describeValue(v)}`,
            );
          }
          if (v.length !== size) {
            throw new Error(
              `${sw}: ${k} has ${v.length} elements, but the param (shape ${formatShape(target.param.shape)}) has ${size}`,
            );
          }
          st[k] = Float32Array.from(v);
        }
      }
      newState.set(target.param, st as S);
    }

    newOptions.forEach((opts, gi) => {
      const g = this.paramGroups[gi] as unknown as Record<string, unknown>;
      for (const [k, v] of Object.entries(opts)) g[k] = copyOption(v);
    });
    this.state.clear();
    for (const [p, st] of newState) this.state.set(p, st);
  }
}
