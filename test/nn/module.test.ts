import { describe, expect, it, vi } from 'vitest';
import { relu } from '../../lib/functional/activation.js';
import {
  AvgPool2d,
  BatchNorm1d,
  BatchNorm2d,
  Conv2d,
  Dropout,
  Flatten,
  Linear,
  MaxPool2d,
  Module,
  ReLU,
  Sequential,
  Tanh,
} from '../../lib/nn/index.js';
import { Generator, manualSeed } from '../../lib/random.js';
import { ones, randn, Tensor, zeros } from '../../lib/tensor.js';

class Net extends Module {
  declare readonly features: Sequential;
  declare readonly classifier: Linear;

  constructor(gen?: Generator) {
    super();
    this.registerModule(
      'features',
      new Sequential(
        new Conv2d(1, 4, 3, { padding: 1, generator: gen }),
        new BatchNorm2d(4),
        new ReLU(),
        new MaxPool2d(2),
      ),
    );
    this.registerModule('classifier', new Linear(4 * 4 * 4, 3, { generator: gen }));
  }

  forward(x: Tensor): Tensor {
    const h = this.features.call(x);
    return this.classifier.call(new Flatten().call(h));
  }
}

/** The classic LeNet-5 for 1x32x32 input: 61,706 parameters. */
function leNet5(): Sequential {
  return new Sequential(
    new Conv2d(1, 6, 5),
    new Tanh(),
    new AvgPool2d(2),
    new Conv2d(6, 16, 5),
    new Tanh(),
    new AvgPool2d(2),
    new Flatten(),
    new Linear(400, 120),
    new Tanh(),
    new Linear(120, 84),
    new Tanh(),
    new Linear(84, 10),
  );
}

