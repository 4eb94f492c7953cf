/**
 * The IDX file format of MNIST and Fashion-MNIST: two zero bytes, a dtype code, the number of
 * dimensions, one big-endian uint32 per dimension, then the elements in big-endian row-major
 * order. Files may be gzipped; the gzip magic (1f 8b) decides, never the file name.
 */
import * as fs from 'node:fs';
import * as zlib from 'node:zlib';

import { writeFileAtomic } from '../io/atomic.js';

export type IdxDType = 'uint8' | 'int8' | 'int16' | 'int32' | 'float32' | 'float64';
export type IdxData =
  Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;

export interface IdxArray {
  dtype: IdxDType;
  shape: number[];
  data: IdxData;
}

interface DTypeInfo {
  code: number;
  size: number;
  make: (n: number) => IdxData;
}

const DTYPES: Record<IdxDType, DTypeInfo> = {
  uint8: { code: 0x08, size: 1, make: (n) => new Uint8Array(n) },
  int8: { code: 0x09, size: 1, make: (n) => new Int8Array(n) },
  int16: { code: 0x0b, size: 2, make: (n) => new Int16Array(n) },
  int32: { code: 0x0c, size: 4, make: (n) => new Int32Array(n) },
  float32: { code: 0x0d, size: 4, make: (n) => new Float32Array(n) },
  float64: { code: 0x0e, size: 8, make: (n) => new Float64Array(n) },
};

const DTYPE_BY_CODE = new Map<number, IdxDType>(
  (Object.keys(DTYPES) as IdxDType[]).map((d) => [DTYPES[d].code, d]),
);

const hex = (b: number): string => '0x' + b.toString(16).padStart(2, '0');

export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

export interface ParseIdxOptions {
  /** Used in error messages (a file path); default "<buffer>". */
  name?: string;
  /** The number of dimensions the caller expects (3 for images, 1 for labels). */
  ndim?: number;
  /** The element type the caller expects. */
  dtype?: IdxDType;
}

function checkParseOptions(fn: string, opts: ParseIdxOptions): void {
  if (
    opts.ndim !== undefined &&
    !(Number.isInteger(opts.ndim) && opts.ndim >= 0 && opts.ndim <= 255)
  ) {
    throw new RangeError(
      `${fn}: opts.ndim must be an integer in [0, 255], got ${String(opts.ndim)}`,
    );
  }
  if (opts.dtype !== undefined && !(opts.dtype in DTYPES)) {
    throw new TypeError(
      `${fn}: opts.dtype must be one of ${Object.keys(DTYPES).join(', ')}, got ${String(opts.dtype)}`,
    );
  }
}

/** Parses IDX bytes (gzipped or plain) into a typed array; every inconsistency is an error. */
export function parseIdx(bytes: Uint8Array, opts: ParseIdxOptions = {}): IdxArray {
  if (!(bytes instanceof Uint8Array)) {
    throw new TypeError(`parseIdx: bytes must be a Uint8Array, got ${typeof bytes}`);
  }
  checkParseOptions('parseIdx', opts);
  const name = opts.name ?? '<buffer>';
  let raw = bytes;
  if (isGzip(bytes)) {
    try {
      raw = zlib.gunzipSync(bytes);
    } catch (e) {
      throw new Error(`IDX file ${name}: corrupt gzip data (${(e as Error).message})`);
    }
  }
  if (raw.length < 4) {
    throw new Error(
      `IDX file ${name}: truncated: ${raw.length} bytes, too short for the 4-byte magic`,
    );
  }
  if (raw[0] !== 0 || raw[1] !== 0) {
    throw new Error(
      `IDX file ${name}: bad magic: the first two bytes must be 0x00 0x00, got ${hex(raw[0])} ${hex(raw[1])}` +
        ' (not an IDX file?)',
    );
  }
  const dtype = DTYPE_BY_CODE.get(raw[2]);
  if (dtype === undefined) {
    throw new Error(
      `IDX file ${name}: unsupported dtype code ${hex(raw[2])} (known: ${[...DTYPE_BY_CODE.keys()].map(hex).join(', ')})`,
    );
  }
  if (opts.dtype !== undefined && dtype !== opts.dtype) {
    throw new Error(`IDX file ${name}: expected dtype ${opts.dtype}, got ${dtype}`);
  }
  const ndim = raw[3];
  if (opts.ndim !== undefined && ndim !== opts.ndim) {
    throw new Error(`IDX file ${name}: expected ${opts.ndim} dimension(s), got ${ndim}`);
  }
  const headerSize = 4 + 4 * ndim;
  if (raw.length < headerSize) {
    throw new Error(
      `IDX file ${name}: truncated header: ${ndim} dimension(s) need ${headerSize} bytes, the file has ${raw.length}`,
    );
  }
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const shape: number[] = [];
  let count = 1;
  for (let i = 0; i < ndim; i++) {
    const d = view.getUint32(4 + 4 * i, false);
    shape.push(d);
    count *= d;
  }
  const info = DTYPES[dtype];
  const expected = headerSize + count * info.size;
  if (raw.length !== expected) {
    const what = raw.length < expected ? 'truncated' : 'oversized';
    throw new Error(
      `IDX file ${name}: ${what}: shape [${shape.join(',')}] of ${dtype} needs ${expected} bytes, the file has ${raw.length}`,
    );
  }
  const data = info.make(count);
  if (info.size === 1) {
    (data as Uint8Array).set(raw.subarray(headerSize, expected));
  } else {
    for (let i = 0, off = headerSize; i < count; i++, off += info.size) {
      data[i] = readBigEndian(view, dtype, off);
    }
  }
  return { dtype, shape, data };
}

