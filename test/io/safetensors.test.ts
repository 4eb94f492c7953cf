import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  MAX_HEADER_SIZE,
  loadSafetensors,
  parseSafetensors,
  saveSafetensors,
  serializeSafetensors,
} from '../../lib/io/safetensors.js';
import { Generator } from '../../lib/random.js';
import { Tensor } from '../../lib/tensor.js';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'convnet-safetensors-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const f32 = (values: number[], shape: number[]): Tensor =>
  new Tensor(Float32Array.from(values), shape);
const i32 = (values: number[], shape: number[]): Tensor =>
  new Tensor(Int32Array.from(values), shape);

/** A file built by hand from a header object and raw buffer bytes, independently of the writer. */
function handFile(
  header: unknown,
  buffer: number[] | Uint8Array = [],
  opts: { pad?: boolean; rawHeader?: string } = {},
): Uint8Array {
  let text = opts.rawHeader ?? JSON.stringify(header);
  if (opts.pad !== false) while (Buffer.byteLength(text) % 8 !== 0) text += ' ';
  const h = Buffer.from(text, 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(h.length));
  return Buffer.concat([len, h, Buffer.from(buffer)]);
}

const le32f = (...v: number[]): number[] => [...Buffer.from(Float32Array.from(v).buffer)];

describe('safetensors writing', () => {
  it('lays out the bytes as the format specifies', () => {
    const bytes = serializeSafetensors(
      { w: f32([1, -2], [2]), idx: i32([7], [1]) },
      { epoch: '3' },
    );
    const json =
      '{"__metadata__":{"epoch":"3"},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"idx":{"dtype":"I32","shape":[1],"data_offsets":[8,12]}}';
    const padded = json + ' '.repeat((8 - (json.length % 8)) % 8);
    const expected = Buffer.concat([
      Buffer.from(new BigUint64Array([BigInt(padded.length)]).buffer),
      Buffer.from(padded),
      Buffer.from([0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0, 7, 0, 0, 0]), // 1.0f, -2.0f, int 7, little-endian
    ]);
    expect(Buffer.from(bytes)).toEqual(expected);
    expect((8 + padded.length) % 8).toBe(0);
  });

  it('round-trips float32 and int32 tensors of any rank, in order, with metadata', () => {
    const tensors = new Map<string, Tensor>([
      ['conv1.weight', f32([0.1, -0.2, 3.5e-8, 1e30, -0, 7], [1, 2, 3, 1])],
      ['scalar', f32([42.5], [])],
      ['empty', f32([], [0, 3])],
      ['labels', i32([-2147483648, 2147483647, 0], [3])],
    ]);
    const p = path.join(dir, 'roundtrip.safetensors');
    saveSafetensors(p, tensors, { format: 'pt', note: 'ünïcödé' });
    const back = loadSafetensors(p);
    expect([...back.tensors.keys()]).toEqual([...tensors.keys()]);
    for (const [name, t] of tensors) {
      const got = back.tensors.get(name)!;
      expect(got.shape).toEqual(t.shape);
      expect(got.dtype).toBe(t.dtype);
      expect(got.data).toEqual(t.data);
      expect(got.data.buffer).not.toBe(t.data.buffer);
    }
    expect(back.dtypes.get('labels')).toBe('I32');
    expect(back.metadata).toEqual({ format: 'pt', note: 'ünïcödé' });
    expect(fs.statSync(p).size).toBe(
      serializeSafetensors(tensors, { format: 'pt', note: 'ünïcödé' }).length,
    );
  });

  it('writes tensors that are views into a larger buffer', () => {
    const big = Float32Array.from([9, 1, 2, 3, 9]);
    const bytes = serializeSafetensors({ v: new Tensor(big.subarray(1, 4), [3]) });
    expect([...parseSafetensors(bytes).tensors.get('v')!.data]).toEqual([1, 2, 3]);
  });

  it('checks its arguments', () => {
    const p = path.join(dir, 'args.safetensors');
    expect(() => saveSafetensors(p, { a: [1, 2] as never })).toThrow(
      'saveSafetensors: tensors["a"] must be a Tensor, got object',
    );
    expect(() => saveSafetensors(p, { __metadata__: f32([1], [1]) })).toThrow(
      /"__metadata__" is reserved/,
    );
    expect(() => saveSafetensors(p, { a: f32([1], [1]) }, { n: 3 as never })).toThrow(
      'saveSafetensors: metadata["n"] must be a string (the format allows only strings), got number',
    );
    expect(() => saveSafetensors('', {})).toThrow(
      /saveSafetensors: path must be a non-empty string/,
    );
    expect(fs.existsSync(p)).toBe(false);
  });
});

