/**
 * Module: the base class of every layer and model. A module owns parameters (trainable tensors),
 * buffers (state that is saved but not trained, such as BatchNorm's running statistics) and child
 * modules, each registered under a name; names compose into torch-style dotted paths
 * (`features.0.weight`) used by namedParameters(), stateDict() and loadStateDict().
 *
 * Writing a module:
 *
 *   class Net extends Module {
 *     declare readonly fc1: Linear;
 *     declare readonly fc2: Linear;
 *     constructor() {
 *       super();
 *       this.registerModule('fc1', new Linear(784, 100));
 *       this.registerModule('fc2', new Linear(100, 10));
 *     }
 *     forward(x: Tensor): Tensor {
 *       return this.fc2.call(relu(this.fc1.call(x)));
 *     }
 *   }
 *   const y = new Net().call(x);
 *
 * Registration defines a property of the same name on the instance (so `this.fc1` works; `declare`
 * only tells TypeScript about it). Assigning to that property later re-registers the new value.
 *
 * Invocation: subclasses implement `forward(...)`; callers use `call(...)`, which runs `forward`
 * and then the forward hooks (summary() relies on them). Calling `forward` directly works but
 * skips the hooks.
 */
import { noGrad } from '../autograd/engine.js';
import { formatShape, Tensor, zeros } from '../tensor.js';

export type ForwardHook = (module: Module, inputs: readonly Tensor[], output: Tensor) => void;

/** A state dictionary: dotted name -> tensor, as produced by stateDict(). */
export type StateDict = Record<string, Tensor>;

export interface LoadStateDictOptions {
  /** Require the keys to match exactly (default true). Shape mismatches always throw, as in PyTorch. */
  strict?: boolean;
}

export interface LoadStateDictResult {
  missingKeys: string[];
  unexpectedKeys: string[];
}

export interface SummaryRow {
  /** Dotted path of the module inside the model ('' for the model itself). */
  name: string;
  /** The module's class name. */
  type: string;
  /** Output shape of the forward pass, with the batch dimension shown as -1. */
  outputShape: number[];
  /** Parameters owned directly by this module. */
  params: number;
}

export interface ModelSummary {
  rows: SummaryRow[];
  totalParams: number;
  trainableParams: number;
  nonTrainableParams: number;
  /** The Keras-style table. */
  text: string;
  toString(): string;
}

export interface SummaryOptions {
  /** Batch size of the zero input (default 1). */
  batchSize?: number;
  /** Also print the table with console.log (default false). */
  print?: boolean;
}

type Slot = 'parameter' | 'buffer' | 'module';

const warnedUnregistered = new Set<string>();

function checkName(owner: string, fn: string, name: unknown): string {
  if (typeof name !== 'string' || name === '' || name.includes('.')) {
    throw new TypeError(
      `${owner}.${fn}: name must be a non-empty string without '.', got ${JSON.stringify(name)}`,
    );
  }
  return name;
}

export abstract class Module {
  /** Training mode (dropout active, BatchNorm uses batch statistics); switch with train()/eval(). */
  training = true;
  private readonly moduleParameters = new Map<string, Tensor | null>();
  private readonly moduleBuffers = new Map<string, Tensor | null>();
  private readonly nonPersistentBuffers = new Set<string>();
  private readonly childModules = new Map<string, Module | null>();
  private readonly forwardHooks = new Set<ForwardHook>();

  /** The computation; subclasses implement it. Invoke modules with `call` so hooks run. */
  abstract forward(...inputs: Tensor[]): Tensor;

  /** Runs forward(...inputs) and then the forward hooks; the idiomatic way to invoke a module. */
  call(...inputs: Parameters<this['forward']>): Tensor {
    const out = (this.forward as (...a: Tensor[]) => Tensor)(...(inputs as Tensor[]));
    for (const hook of this.forwardHooks) hook(this, inputs as Tensor[], out);
    return out;
  }