describe('Module registration and naming', () => {
  it('names parameters with torch-style dotted paths, in registration order', () => {
    const seq = new Sequential(new Conv2d(3, 8, 3), new ReLU(), new Linear(8, 2));
    expect(seq.namedParameters().map(([n]) => n)).toEqual([
      '0.weight',
      '0.bias',
      '2.weight',
      '2.bias',
    ]);
    const net = new Net();
    expect(net.namedParameters().map(([n]) => n)).toEqual([
      'features.0.weight',
      'features.0.bias',
      'features.1.weight',
      'features.1.bias',
      'classifier.weight',
      'classifier.bias',
    ]);
    expect(net.namedBuffers().map(([n]) => n)).toEqual([
      'features.1.running_mean',
      'features.1.running_var',
      'features.1.num_batches_tracked',
    ]);
    expect(net.parameters().every((p) => p.requiresGrad)).toBe(true);
    expect(net.namedChildren().map(([n]) => n)).toEqual(['features', 'classifier']);
    expect(net.children()).toEqual([net.features, net.classifier]);
    expect(net.namedModules().map(([n, m]) => `${n}:${m.typeName}`)).toEqual([
      ':Net',
      'features:Sequential',
      'features.0:Conv2d',
      'features.1:BatchNorm2d',
      'features.2:ReLU',
      'features.3:MaxPool2d',
      'classifier:Linear',
    ]);
    expect(net.modules()).toHaveLength(7);
  });

  it('stateDict holds copies of parameters and buffers under torch key names', () => {
    const net = new Net();
    const sd = net.stateDict();
    expect(Object.keys(sd)).toEqual([
      'features.0.weight',
      'features.0.bias',
      'features.1.weight',
      'features.1.bias',
      'features.1.running_mean',
      'features.1.running_var',
      'features.1.num_batches_tracked',
      'classifier.weight',
      'classifier.bias',
    ]);
    expect(sd['features.1.num_batches_tracked'].dtype).toBe('int32');
    expect(sd['features.1.num_batches_tracked'].shape).toEqual([]);
    sd['classifier.bias'].data[0] = 123;
    expect(net.classifier.bias!.data[0]).not.toBe(123);
    expect(sd['classifier.bias'].requiresGrad).toBe(false);
  });

  it('counts a parameter shared by two modules once', () => {
    const a = new Linear(4, 4);
    const seq = new Sequential(a, new ReLU(), a);
    expect(seq.namedParameters().map(([n]) => n)).toEqual(['0.weight', '0.bias']);
    expect(seq.numParameters()).toBe(20);
  });

  it('makes registered names readable and re-assignable as properties', () => {
    class M extends Module {
      declare w: Tensor;
      constructor() {
        super();
        this.registerParameter('w', zeros([2]));
        this.registerBuffer('scratch', zeros([1]), { persistent: false });
      }
      forward(x: Tensor): Tensor {
        return x;
      }
    }
    const m = new M();
    expect(m.w.shape).toEqual([2]);
    m.w = ones([3]);
    expect(m.parameters()[0].shape).toEqual([3]);
    expect(m.parameters()[0].requiresGrad).toBe(true);
    expect(m.namedBuffers().map(([n]) => n)).toEqual(['scratch']);
    // Non-persistent buffers are not saved.
    expect(Object.keys(m.stateDict())).toEqual(['w']);
  });

  it('rejects bad registrations with messages naming the module and the name', () => {
    class M extends Module {
      forward(x: Tensor): Tensor {
        return x;
      }
    }
    const m = new M();
    expect(() => m.registerParameter('a.b', zeros([1]))).toThrow(
      'M.registerParameter: name must be a non-empty string without \'.\', got "a.b"',
    );
    expect(() => m.registerParameter('train', zeros([1]))).toThrow(
      "M.registerParameter: 'train' is already an attribute of the module",
    );
    expect(() => m.registerParameter('p', zeros([1], { dtype: 'int32' }))).toThrow(
      "M.registerParameter: 'p' must be a float32 tensor",
    );
    const x = randn([2], { requiresGrad: true });
    expect(() => m.registerParameter('q', relu(x))).toThrow(
      "M.registerParameter: 'q' must be a leaf tensor",
    );
    m.registerBuffer('b', zeros([1]));
    expect(() => m.registerParameter('b', zeros([1]))).toThrow(
      "M.registerParameter: 'b' is already registered as a buffer",
    );
    expect(() => m.registerModule('c', {} as Module)).toThrow(
      "M.registerModule: 'c' must be a Module or null, got object",
    );
    expect(() => m.registerModule('self', m)).toThrow(
      'M.registerModule: a module cannot be its own child',
    );
  });

  it('warns once when a Module is kept in a plain, unregistered field', () => {
    class Forgetful extends Module {
      fc = new Linear(2, 2);
      forward(x: Tensor): Tensor {
        return this.fc.call(x);
      }
    }
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      const m = new Forgetful();
      expect(m.parameters()).toEqual([]);
      m.parameters();
      expect(warn).toHaveBeenCalledTimes(1);
      expect(String(warn.mock.calls[0][0])).toContain(
        'Forgetful.fc holds a Linear that is not registered',
      );
      expect(String(warn.mock.calls[0][0])).toContain("use this.registerModule('fc', ...)");
    } finally {
      warn.mockRestore();
    }
  });
});