describe('safetensors reading of other dtypes', () => {
  it('converts F64, F16, BF16 to float32 and integer types to int32', () => {
    const buf = Buffer.alloc(8 * 2 + 2 * 3 + 2 * 2 + 8 * 2 + 3 + 2 + 2 * 2 + 2 * 2 + 4 + 8);
    let o = 0;
    const put = (fn: (v: never, off: number) => number, ...vals: unknown[]) => {
      for (const v of vals) o = fn.call(buf, v as never, o);
    };
    put(buf.writeDoubleLE, 1.5, -2.25); // F64 [0,16)
    put(buf.writeUInt16LE, 0x3c00, 0xc000, 0x7bff); // F16 1, -2, 65504 [16,22)
    put(buf.writeUInt16LE, 0x3fc0, 0xc080); // BF16 1.5, -4 [22,26)
    put(buf.writeBigInt64LE, -5n, 2147483647n); // I64 [26,42)
    put(buf.writeUInt8, 0, 200, 255); // U8 [42,45)
    put(buf.writeInt8, -128, 127); // I8 [45,47)
    put(buf.writeUInt16LE, 65535, 1); // U16 [47,51)
    put(buf.writeInt16LE, -32768, 5); // I16 [51,55)
    put(buf.writeUInt32LE, 2147483647); // U32 [55,59)
    put(buf.writeBigUInt64LE, 12n); // U64 [59,67)
    const header = {
      f64: { dtype: 'F64', shape: [2], data_offsets: [0, 16] },
      f16: { dtype: 'F16', shape: [3], data_offsets: [16, 22] },
      bf16: { dtype: 'BF16', shape: [2], data_offsets: [22, 26] },
      i64: { dtype: 'I64', shape: [2, 1], data_offsets: [26, 42] },
      u8: { dtype: 'U8', shape: [3], data_offsets: [42, 45] },
      i8: { dtype: 'I8', shape: [2], data_offsets: [45, 47] },
      u16: { dtype: 'U16', shape: [2], data_offsets: [47, 51] },
      i16: { dtype: 'I16', shape: [2], data_offsets: [51, 55] },
      u32: { dtype: 'U32', shape: [1], data_offsets: [55, 59] },
      u64: { dtype: 'U64', shape: [], data_offsets: [59, 67] },
    };
    const { tensors, dtypes } = parseSafetensors(handFile(header, buf.subarray(0, 67)));
    const vals = (k: string) => [...tensors.get(k)!.data];
    expect(vals('f64')).toEqual([1.5, -2.25]);
    expect(vals('f16')).toEqual([1, -2, 65504]);
    expect(vals('bf16')).toEqual([1.5, -4]);
    expect(vals('i64')).toEqual([-5, 2147483647]);
    expect(tensors.get('i64')!.shape).toEqual([2, 1]);
    expect(vals('u8')).toEqual([0, 200, 255]);
    expect(vals('i8')).toEqual([-128, 127]);
    expect(vals('u16')).toEqual([65535, 1]);
    expect(vals('i16')).toEqual([-32768, 5]);
    expect(vals('u32')).toEqual([2147483647]);
    expect(vals('u64')).toEqual([12]);
    expect(tensors.get('f16')!.dtype).toBe('float32');
    expect(tensors.get('u8')!.dtype).toBe('int32');
    expect(dtypes.get('bf16')).toBe('BF16');
  });

  it('rejects integers that do not fit in int32', () => {
    const b = Buffer.alloc(8);
    b.writeBigInt64LE(2147483648n);
    expect(() =>
      parseSafetensors(handFile({ big: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }, b), {
        name: 'm.st',
      }),
    ).toThrow(
      'safetensors file m.st: tensor "big": I64 value 2147483648 at index 0 does not fit in int32',
    );
  });

  it('reads F32 data at an unaligned offset (unpadded header)', () => {
    const file = handFile(
      { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } },
      le32f(0.5, 2),
      { rawHeader: '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}', pad: false },
    );
    expect((8 + 55) % 4).not.toBe(0);
    expect([...parseSafetensors(file).tensors.get('a')!.data]).toEqual([0.5, 2]);
  });
});

