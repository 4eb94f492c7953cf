import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  encodeIdx,
  isGzip,
  parseIdx,
  readIdx,
  writeIdx,
  type IdxArray,
} from '../../lib/data/idx.js';

/** An IDX file built by hand, byte by byte, independently of the encoder under test. */
function handIdx(code: number, dims: number[], payload: number[]): Uint8Array {
  const bytes = [0, 0, code, dims.length];
  for (const d of dims) bytes.push((d >>> 24) & 255, (d >>> 16) & 255, (d >>> 8) & 255, d & 255);
  return Uint8Array.from([...bytes, ...payload]);
}

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'convnet-idx-'));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('parseIdx', () => {
  it('reads a hand-made uint8 file, plain and gzipped', () => {
    const plain = handIdx(0x08, [2, 3], [1, 2, 3, 250, 251, 252]);
    for (const bytes of [plain, zlib.gzipSync(plain)]) {
      const a = parseIdx(bytes);
      expect(a.dtype).toBe('uint8');
      expect(a.shape).toEqual([2, 3]);
      expect(a.data).toBeInstanceOf(Uint8Array);
      expect([...a.data]).toEqual([1, 2, 3, 250, 251, 252]);
    }
  });

  it('decodes big-endian multi-byte types', () => {
    // int16 -2 = 0xfffe; int32 0x01020304; float32 1.5 = 0x3fc00000; float64 -2 = 0xc000000000000000
    expect([...parseIdx(handIdx(0x0b, [2], [0xff, 0xfe, 0x01, 0x00])).data]).toEqual([-2, 256]);
    expect([...parseIdx(handIdx(0x0c, [1], [1, 2, 3, 4])).data]).toEqual([0x01020304]);
    expect([...parseIdx(handIdx(0x0d, [1], [0x3f, 0xc0, 0, 0])).data]).toEqual([1.5]);
    expect([...parseIdx(handIdx(0x0e, [1], [0xc0, 0, 0, 0, 0, 0, 0, 0])).data]).toEqual([-2]);
    expect([...parseIdx(handIdx(0x09, [2], [0xff, 0x7f])).data]).toEqual([-1, 127]);
    expect(parseIdx(handIdx(0x0c, [1], [1, 2, 3, 4])).data).toBeInstanceOf(Int32Array);
  });

  it('handles zero dimensions and empty arrays', () => {
    expect(parseIdx(handIdx(0x08, [], [42]))).toEqual({
      dtype: 'uint8',
      shape: [],
      data: Uint8Array.of(42),
    });
    expect(parseIdx(handIdx(0x08, [0, 28, 28], [])).shape).toEqual([0, 28, 28]);
  });

  it('rejects a bad magic', () => {
    expect(() => parseIdx(Uint8Array.from([1, 0, 8, 1, 0, 0, 0, 0]), { name: 'x.idx' })).toThrow(
      /IDX file x\.idx: bad magic: the first two bytes must be 0x00 0x00, got 0x01 0x00/,
    );
  });

  it('rejects an unknown dtype code', () => {
    expect(() => parseIdx(handIdx(0x0a, [1], [0]), { name: 'f' })).toThrow(
      /IDX file f: unsupported dtype code 0x0a/,
    );
  });

  it('rejects a dtype or dimension count other than expected', () => {
    const f = handIdx(0x08, [2, 2], [0, 0, 0, 0]);
    expect(() => parseIdx(f, { name: 'lab', ndim: 1 })).toThrow(
      /IDX file lab: expected 1 dimension\(s\), got 2/,
    );
    expect(() => parseIdx(f, { name: 'lab', dtype: 'float32' })).toThrow(
      /IDX file lab: expected dtype float32, got uint8/,
    );
  });

  it('rejects truncated and oversized files, naming the sizes', () => {
    const good = handIdx(0x08, [2, 2], [1, 2, 3, 4]);
    expect(() => parseIdx(good.subarray(0, 3), { name: 'a' })).toThrow(
      /IDX file a: truncated: 3 bytes/,
    );
    expect(() => parseIdx(good.subarray(0, 9), { name: 'a' })).toThrow(
      /IDX file a: truncated header: 2 dimension\(s\) need 12 bytes, the file has 9/,
    );
    expect(() => parseIdx(good.subarray(0, 15), { name: 'a' })).toThrow(
      /IDX file a: truncated: shape \[2,2\] of uint8 needs 16 bytes, the file has 15/,
    );
    expect(() => parseIdx(Uint8Array.from([...good, 0]), { name: 'a' })).toThrow(
      /IDX file a: oversized: .* the file has 17/,
    );
    expect(() => parseIdx(handIdx(0x0c, [2], [0, 0, 0, 1, 0, 0]), { name: 'i' })).toThrow(
      /truncated: shape \[2\] of int32 needs 16 bytes, the file has 14/,
    );
  });

  it('rejects corrupt gzip data', () => {
    const gz = zlib.gzipSync(handIdx(0x08, [4], [1, 2, 3, 4]));
    const cut = gz.subarray(0, gz.length - 6);
    expect(() => parseIdx(cut, { name: 'c.gz' })).toThrow(/IDX file c\.gz: corrupt gzip data/);
  });

  it('checks its arguments', () => {
    expect(() => parseIdx([0, 0] as unknown as Uint8Array)).toThrow(
      /parseIdx: bytes must be a Uint8Array/,
    );
    expect(() => parseIdx(new Uint8Array(8), { ndim: -1 })).toThrow(
      /parseIdx: opts.ndim must be an integer/,
    );
    expect(() => parseIdx(new Uint8Array(8), { dtype: 'int64' as never })).toThrow(
      /parseIdx: opts.dtype must be one of/,
    );
  });
});

