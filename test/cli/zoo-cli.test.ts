import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli as capture } from './capture.js';
import { parseArgs } from '../../lib/cli/args.js';
import { modelOptionsFor, runTrain, TRAIN_FLAGS } from '../../lib/cli/train.js';
import { loadModel } from '../../lib/io/model-file.js';
import { specOf } from '../../lib/models/registry.js';
import { ResNet } from '../../lib/models/resnet.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'convnet-zoo-cli-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('convnet models', () => {
  it("lists the zoo at each model's natural input, without building the big ones", async () => {
    const t0 = performance.now();
    const { code, out } = await capture(['models']);
    expect(code).toBe(0);
    // Building ResNeXt-101 alone draws 88 million weights (seconds); the listing tallies instead.
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(out).toMatch(/^resnet18\s+11,689,512\s+3x224x224\s+3,628\s/m);
    expect(out).toMatch(/^resnet200\s+64,673,832\s+3x224x224\s+30,015\s/m);
    expect(out).toMatch(/^resnext101_32x8d\s+88,791,336\s+3x224x224\s+32,828\s/m);
    expect(out).toMatch(/^wide_resnet50_2\s+68,883,240\s/m);
    expect(out).toMatch(/^densenet121\s+7,978,856\s+3x224x224\s+5,668\s/m);
    // He et al.: ResNet-20 has 0.27M parameters and 41 million multiply-adds at 32x32.
    expect(out).toMatch(/^resnet20\s+269,722\s+3x32x32\s+81\.1\s/m);
    expect(out).toMatch(/^lenet5\s+61,706\s+1x28x28\s+0\.83\s/m);
  });
});

describe('convnet train with zoo models', () => {
  it('builds ImageNet-size models for one channel, ten classes and (by default) the CIFAR stem', async () => {
    const flags = (argv: string[]) => parseArgs(argv, TRAIN_FLAGS).flags;
    expect(modelOptionsFor('resnet18', flags([]))).toEqual({
      inChannels: 1,
      numClasses: 10,
      stem: 'cifar',
    });
    expect(modelOptionsFor('densenet121', flags(['--stem', 'imagenet']))).toEqual({
      inChannels: 1,
      numClasses: 10,
    });
    expect(modelOptionsFor('resnet56', flags([]))).toEqual({ inChannels: 1 });
    expect(modelOptionsFor('simple-cnn', flags(['--width', '8']))).toEqual({ width: 8 });
    // A run end to end (the ImageNet stem keeps it quick: 28x28 images are 7x7 after it).
    const out = path.join(tmp, 'r18');
    const logs: string[] = [];
    const args = parseArgs(
      [
        '--model',
        'resnet18',
        '--stem',
        'imagenet',
        '--epochs',
        '1',
        '--limit-train',
        '40',
        '--batch-size',
        '20',
        '--val-split',
        '0',
        '--out',
        out,
        '--quiet',
      ],
      TRAIN_FLAGS,
    );
    const s = await runTrain(args, (l) => logs.push(l));
    expect(s.epochsRun).toBe(1);
    expect(logs[0]).toMatch(/resnet18 \(11,175,370 parameters\)/); // 11,689,512 - 2 x 7x7x64 - 990 x 513
    const model = loadModel(path.join(out, 'model.safetensors'));
    expect(model).toBeInstanceOf(ResNet);
    expect(specOf(model)).toEqual({ name: 'resnet18', options: { inChannels: 1, numClasses: 10 } });
  });

  it('passes only what the CIFAR ResNets need, and --width', async () => {
    const out = path.join(tmp, 'r20');
    const args = parseArgs(
      [
        '--model',
        'resnet20',
        '--width',
        '4',
        '--epochs',
        '1',
        '--limit-train',
        '40',
        '--batch-size',
        '20',
        '--val-split',
        '0',
        '--out',
        out,
        '--quiet',
      ],
      TRAIN_FLAGS,
    );
    await runTrain(args, () => {});
    expect(specOf(loadModel(path.join(out, 'model.safetensors')))).toEqual({
      name: 'resnet20',
      options: { width: 4, inChannels: 1 },
    });
  });

  it('--stem applies only to models that have one', async () => {
    const { code, err } = await capture([
      'train',
      '--model',
      'lenet5',
      '--stem',
      'cifar',
      '--out',
      path.join(tmp, 'x'),
    ]);
    expect(code).not.toBe(0);
    expect(err).toMatch(
      /--stem applies to the ImageNet-size models \(resnet18, \.\.\., densenet201\), not lenet5/,
    );
  });
});
