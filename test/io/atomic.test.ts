import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { writeFileAtomic } from '../../lib/io/atomic.js';
import { saveSafetensors, loadSafetensors } from '../../lib/io/safetensors.js';
import { Tensor } from '../../lib/tensor.js';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'convnet-atomic-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

let n = 0;
/** A fresh directory holding only `file` with the text "old". */
function withOldFile(): { d: string; file: string } {
  const d = path.join(dir, `case${n++}`);
  fs.mkdirSync(d);
  const file = path.join(d, 'model.bin');
  fs.writeFileSync(file, 'old');
  return { d, file };
}

describe('writeFileAtomic', () => {
  it('writes bytes, text and chunks, replacing the old content, leaving no temporary file', () => {
    const { d, file } = withOldFile();
    writeFileAtomic(file, Uint8Array.of(1, 2, 3));
    expect([...fs.readFileSync(file)]).toEqual([1, 2, 3]);
    writeFileAtomic(file, 'héllo');
    expect(fs.readFileSync(file, 'utf8')).toBe('héllo');
    writeFileAtomic(file, [Uint8Array.of(1), new Uint8Array(0), Uint8Array.of(2, 3)]);
    expect([...fs.readFileSync(file)]).toEqual([1, 2, 3]);
    expect(fs.readdirSync(d)).toEqual(['model.bin']);
  });

  it('keeps the old file when the data source fails mid-way, and removes the temporary file', () => {
    const { d, file } = withOldFile();
    function* failing(): Generator<Uint8Array> {
      yield new Uint8Array(1 << 16).fill(7);
      throw new Error('disk source broke');
    }
    expect(() => writeFileAtomic(file, failing())).toThrow(
      `writeFileAtomic: cannot write ${file}: disk source broke`,
    );
    expect(fs.readFileSync(file, 'utf8')).toBe('old');
    expect(fs.readdirSync(d)).toEqual(['model.bin']);
  });

  it('keeps the old file when a chunk is not bytes', () => {
    const { d, file } = withOldFile();
    expect(() => writeFileAtomic(file, [Uint8Array.of(1), 'x' as never])).toThrow(
      /data chunks must be Uint8Array, got string/,
    );
    expect(fs.readFileSync(file, 'utf8')).toBe('old');
    expect(fs.readdirSync(d)).toEqual(['model.bin']);
  });

  it('fails cleanly when the directory is gone', () => {
    const gone = path.join(dir, 'removed-dir');
    fs.mkdirSync(gone);
    fs.rmdirSync(gone);
    const file = path.join(gone, 'w.bin');
    expect(() => writeFileAtomic(file, 'x')).toThrow(
      `writeFileAtomic: cannot write ${file}: ENOENT`,
    );
    expect(fs.existsSync(gone)).toBe(false);
  });

  it('removes the temporary file when the final rename fails', () => {
    const { d } = withOldFile();
    const target = path.join(d, 'a-directory');
    fs.mkdirSync(target);
    fs.writeFileSync(path.join(target, 'inside'), 'keep');
    expect(() => writeFileAtomic(target, 'x')).toThrow(`writeFileAtomic: cannot write ${target}`);
    expect(fs.readdirSync(d).sort()).toEqual(['a-directory', 'model.bin']);
    expect(fs.readFileSync(path.join(target, 'inside'), 'utf8')).toBe('keep');
  });

  it('checks its arguments', () => {
    expect(() => writeFileAtomic('', 'x')).toThrow(
      'writeFileAtomic: path must be a non-empty string, got ""',
    );
    expect(() => writeFileAtomic(path.join(dir, 'x'), 5 as never)).toThrow(
      'writeFileAtomic: data must be a Uint8Array, a string or an iterable of Uint8Array chunks, got number',
    );
  });
});

describe('saveSafetensors is atomic', () => {
  it('a failed save leaves the previous checkpoint loadable', () => {
    const d = path.join(dir, 'ckpt');
    fs.mkdirSync(d);
    const file = path.join(d, 'model.safetensors');
    saveSafetensors(file, { w: new Tensor(Float32Array.of(1, 2), [2]) });
    expect(() =>
      saveSafetensors(file, { w: new Tensor(Float32Array.of(3), [1]), bad: 'no' as never }),
    ).toThrow(/saveSafetensors: tensors\["bad"\] must be a Tensor/);
    expect([...loadSafetensors(file).tensors.get('w')!.data]).toEqual([1, 2]);
    expect(fs.readdirSync(d)).toEqual(['model.safetensors']);
  });
});

describe('writeFileAtomic permissions', () => {
  it('keeps the mode of the file it replaces', () => {
    const file = path.join(dir, 'mode.bin');
    fs.writeFileSync(file, 'old');
    fs.chmodSync(file, 0o640);
    writeFileAtomic(file, 'new');
    expect(fs.statSync(file).mode & 0o777).toBe(0o640);
    writeFileAtomic(file, 'newer', { mode: 0o600 });
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
  });
});