describe('safetensors validation: every field corrupted in turn', () => {
  const ok = { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } };
  const buf8 = le32f(1, 2);
  const cases: [string, () => Uint8Array, string | RegExp][] = [
    [
      'a file shorter than the length prefix',
      () => Uint8Array.of(1, 2, 3),
      'truncated: 3 bytes, too short for the 8-byte header length',
    ],
    [
      'a header length beyond the file',
      () => {
        const f = handFile(ok, buf8);
        new DataView(f.buffer, f.byteOffset).setUint32(0, 5000, true);
        return f;
      },
      /header length 5000 exceeds the file: the file has \d+ bytes, the header needs 5008/,
    ],
    [
      'a huge header length',
      () => {
        const f = handFile(ok, buf8);
        new DataView(f.buffer, f.byteOffset).setUint32(4, 1, true);
        return f;
      },
      new RegExp(`header length 42949673\\d\\d exceeds the ${MAX_HEADER_SIZE}-byte limit`),
    ],
    [
      'a zero header length',
      () => new Uint8Array(16),
      'header length 0 is too small to hold a JSON object',
    ],
    [
      'a header that is not UTF-8',
      () => {
        const f = handFile(ok, buf8);
        f[10] = 0xff;
        return f;
      },
      'header is not valid UTF-8',
    ],
    [
      'a header that is not JSON',
      () => handFile(null, buf8, { rawHeader: '{"a": {"dtype": "F32",' }),
      /header is not valid JSON/,
    ],
    [
      'a header that is an array',
      () => handFile([1, 2]),
      'header must be a JSON object, got an array',
    ],
    ['a header that is a number', () => handFile(12), 'header must be a JSON object, got 12'],
    [
      '__metadata__ not an object',
      () => handFile({ __metadata__: 'x', ...ok }, buf8),
      '__metadata__ must be an object of strings, got "x"',
    ],
    [
      '__metadata__ with a number',
      () => handFile({ __metadata__: { k: 1 }, ...ok }, buf8),
      '__metadata__["k"] must be a string, got 1',
    ],
    [
      'a tensor entry that is not an object',
      () => handFile({ a: [1] }, buf8),
      'tensor "a": expected an object { dtype, shape, data_offsets }, got [1]',
    ],
    [
      'an unknown field',
      () => handFile({ a: { ...ok.a, stride: [1] } }, buf8),
      'tensor "a": unknown field "stride"',
    ],
    [
      'a missing dtype',
      () => handFile({ a: { shape: [2], data_offsets: [0, 8] } }, buf8),
      'tensor "a": dtype must be a string, got undefined',
    ],
    [
      'an unknown dtype',
      () => handFile({ a: { ...ok.a, dtype: 'F128' } }, buf8),
      'tensor "a": unknown dtype "F128"',
    ],
    [
      'an inherited-property dtype',
      () => handFile({ a: { ...ok.a, dtype: 'toString' } }, buf8),
      'tensor "a": unknown dtype "toString"',
    ],
    [
      'an unsupported dtype',
      () => handFile({ a: { ...ok.a, dtype: 'F8_E4M3' } }, buf8),
      'tensor "a": dtype F8_E4M3 is not supported by convnet',
    ],
    [
      'a shape that is not an array',
      () => handFile({ a: { ...ok.a, shape: 2 } }, buf8),
      'tensor "a": shape must be an array of non-negative integers, got 2',
    ],
    [
      'a negative dimension',
      () => handFile({ a: { ...ok.a, shape: [-2] } }, buf8),
      'tensor "a": shape must be an array of non-negative integers, got [-2]',
    ],
    [
      'a fractional dimension',
      () => handFile({ a: { ...ok.a, shape: [2.5] } }, buf8),
      /shape must be an array of non-negative integers, got \[2\.5\]/,
    ],
    [
      'data_offsets of one number',
      () => handFile({ a: { ...ok.a, data_offsets: [8] } }, buf8),
      'tensor "a": data_offsets must be [begin, end] with 0 <= begin <= end, got [8]',
    ],
    [
      'data_offsets reversed',
      () => handFile({ a: { ...ok.a, data_offsets: [8, 0] } }, buf8),
      /data_offsets must be \[begin, end\] with 0 <= begin <= end, got \[8,0\]/,
    ],
    [
      'data_offsets as strings',
      () => handFile({ a: { ...ok.a, data_offsets: ['0', '8'] } }, buf8),
      /data_offsets must be \[begin, end\]/,
    ],
    [
      'a shape that disagrees with the byte range',
      () => handFile({ a: { ...ok.a, shape: [3] } }, buf8),
      'tensor "a": data_offsets [0, 8] span 8 bytes, but F32 shape [3] needs 12',
    ],
    [
      'a dtype that disagrees with the byte range',
      () => handFile({ a: { ...ok.a, dtype: 'F64' } }, buf8),
      'tensor "a": data_offsets [0, 8] span 8 bytes, but F64 shape [2] needs 16',
    ],
    [
      'offsets past the end of the file',
      () => handFile(ok, buf8.slice(0, 6)),
      'tensor "a": data_offsets [0, 8] run past the data buffer of 6 bytes (truncated file?)',
    ],
    [
      'overlapping tensors',
      () => handFile({ a: ok.a, b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, buf8),
      /data_offsets \[4, 8\] overlap the previous tensor \(ends at 8\)/,
    ],
    [
      'a gap in the buffer',
      () => handFile({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, buf8),
      'tensor "a": gap in the data buffer: bytes [0, 4) belong to no tensor',
    ],
    [
      'trailing bytes',
      () => handFile(ok, [...buf8, 0, 0, 0, 0]),
      'the data buffer has 12 bytes but the tensors cover 8 (trailing bytes)',
    ],
    [
      'a duplicate tensor name',
      () =>
        handFile(null, buf8, {
          rawHeader:
            '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}',
        }),
      'header names "a" twice',
    ],
    [
      'a duplicate name hidden behind escapes',
      () =>
        handFile(null, [...buf8, ...buf8], {
          rawHeader:
            '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}, "\\u0061" :{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}',
        }),
      'header names "a" twice',
    ],
    ['an empty tensor name', () => handFile({ '': ok.a }, buf8), 'a tensor has an empty name'],
  ];

  it.each(cases)('rejects %s with an error naming the file', (_what, make, problem) => {
    const p = path.join(dir, 'bad.safetensors');
    fs.writeFileSync(p, make());
    let err: unknown = null;
    let result: unknown;
    try {
      result = loadSafetensors(p);
    } catch (e) {
      err = e;
    }
    expect(result).toBeUndefined();
    expect(err).toBeInstanceOf(Error);
    const msg = (err as Error).message;
    expect(msg.startsWith(`safetensors file ${p}: `)).toBe(true);
    if (typeof problem === 'string') expect(msg).toContain(problem);
    else expect(msg).toMatch(problem);
  });

  it('the unmodified base file loads, so each case fails for its own reason', () => {
    expect([...parseSafetensors(handFile(ok, buf8)).tensors.get('a')!.data]).toEqual([1, 2]);
    expect(
      parseSafetensors(
        handFile({ a: ok.a, b: { dtype: 'F32', shape: [0], data_offsets: [8, 8] } }, buf8),
      ).tensors.get('b')!.shape,
    ).toEqual([0]);
  });

  it('never crashes on random corruption: every failure is a clear error', () => {
    const good = serializeSafetensors(
      { w: f32([1, 2, 3, 4, 5, 6], [2, 3]), b: i32([1, 2], [2]) },
      { k: 'v' },
    );
    const gen = new Generator(123);
    let rejected = 0;
    for (let trial = 0; trial < 400; trial++) {
      let f = Uint8Array.from(good);
      const kind = trial % 3;
      if (kind === 0) f = f.subarray(0, gen.randint(f.length));
      else if (kind === 1) f[gen.randint(f.length)] ^= 1 << gen.randint(8);
      else f[gen.randint(Math.min(f.length, 120))] = gen.randint(256);
      try {
        parseSafetensors(f, { name: 'fuzz' });
      } catch (e) {
        rejected++;
        expect(e).toBeInstanceOf(Error);
        expect((e as Error).message).toMatch(/^safetensors file fuzz: /);
      }
    }
    expect(rejected).toBeGreaterThan(200);
  });

  it('names a missing file', () => {
    const p = path.join(dir, 'nope.safetensors');
    expect(() => loadSafetensors(p)).toThrow(`loadSafetensors: cannot read ${p}`);
  });
});

describe('safetensors interop with an independent Python reader', () => {
  const script = path.join(__dirname, 'fixtures', 'safetensors_interop.py');
  const python = ['python3', '/usr/bin/python3'].find(
    (py) => spawnSync(py, ['-c', 'import numpy'], { stdio: 'ignore' }).status === 0,
  );

  it.skipIf(python === undefined)('python reads what convnet writes', () => {
    const p = path.join(dir, 'to-python.safetensors');
    saveSafetensors(p, { w: f32([0.25, -1.5, 3], [3, 1]), y: i32([-7, 9], [2]) }, { epoch: '4' });
    const r = spawnSync(python!, [script, 'read', p], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout);
    expect(out.metadata).toEqual({ epoch: '4' });
    expect(out.tensors.w).toEqual({ dtype: 'F32', shape: [3, 1], values: [0.25, -1.5, 3] });
    expect(out.tensors.y).toEqual({ dtype: 'I32', shape: [2], values: [-7, 9] });
  });

  it.skipIf(python === undefined)('convnet reads what python writes', () => {
    const p = path.join(dir, 'from-python.safetensors');
    const r = spawnSync(python!, [script, 'write', p], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const { tensors, metadata, dtypes } = loadSafetensors(p);
    expect(metadata).toEqual({ writer: 'numpy' });
    expect([...tensors.get('f64')!.data]).toEqual([1.5, -2.25, Infinity, 0]); // 3e100 exceeds float32
    expect([...tensors.get('f16')!.data]).toEqual([1, -0.5, 65504, 0.00006103515625]);
    expect([...tensors.get('i64')!.data]).toEqual([-3, 2147483647, -2147483648]);
    expect(tensors.get('u8')!.shape).toEqual([2, 2]);
    expect([...tensors.get('u8')!.data]).toEqual([0, 255, 7, 8]);
    expect([...tensors.get('bool')!.data]).toEqual([1, 0, 1]);
    expect([...tensors.get('f32')!.data]).toEqual([Math.fround(0.1), Math.fround(0.2)]);
    expect(dtypes.get('f16')).toBe('F16');
  });
});
