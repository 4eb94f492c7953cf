import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli as capture } from './capture.js';
import { parseArgs, UsageError } from '../../lib/cli/args.js';
import { TRAIN_FLAGS } from '../../lib/cli/train.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'convnet-cli-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
// A regular file: nothing can be created below it, whoever runs the tests (root included).
const blocker = path.join(tmp, 'blocker');
fs.writeFileSync(blocker, '');

describe('convnet argument parsing', () => {
  it('parses typed flags and applies defaults', () => {
    const { flags } = parseArgs(['--epochs', '3', '--lr=0.01', '--augment'], TRAIN_FLAGS);
    expect(flags.epochs).toBe(3);
    expect(flags.lr).toBe(0.01);
    expect(flags.augment).toBe(true);
    expect(flags['batch-size']).toBe(32);
  });

  it.each([
    [['--bogus'], /unknown option '--bogus'/],
    [['--epochs', 'ten'], /--epochs must be a number, got 'ten'/],
    [['--epochs', '2.5'], /--epochs must be a whole number, got '2.5'/],
    [['--epochs', '0'], /--epochs must be at least 1, got 0/],
    [
      ['--optimizer', 'lbfgs'],
      /--optimizer must be one of sgd, momentum, nesterov, adam, got 'lbfgs'/,
    ],
    [['--lr'], /--lr needs a value/],
    [['-x'], /unknown option '-x'/],
  ])('rejects %j', (argv, msg) => {
    expect(() => parseArgs(argv, TRAIN_FLAGS)).toThrow(UsageError);
    expect(() => parseArgs(argv, TRAIN_FLAGS)).toThrow(msg);
  });
});

describe('convnet command: bad input is one line and a non-zero exit, before training', () => {
  it.each([
    [['train', '--epochs', 'x'], /^convnet train: --epochs must be a number, got 'x'$/],
    [
      ['train', '--data', '/nonexistent/dir'],
      /^convnet train: --data \/nonexistent\/dir is not a directory$/,
    ],
    [['train', '--model', 'vgg99'], /^convnet train: --model must be one of .*got 'vgg99'$/],
    [
      ['train', '--out', `${blocker}/out`],
      /^convnet train: --out .*\/blocker\/out cannot be written: ENOTDIR$/,
    ],
    [['frobnicate'], /^convnet frobnicate: unknown command 'frobnicate'/],
    [
      ['eval', '/no/such/model.safetensors'],
      /^convnet eval: MODEL \/no\/such\/model.safetensors: no such file$/,
    ],
  ])('%j', async (argv, msg) => {
    const r = await capture(argv);
    expect(r.code).toBe(2);
    expect(r.err.split('\n')).toHaveLength(1);
    expect(r.err).toMatch(msg);
    expect(r.out).not.toMatch(/Epoch/);
  });
});

describe('convnet train, eval and predict', () => {
  it('trains on the bundled subset, writes its files, then evaluates and predicts with them', async () => {
    const out = path.join(tmp, 'run');
    const r = await capture([
      'train',
      '--epochs',
      '1',
      '--limit-train',
      '2000',
      '--width',
      '8',
      '--out',
      out,
      '--quiet',
    ]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/Test accuracy \d+\.\d\d% on 1000 images/);
    for (const f of [
      'model.safetensors',
      'checkpoint.safetensors',
      'metrics.csv',
      'curves.svg',
      'confusion.svg',
    ]) {
      expect(fs.existsSync(path.join(out, f)), f).toBe(true);
    }
    const csv = fs.readFileSync(path.join(out, 'metrics.csv'), 'utf8').trim().split('\n');
    expect(csv[0].split(',')).toEqual(
      expect.arrayContaining(['epoch', 'loss', 'accuracy', 'valLoss', 'valAccuracy', 'lr']),
    );
    expect(csv).toHaveLength(2);
    expect(fs.readFileSync(path.join(out, 'curves.svg'), 'utf8')).toMatch(
      /^<svg[\s\S]*training loss[\s\S]*<\/svg>\n$/,
    );

    const ev = await capture(['eval', path.join(out, 'model.safetensors')]);
    expect(ev.code).toBe(0);
    const acc = Number(/test accuracy (\d+\.\d+)%/.exec(ev.out)![1]);
    const trained = Number(/Test accuracy (\d+\.\d+)%/.exec(r.out)![1]);
    expect(acc).toBeCloseTo(trained, 1);
    expect(acc).toBeGreaterThan(40); // an untrained 10-class model scores about 10%

    const pred = await capture([
      'predict',
      path.join(out, 'model.safetensors'),
      path.join(__dirname, '../../data/fashion-mnist-subset/t10k-images-idx3-ubyte.gz'),
    ]);
    expect(pred.code).toBe(0);
    const lines = pred.out.split('\n');
    expect(lines).toHaveLength(1000);
    expect(lines[0]).toMatch(/\[0\]: [A-Za-z/ -]+ \d+\.\d%/);
  });

  it('info and models list the backend and the zoo', async () => {
    const info = await capture(['info']);
    expect(info.out).toMatch(/backend: (native|ts)\ninstruction set: \w+\nthreads: \d+/);
    const models = await capture(['models']);
    expect(models.out).toMatch(/simple-cnn\s+225,034/);
    expect(models.out).toMatch(/lenet5\s+61,706/);
  });

  it('SIGINT during training writes a checkpoint and exits 130', () => {
    const out = path.join(tmp, 'sigint');
    const cli = path.join(__dirname, '../../dist/cjs/cli/main.js');
    if (!fs.existsSync(cli)) throw new Error(`build first (npm run build): ${cli} is missing`);
    const script = `
      const { spawn } = require('node:child_process');
      const p = spawn(process.execPath, [${JSON.stringify(cli)}, 'train', '--epochs', '50', '--out', ${JSON.stringify(out)}, '--width', '4'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let text = '';
      p.stdout.on('data', (d) => { text += d; if (/Epoch 1\\//.test(text) && !p.sent) { p.sent = true; p.kill('SIGINT'); } });
      p.stderr.on('data', (d) => { text += d; });
      p.on('exit', (code) => { console.log(JSON.stringify({ code, text })); });
    `;
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 120_000 });
    const { code, text } = JSON.parse(r.stdout.trim().split('\n').pop()!);
    expect(text).toMatch(/Interrupted: finishing the current batch/);
    expect(text).toMatch(/Checkpoint written to .*checkpoint.safetensors/);
    expect(text).toMatch(/Stopped: interrupted by Ctrl-C/);
    expect(code).toBe(130);
    expect(fs.existsSync(path.join(out, 'checkpoint.safetensors'))).toBe(true);
  });
});