  /** Adds a hook called after every `call`; returns a function that removes it. */
  registerForwardHook(hook: ForwardHook): () => void {
    if (typeof hook !== 'function') {
      throw new TypeError(
        `${this.typeName}.registerForwardHook: hook must be a function, got ${typeof hook}`,
      );
    }
    const h = (m: Module, i: readonly Tensor[], o: Tensor): void => hook(m, i, o);
    this.forwardHooks.add(h);
    return () => {
      this.forwardHooks.delete(h);
    };
  }

  /** Whether any forward hook is registered (a fused inference path must then not skip call()). */
  hasForwardHooks(): boolean {
    return this.forwardHooks.size > 0;
  }

  /** The class name, used in messages, toString() and summary(). */
  get typeName(): string {
    return this.constructor.name;
  }

  private slotOf(name: string): Slot | null {
    if (this.moduleParameters.has(name)) return 'parameter';
    if (this.moduleBuffers.has(name)) return 'buffer';
    if (this.childModules.has(name)) return 'module';
    return null;
  }

  /** Makes `this[name]` read the registry, and assignment re-register into the same slot. */
  private defineSlot(fn: string, name: string, slot: Slot): void {
    const existing = this.slotOf(name);
    if (existing !== null && existing !== slot) {
      throw new Error(`${this.typeName}.${fn}: '${name}' is already registered as a ${existing}`);
    }
    if (existing === null && name in this) {
      const desc = Object.getOwnPropertyDescriptor(this, name);
      // A class field declared without `declare` is an own data property holding undefined: fine to replace.
      if (desc === undefined || !('value' in desc) || desc.value !== undefined) {
        throw new Error(
          `${this.typeName}.${fn}: '${name}' is already an attribute of the module; pick another name`,
        );
      }
    }
    if (existing !== null) return;
    Object.defineProperty(this, name, {
      configurable: true,
      enumerable: true,
      get: () => {
        if (slot === 'parameter') return this.moduleParameters.get(name);
        if (slot === 'buffer') return this.moduleBuffers.get(name);
        return this.childModules.get(name);
      },
      set: (v: unknown) => {
        if (slot === 'parameter') this.registerParameter(name, v as Tensor | null);
        else if (slot === 'buffer')
          this.registerBuffer(name, v as Tensor | null, {
            persistent: !this.nonPersistentBuffers.has(name),
          });
        else this.registerModule(name, v as Module | null);
      },
    });
  }

  /**
   * Registers a trainable tensor (made to require gradients unless `requiresGrad: false`), or null
   * for an absent optional parameter (e.g. a layer built with bias: false). Returns it.
   */
  registerParameter<T extends Tensor | null>(
    name: string,
    t: T,
    opts: { requiresGrad?: boolean } = {},
  ): T {
    const fn = 'registerParameter';
    checkName(this.typeName, fn, name);
    if (t !== null) {
      if (!(t instanceof Tensor)) {
        throw new TypeError(
          `${this.typeName}.${fn}: '${name}' must be a Tensor or null, got ${typeof t}`,
        );
      }
      if (t.dtype !== 'float32')
        throw new TypeError(
          `${this.typeName}.${fn}: '${name}' must be a float32 tensor, got int32`,
        );
      if (!t.isLeaf) {
        throw new Error(
          `${this.typeName}.${fn}: '${name}' must be a leaf tensor (not the result of an op); use detach()`,
        );
      }
      t.setRequiresGrad(opts.requiresGrad ?? true);
    }
    this.defineSlot(fn, name, 'parameter');
    this.moduleParameters.set(name, t);
    return t;
  }

  /** Registers a non-trainable tensor saved in stateDict() unless `persistent: false`. Returns it. */
  registerBuffer<T extends Tensor | null>(
    name: string,
    t: T,
    opts: { persistent?: boolean } = {},
  ): T {
    const fn = 'registerBuffer';
    checkName(this.typeName, fn, name);
    if (t !== null && !(t instanceof Tensor)) {
      throw new TypeError(
        `${this.typeName}.${fn}: '${name}' must be a Tensor or null, got ${typeof t}`,
      );
    }
    this.defineSlot(fn, name, 'buffer');
    this.moduleBuffers.set(name, t);
    if (opts.persistent === false) this.nonPersistentBuffers.add(name);
    else this.nonPersistentBuffers.delete(name);
    return t;
  }