function readBigEndian(view: DataView, dtype: IdxDType, off: number): number {
  switch (dtype) {
    case 'int16':
      return view.getInt16(off, false);
    case 'int32':
      return view.getInt32(off, false);
    case 'float32':
      return view.getFloat32(off, false);
    default:
      return view.getFloat64(off, false);
  }
}

/** Reads an IDX file, gzipped or plain. Errors name the file. */
export function readIdx(path: string, opts: Omit<ParseIdxOptions, 'name'> = {}): IdxArray {
  if (typeof path !== 'string' || path === '') {
    throw new TypeError(`readIdx: path must be a non-empty string, got ${JSON.stringify(path)}`);
  }
  checkParseOptions('readIdx', opts);
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(path);
  } catch (e) {
    throw new Error(`readIdx: cannot read ${path}: ${(e as Error).message}`);
  }
  return parseIdx(bytes, { ...opts, name: path });
}

const DATA_CLASS: Record<IdxDType, new (...args: never[]) => IdxData> = {
  uint8: Uint8Array,
  int8: Int8Array,
  int16: Int16Array,
  int32: Int32Array,
  float32: Float32Array,
  float64: Float64Array,
};

/** Encodes an array as IDX bytes, gzipped when `gzip` is true. */
export function encodeIdx(array: IdxArray, opts: { gzip?: boolean } = {}): Uint8Array {
  if (array === null || typeof array !== 'object') {
    throw new TypeError(
      `encodeIdx: array must be an object { dtype, shape, data }, got ${String(array)}`,
    );
  }
  const { dtype, shape, data } = array;
  const info = DTYPES[dtype];
  if (info === undefined) {
    throw new TypeError(
      `encodeIdx: array.dtype must be one of ${Object.keys(DTYPES).join(', ')}, got ${String(dtype)}`,
    );
  }
  if (!(data instanceof DATA_CLASS[dtype])) {
    throw new TypeError(
      `encodeIdx: array.data must be a ${DATA_CLASS[dtype].name} for dtype ${dtype}, got ${data?.constructor?.name ?? typeof data}`,
    );
  }
  if (
    !Array.isArray(shape) ||
    shape.length > 255 ||
    !shape.every((d) => Number.isInteger(d) && d >= 0 && d <= 0xffffffff)
  ) {
    throw new RangeError(
      `encodeIdx: array.shape must be at most 255 integers in [0, 2^32), got ${JSON.stringify(shape)}`,
    );
  }
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length) {
    throw new RangeError(
      `encodeIdx: shape [${shape.join(',')}] needs ${count} elements, data has ${data.length}`,
    );
  }
  const headerSize = 4 + 4 * shape.length;
  const out = new Uint8Array(headerSize + count * info.size);
  const view = new DataView(out.buffer);
  out[2] = info.code;
  out[3] = shape.length;
  shape.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  if (info.size === 1) {
    out.set(new Uint8Array(data.buffer, data.byteOffset, data.length), headerSize);
  } else {
    for (let i = 0, off = headerSize; i < count; i++, off += info.size) {
      const v = data[i];
      if (dtype === 'int16') view.setInt16(off, v, false);
      else if (dtype === 'int32') view.setInt32(off, v, false);
      else if (dtype === 'float32') view.setFloat32(off, v, false);
      else view.setFloat64(off, v, false);
    }
  }
  return opts.gzip ? zlib.gzipSync(out, { level: 9 }) : out;
}

/**
 * Writes an IDX file atomically. `gzip` defaults to whether the path ends in ".gz", so that the
 * name never lies about the content.
 */
export function writeIdx(path: string, array: IdxArray, opts: { gzip?: boolean } = {}): void {
  if (typeof path !== 'string' || path === '') {
    throw new TypeError(`writeIdx: path must be a non-empty string, got ${JSON.stringify(path)}`);
  }
  writeFileAtomic(path, encodeIdx(array, { gzip: opts.gzip ?? path.endsWith('.gz') }));
}