describe('stateDict / loadStateDict', () => {
  it('round-trips into a fresh model built with a different seed', () => {
    const a = new Net(new Generator(1));
    a.train();
    a.call(randn([4, 1, 8, 8], { generator: new Generator(5) })); // moves the BatchNorm running statistics
    const b = new Net(new Generator(2));
    const x = randn([2, 1, 8, 8], { generator: new Generator(6) });
    a.eval();
    b.eval();
    expect(Array.from(b.call(x).data)).not.toEqual(Array.from(a.call(x).data));
    const weightBefore = b.classifier.weight;
    const result = b.loadStateDict(a.stateDict());
    expect(result).toEqual({ missingKeys: [], unexpectedKeys: [] });
    for (const [name, t] of Object.entries(a.stateDict())) {
      expect(Array.from(b.stateDict()[name].data), name).toEqual(Array.from(t.data));
    }
    expect(Array.from(b.call(x).data)).toEqual(Array.from(a.call(x).data));
    // Loaded in place: references held elsewhere (an optimizer's) stay valid.
    expect(b.classifier.weight).toBe(weightBefore);
    expect(b.features.at(1).buffers()[2].data[0]).toBe(1);
  });

  it('accepts a Map', () => {
    const a = new Linear(3, 2, { generator: new Generator(1) });
    const b = new Linear(3, 2, { generator: new Generator(2) });
    b.loadStateDict(new Map(Object.entries(a.stateDict())));
    expect(Array.from(b.weight.data)).toEqual(Array.from(a.weight.data));
  });

  it('strict: one error lists every missing key, unexpected key and shape mismatch, and loads nothing', () => {
    const model = new Sequential(new Linear(4, 3), new ReLU(), new Linear(3, 2));
    const before = Array.from(model.at(0).parameters()[0].data);
    const sd = model.stateDict();
    delete sd['2.bias'];
    delete sd['0.bias'];
    sd['extra.weight'] = zeros([1]);
    sd['2.weight'] = zeros([2, 5]);
    sd['0.weight'] = ones([3, 4]);
    let message = '';
    try {
      model.loadStateDict(sd);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain(
      'Sequential.loadStateDict: the state dict does not fit the model; nothing was loaded.',
    );
    expect(message).toContain('missing keys: 0.bias, 2.bias');
    expect(message).toContain('unexpected keys: extra.weight');
    expect(message).toContain('2.weight: shape [2,5] in the state dict, [2,3] in the model');
    expect(Array.from(model.at(0).parameters()[0].data)).toEqual(before);
  });

  it('non-strict: loads what matches and reports missing and unexpected keys; shape mismatches still throw', () => {
    const src = new Sequential(new Linear(4, 3, { generator: new Generator(1) }));
    const dst = new Sequential(new Linear(4, 3, { generator: new Generator(2) }), new Linear(3, 2));
    const sd = src.stateDict();
    sd['9.weight'] = zeros([2]);
    const r = dst.loadStateDict(sd, { strict: false });
    expect(r).toEqual({ missingKeys: ['1.weight', '1.bias'], unexpectedKeys: ['9.weight'] });
    expect(Array.from(dst.at(0).parameters()[0].data)).toEqual(
      Array.from(src.at(0).parameters()[0].data),
    );
    const bad = { '0.weight': zeros([3, 3]) };
    expect(() => dst.loadStateDict(bad, { strict: false })).toThrow(
      '0.weight: shape [3,3] in the state dict, [3,4] in the model',
    );
    expect(() =>
      dst.loadStateDict({ '0.weight': [1, 2] as unknown as Tensor }, { strict: false }),
    ).toThrow('0.weight: expected a Tensor, got object');
  });
});

describe('training mode, gradients, hooks and utilities', () => {
  it('train()/eval() switch every descendant, and with them dropout and batchNorm', () => {
    const model = new Sequential(new BatchNorm1d(3), new Dropout(0.5));
    expect(model.training).toBe(true);
    const x = randn([8, 3], { generator: new Generator(1) });
    const trainOut = model.call(x);
    expect(Array.from(trainOut.data).some((v) => v === 0)).toBe(true);
    const runningMean = Array.from((model.at(0) as BatchNorm1d).running_mean!.data);
    expect(runningMean.some((v) => v !== 0)).toBe(true);
    expect(model.eval()).toBe(model);
    expect(model.modules().every((m) => !m.training)).toBe(true);
    const e1 = model.call(x);
    const e2 = model.call(x);
    // Eval: deterministic, no dropout zeros, running statistics untouched.
    expect(Array.from(e1.data)).toEqual(Array.from(e2.data));
    expect(Array.from((model.at(0) as BatchNorm1d).running_mean!.data)).toEqual(runningMean);
    model.train();
    expect(model.modules().every((m) => m.training)).toBe(true);
    model.train(false);
    expect(model.at(1).training).toBe(false);
  });

  it('zeroGrad clears every parameter gradient; apply visits children first', () => {
    const model = new Sequential(new Linear(2, 2), new ReLU(), new Linear(2, 1));
    const y = model.call(randn([3, 2], { generator: new Generator(2) }));
    y.backward(new Float32Array(3).fill(1));
    expect(model.parameters().every((p) => p.grad !== null)).toBe(true);
    model.zeroGrad();
    expect(model.parameters().every((p) => p.grad === null)).toBe(true);
    const order: string[] = [];
    model.apply((m) => order.push(m.typeName));
    expect(order).toEqual(['Linear', 'ReLU', 'Linear', 'Sequential']);
  });

  it('runs forward hooks on call() and removes them', () => {
    const lin = new Linear(2, 3);
    const seen: number[][] = [];
    const remove = lin.registerForwardHook((_m, _i, out) => seen.push([...out.shape]));
    lin.call(zeros([4, 2]));
    remove();
    lin.call(zeros([4, 2]));
    expect(seen).toEqual([[4, 3]]);
  });

  it('numParameters counts trainable elements on request', () => {
    const model = new Sequential(new Linear(10, 5), new BatchNorm1d(5));
    expect(model.numParameters()).toBe(55 + 10);
    model
      .at(1)
      .parameters()
      .forEach((p) => p.setRequiresGrad(false));
    expect(model.numParameters({ trainableOnly: true })).toBe(55);
  });

  it('toString describes the tree like PyTorch', () => {
    const model = new Sequential(
      new Conv2d(1, 6, 5, { padding: 2 }),
      new ReLU(),
      new MaxPool2d(2),
      new Flatten(),
      new Linear(1176, 10, { bias: false }),
    );
    expect(model.toString()).toBe(
      [
        'Sequential(',
        '  (0): Conv2d(1, 6, kernelSize=[5, 5], stride=[1, 1], padding=[2, 2])',
        '  (1): ReLU()',
        '  (2): MaxPool2d(kernelSize=[2, 2], stride=[2, 2], padding=[0, 0])',
        '  (3): Flatten(startDim=1, endDim=-1)',
        '  (4): Linear(inFeatures=1176, outFeatures=10, bias=false)',
        ')',
      ].join('\n'),
    );
  });
});

describe('summary', () => {
  it('LeNet-5 (1x32x32): 61,706 parameters, per-layer shapes and counts', () => {
    manualSeed(0);
    const model = leNet5();
    const s = model.summary([1, 32, 32]);
    expect(s.totalParams).toBe(61706);
    expect(s.trainableParams).toBe(61706);
    expect(s.nonTrainableParams).toBe(0);
    expect(s.rows.map((r) => [r.name, r.type, r.outputShape, r.params])).toEqual([
      ['0', 'Conv2d', [-1, 6, 28, 28], 156],
      ['1', 'Tanh', [-1, 6, 28, 28], 0],
      ['2', 'AvgPool2d', [-1, 6, 14, 14], 0],
      ['3', 'Conv2d', [-1, 16, 10, 10], 2416],
      ['4', 'Tanh', [-1, 16, 10, 10], 0],
      ['5', 'AvgPool2d', [-1, 16, 5, 5], 0],
      ['6', 'Flatten', [-1, 400], 0],
      ['7', 'Linear', [-1, 120], 48120],
      ['8', 'Tanh', [-1, 120], 0],
      ['9', 'Linear', [-1, 84], 10164],
      ['10', 'Tanh', [-1, 84], 0],
      ['11', 'Linear', [-1, 10], 850],
    ]);
    expect(s.text).toContain('0 (Conv2d)');
    expect(s.text).toContain('[-1, 6, 28, 28]');
    expect(s.text).toContain('Total params: 61,706');
    expect(s.text).toContain('Trainable params: 61,706');
    expect(s.text).toContain('Non-trainable params: 0');
    expect(String(s)).toBe(s.text);
  });

  it('runs in eval mode without touching running statistics or the training flags, and removes its hooks', () => {
    const net = new Net();
    net.features.at(0).parameters()[1].setRequiresGrad(false);
    const before = net.stateDict();
    const s = net.summary([1, 8, 8], { batchSize: 2 });
    expect(s.rows.map((r) => r.name)).toEqual([
      'features.0',
      'features.1',
      'features.2',
      'features.3',
      'classifier',
    ]);
    expect(s.rows[1].outputShape).toEqual([-1, 4, 8, 8]);
    expect(s.totalParams).toBe(40 + 8 + 195);
    expect(s.nonTrainableParams).toBe(4);
    expect(net.training).toBe(true);
    const after = net.stateDict();
    for (const k of Object.keys(before))
      expect(Array.from(after[k].data), k).toEqual(Array.from(before[k].data));
    // No hook left behind: a later call adds no rows.
    net.call(randn([2, 1, 8, 8]));
    expect(s.rows).toHaveLength(5);
  });

  it('reports a bad input shape clearly, including the layer that rejects it', () => {
    const model = leNet5();
    expect(() => model.summary([32, 32] as number[])).toThrow(
      'Conv2d(1->6): expected 4-D NCHW input, got shape [1,32,32]',
    );
    expect(() => model.summary([3, 32, 32])).toThrow(
      'Conv2d(1->6): expected input with 1 channels, got shape [1,3,32,32]',
    );
    expect(() => model.summary('1x32x32' as unknown as number[])).toThrow(
      'Sequential.summary: inputShape must be the shape of one sample',
    );
  });
});