  /** Registers a child module (its parameters become this module's, prefixed by `name.`). Returns it. */
  registerModule<T extends Module | null>(name: string, m: T): T {
    const fn = 'registerModule';
    checkName(this.typeName, fn, name);
    if (m !== null && !(m instanceof Module)) {
      throw new TypeError(
        `${this.typeName}.${fn}: '${name}' must be a Module or null, got ${typeof m}`,
      );
    }
    if ((m as unknown) === this)
      throw new Error(`${this.typeName}.${fn}: a module cannot be its own child`);
    this.defineSlot(fn, name, 'module');
    this.childModules.set(name, m);
    return m;
  }

  /** Warns (once per class and field) about a Module kept in a plain field: its parameters would be invisible. */
  private warnUnregisteredFields(): void {
    for (const key of Object.keys(this)) {
      if (this.slotOf(key) !== null) continue;
      const v = (this as Record<string, unknown>)[key];
      if (v instanceof Module) {
        const id = `${this.typeName}.${key}`;
        if (!warnedUnregistered.has(id)) {
          warnedUnregistered.add(id);
          process.emitWarning(
            `convnet: ${id} holds a ${v.typeName} that is not registered, so its parameters are not part of the model; use this.registerModule('${key}', ...)`,
            { code: 'CONVNET_UNREGISTERED_MODULE' },
          );
        }
      }
    }
  }

  /** Direct children with their names. */
  namedChildren(): [string, Module][] {
    this.warnUnregisteredFields();
    const out: [string, Module][] = [];
    for (const [name, m] of this.childModules) if (m !== null) out.push([name, m]);
    return out;
  }

  children(): Module[] {
    return this.namedChildren().map(([, m]) => m);
  }