describe('encodeIdx / writeIdx / readIdx', () => {
  it('encodes exactly the hand-made bytes', () => {
    expect(
      encodeIdx({ dtype: 'uint8', shape: [2, 3], data: Uint8Array.from([1, 2, 3, 250, 251, 252]) }),
    ).toEqual(handIdx(0x08, [2, 3], [1, 2, 3, 250, 251, 252]));
    expect(encodeIdx({ dtype: 'int16', shape: [2], data: Int16Array.from([-2, 256]) })).toEqual(
      handIdx(0x0b, [2], [0xff, 0xfe, 0x01, 0x00]),
    );
  });

  it('round-trips every dtype through a file, gzip chosen by the extension', () => {
    const cases: IdxArray[] = [
      { dtype: 'uint8', shape: [3, 1], data: Uint8Array.from([0, 128, 255]) },
      { dtype: 'int8', shape: [2], data: Int8Array.from([-128, 127]) },
      { dtype: 'int16', shape: [2], data: Int16Array.from([-32768, 32767]) },
      { dtype: 'int32', shape: [1, 2], data: Int32Array.from([-2147483648, 2147483647]) },
      { dtype: 'float32', shape: [2], data: Float32Array.from([0.1, -3e38]) },
      { dtype: 'float64', shape: [2], data: Float64Array.from([Math.PI, -1e300]) },
    ];
    for (const c of cases) {
      for (const ext of ['.idx', '.idx.gz']) {
        const p = path.join(dir, c.dtype + ext);
        writeIdx(p, c);
        expect(isGzip(fs.readFileSync(p))).toBe(ext.endsWith('.gz'));
        expect(readIdx(p)).toEqual(c);
      }
    }
  });

  it('readIdx names a missing file', () => {
    const p = path.join(dir, 'missing.gz');
    expect(() => readIdx(p)).toThrow(`readIdx: cannot read ${p}`);
  });

  it('readIdx errors name the file', () => {
    const p = path.join(dir, 'bad-magic.idx');
    fs.writeFileSync(p, Uint8Array.from([7, 7, 8, 0, 1]));
    expect(() => readIdx(p)).toThrow(`IDX file ${p}: bad magic`);
  });

  it('encodeIdx checks its argument', () => {
    expect(() => encodeIdx({ dtype: 'uint8', shape: [3], data: new Uint8Array(2) })).toThrow(
      /encodeIdx: shape \[3\] needs 3 elements, data has 2/,
    );
    expect(() => encodeIdx({ dtype: 'uint8', shape: [2], data: new Int8Array(2) })).toThrow(
      /encodeIdx: array.data must be a Uint8Array for dtype uint8, got Int8Array/,
    );
    expect(() =>
      encodeIdx({ dtype: 'bogus' as never, shape: [2], data: new Int8Array(2) }),
    ).toThrow(/encodeIdx: array.dtype must be one of/);
    expect(() => encodeIdx({ dtype: 'uint8', shape: [-1], data: new Uint8Array(0) })).toThrow(
      /encodeIdx: array.shape/,
    );
  });
});