  /** This module and all descendants, depth first, each once, with dotted names ('' for this one). */
  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [];
    const seen = new Set<Module>();
    const visit = (m: Module, p: string): void => {
      if (seen.has(m)) return;
      seen.add(m);
      out.push([p, m]);
      for (const [name, child] of m.namedChildren()) visit(child, p === '' ? name : `${p}.${name}`);
    };
    visit(this, prefix);
    return out;
  }

  modules(): Module[] {
    return this.namedModules().map(([, m]) => m);
  }

  private namedTensors(
    kind: 'parameter' | 'buffer',
    recurse: boolean,
    persistentOnly: boolean,
  ): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    const seen = new Set<Tensor>();
    const modules: [string, Module][] = recurse ? this.namedModules() : [['', this]];
    for (const [prefix, m] of modules) {
      const reg = kind === 'parameter' ? m.moduleParameters : m.moduleBuffers;
      for (const [name, t] of reg) {
        if (t === null || seen.has(t)) continue;
        if (persistentOnly && kind === 'buffer' && m.nonPersistentBuffers.has(name)) continue;
        seen.add(t);
        out.push([prefix === '' ? name : `${prefix}.${name}`, t]);
      }
    }
    return out;
  }

  /** Parameters with torch-style dotted names (`0.weight`, `features.0.bias`), each tensor once. */
  namedParameters(opts: { recurse?: boolean } = {}): [string, Tensor][] {
    return this.namedTensors('parameter', opts.recurse ?? true, false);
  }

  parameters(opts: { recurse?: boolean } = {}): Tensor[] {
    return this.namedParameters(opts).map(([, t]) => t);
  }

  namedBuffers(opts: { recurse?: boolean } = {}): [string, Tensor][] {
    return this.namedTensors('buffer', opts.recurse ?? true, false);
  }

  buffers(opts: { recurse?: boolean } = {}): Tensor[] {
    return this.namedBuffers(opts).map(([, t]) => t);
  }

  /** The number of parameter elements (each shared tensor counted once). */
  numParameters(opts: { trainableOnly?: boolean } = {}): number {
    let n = 0;
    for (const p of this.parameters()) if (!opts.trainableOnly || p.requiresGrad) n += p.size;
    return n;
  }

  /** Sets training mode on this module and all descendants; returns this. */
  train(mode = true): this {
    if (typeof mode !== 'boolean')
      throw new TypeError(`${this.typeName}.train: mode must be a boolean, got ${typeof mode}`);
    for (const m of this.modules()) m.training = mode;
    return this;
  }

  /** Evaluation mode: train(false). */
  eval(): this {
    return this.train(false);
  }

  /** Clears every parameter's gradient (sets it to null, like torch's set_to_none). */
  zeroGrad(): void {
    for (const p of this.parameters()) p.grad = null;
  }

  /** Calls fn on every descendant and then on this module (torch's order); returns this. */
  apply(fn: (m: Module) => void): this {
    if (typeof fn !== 'function')
      throw new TypeError(`${this.typeName}.apply: fn must be a function, got ${typeof fn}`);
    for (const child of this.children()) child.apply(fn);
    fn(this);
    return this;
  }

  /** Parameters and persistent buffers under their torch names, as the live tensors (no copies). */
  private liveState(): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    const seen = new Set<Tensor>();
    for (const [prefix, m] of this.namedModules()) {
      const add = (name: string, t: Tensor | null): void => {
        if (t === null || seen.has(t)) return;
        seen.add(t);
        out.set(prefix === '' ? name : `${prefix}.${name}`, t);
      };
      for (const [name, t] of m.moduleParameters) add(name, t);
      for (const [name, t] of m.moduleBuffers) if (!m.nonPersistentBuffers.has(name)) add(name, t);
    }
    return out;
  }

  /** Copies of all parameters and persistent buffers, keyed by dotted torch names. */
  stateDict(): StateDict {
    const sd: StateDict = {};
    for (const [name, t] of this.liveState()) sd[name] = t.clone();
    return sd;
  }

  /**
   * Copies values from `stateDict` into this module's tensors, in place (so optimizers holding the
   * parameters keep working). Strict (default): keys must match exactly. Any problem — missing
   * keys (strict), unexpected keys (strict), shape mismatches (always) — is reported in one error
   * listing all of them, before anything is written.
   */
  loadStateDict(
    stateDict: StateDict | Map<string, Tensor>,
    opts: LoadStateDictOptions = {},
  ): LoadStateDictResult {
    const fn = `${this.typeName}.loadStateDict`;
    if (typeof stateDict !== 'object' || stateDict === null) {
      throw new TypeError(
        `${fn}: stateDict must be an object or Map of name -> Tensor, got ${stateDict === null ? 'null' : typeof stateDict}`,
      );
    }
    const strict = opts.strict ?? true;
    const entries = stateDict instanceof Map ? [...stateDict.entries()] : Object.entries(stateDict);
    const given = new Map<string, unknown>(entries);
    const live = this.liveState();
    const missingKeys: string[] = [];
    const unexpectedKeys: string[] = [];
    const problems: string[] = [];
    const copies: [Tensor, Tensor][] = [];
    for (const [name, target] of live) {
      if (!given.has(name)) {
        missingKeys.push(name);
        continue;
      }
      const src = given.get(name);
      if (!(src instanceof Tensor)) {
        problems.push(`  ${name}: expected a Tensor, got ${src === null ? 'null' : typeof src}`);
      } else if (src.ndim !== target.ndim || src.shape.some((d, i) => d !== target.shape[i])) {
        problems.push(
          `  ${name}: shape ${formatShape(src.shape)} in the state dict, ${formatShape(target.shape)} in the model`,
        );
      } else {
        copies.push([target, src]);
      }
    }
    for (const name of given.keys()) if (!live.has(name)) unexpectedKeys.push(name);
    const lines: string[] = [];
    if (strict && missingKeys.length > 0) lines.push(`missing keys: ${missingKeys.join(', ')}`);
    if (strict && unexpectedKeys.length > 0)
      lines.push(`unexpected keys: ${unexpectedKeys.join(', ')}`);
    if (problems.length > 0) lines.push(`size mismatches:\n${problems.join('\n')}`);
    if (lines.length > 0) {
      throw new Error(
        `${fn}: the state dict does not fit the model; nothing was loaded.\n${lines.join('\n')}`,
      );
    }
    for (const [target, src] of copies) target.data.set(src.data);
    return { missingKeys, unexpectedKeys };
  }

  /** Extra text inside the parentheses of toString() (the layer's configuration). */
  extraRepr(): string {
    return '';
  }

  /** PyTorch-style description of the module tree. */
  toString(): string {
    const children = this.namedChildren();
    const extra = this.extraRepr();
    if (children.length === 0) return `${this.typeName}(${extra})`;
    const lines = [`${this.typeName}(`];
    if (extra !== '') lines.push(`  ${extra}`);
    for (const [name, m] of children)
      lines.push(`  (${name}): ${m.toString().split('\n').join('\n  ')}`);
    lines.push(')');
    return lines.join('\n');
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }

  /**
   * Runs one forward pass on a zero input of shape [batchSize, ...inputShape] (no gradients,
   * evaluation mode, training flags restored afterwards) and tabulates, for every leaf module
   * called (and every module owning parameters directly), its output shape and parameter count.
   */
  summary(inputShape: readonly number[], opts: SummaryOptions = {}): ModelSummary {
    const fn = `${this.typeName}.summary`;
    if (!Array.isArray(inputShape) || !inputShape.every((d) => Number.isInteger(d) && d >= 1)) {
      throw new TypeError(
        `${fn}: inputShape must be the shape of one sample without the batch dimension (e.g. [1, 28, 28]), got ${JSON.stringify(inputShape)}`,
      );
    }
    const batchSize = opts.batchSize ?? 1;
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new RangeError(`${fn}: batchSize must be a positive integer, got ${String(batchSize)}`);
    }
    const names = new Map<Module, string>();
    for (const [name, m] of this.namedModules()) names.set(m, name);
    const rows: SummaryRow[] = [];
    const removers: (() => void)[] = [];
    for (const [, m] of this.namedModules()) {
      const isLeaf = m.namedChildren().length === 0;
      const direct = m.parameters({ recurse: false }).reduce((s, p) => s + p.size, 0);
      if (!isLeaf && direct === 0) continue;
      removers.push(
        m.registerForwardHook((mod, _inputs, output) => {
          const shape = [...output.shape];
          if (shape.length > 0 && shape[0] === batchSize) shape[0] = -1;
          rows.push({
            name: names.get(mod) ?? '',
            type: mod.typeName,
            outputShape: shape,
            params: direct,
          });
        }),
      );
    }
    const modes = this.modules().map((m) => [m, m.training] as const);
    try {
      this.eval();
      const x = zeros([batchSize, ...inputShape]);
      noGrad(() => (this.call as (...a: Tensor[]) => Tensor)(x));
    } finally {
      for (const r of removers) r();
      for (const [m, mode] of modes) m.training = mode;
    }
    const totalParams = this.numParameters();
    const trainableParams = this.numParameters({ trainableOnly: true });
    const text = formatSummary(this.typeName, rows, totalParams, trainableParams);
    const result: ModelSummary = {
      rows,
      totalParams,
      trainableParams,
      nonTrainableParams: totalParams - trainableParams,
      text,
      toString: () => text,
    };
    if (opts.print === true) console.log(text);
    return result;
  }
}

function groupThousands(n: number): string {
  return n.toLocaleString('en-US');
}

function formatSummary(
  model: string,
  rows: SummaryRow[],
  total: number,
  trainable: number,
): string {
  const header = ['Layer (type)', 'Output Shape', 'Param #'];
  const cells = rows.map((r) => [
    r.name === '' ? `(${r.type})` : `${r.name} (${r.type})`,
    `[${r.outputShape.join(', ')}]`,
    groupThousands(r.params),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]): string =>
    `${c[0].padEnd(widths[0])}   ${c[1].padEnd(widths[1])}   ${c[2].padStart(widths[2])}`;
  const width = widths[0] + widths[1] + widths[2] + 6;
  return [
    `Model: ${model}`,
    '='.repeat(width),
    line(header),
    '='.repeat(width),
    ...cells.map(line),
    '='.repeat(width),
    `Total params: ${groupThousands(total)}`,
    `Trainable params: ${groupThousands(trainable)}`,
    `Non-trainable params: ${groupThousands(total - trainable)}`,
    '-'.repeat(width),
  ].join('\n');
}
