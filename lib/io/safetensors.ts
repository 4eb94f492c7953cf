/**
 * The safetensors format (https://github.com/huggingface/safetensors), so that weights move
 * between convnet and PyTorch:
 *
 *   8 bytes    N, the header length, unsigned little-endian
 *   N bytes    a UTF-8 JSON object: { "__metadata__"?: { string: string },
 *              name: { "dtype": "F32", "shape": [..], "data_offsets": [begin, end] }, ... }
 *              padded with spaces so that the data starts 8-byte aligned
 *   the rest   the byte buffer: tensors little-endian row-major, offsets relative to its start
 *
 * Loading trusts nothing: every field is checked, and a bad file is rejected whole with an error
 * naming the file and the problem, before any tensor is built.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';

import { Tensor, formatShape, shapeSize } from '../tensor.js';
import { writeFileAtomic } from './atomic.js';

/** The dtypes of the safetensors format that convnet can read. */
export type SafetensorsDType =
  | 'BOOL'
  | 'U8'
  | 'I8'
  | 'U16'
  | 'I16'
  | 'F16'
  | 'BF16'
  | 'U32'
  | 'I32'
  | 'F32'
  | 'U64'
  | 'I64'
  | 'F64';

const DTYPE_SIZE: Record<SafetensorsDType, number> = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  U16: 2,
  I16: 2,
  F16: 2,
  BF16: 2,
  U32: 4,
  I32: 4,
  F32: 4,
  U64: 8,
  I64: 8,
  F64: 8,
};

/** Valid in the format, but with no convnet tensor type to load them into. */
const UNSUPPORTED_DTYPES = new Set([
  'F8_E4M3',
  'F8_E5M2',
  'F8_E8M0',
  'F6_E2M3',
  'F6_E3M2',
  'F4',
  'C64',
]);

/** The reference implementation refuses headers above 100 MB; so do we, before allocating. */
export const MAX_HEADER_SIZE = 100_000_000;

const FLOAT_DTYPES = new Set<SafetensorsDType>(['F16', 'BF16', 'F32', 'F64']);
const LITTLE_ENDIAN = os.endianness() === 'LE';
const bitsF32 = new Float32Array(1);
const bitsU32 = new Uint32Array(bitsF32.buffer);

export interface SafetensorsFile {
  /** Tensors in file order (by data offset): float dtypes load as float32, integer ones as int32. */
  tensors: Map<string, Tensor>;
  /** The dtype each tensor had in the file. */
  dtypes: Map<string, SafetensorsDType>;
  /** The `__metadata__` string map ({} when absent). */
  metadata: Record<string, string>;
}

export type TensorMap = Map<string, Tensor> | Record<string, Tensor>;

interface Entry {
  name: string;
  dtype: SafetensorsDType;
  shape: number[];
  begin: number;
  end: number;
}

// ---------------------------------------------------------------------------------------------
// Writing

function tensorEntries(fn: string, tensors: TensorMap): [string, Tensor][] {
  if (tensors === null || typeof tensors !== 'object') {
    throw new TypeError(
      `${fn}: tensors must be a Map or an object of name -> Tensor, got ${String(tensors)}`,
    );
  }
  const entries = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
  for (const [name, t] of entries) {
    if (typeof name !== 'string' || name === '') {
      throw new TypeError(
        `${fn}: tensor names must be non-empty strings, got ${JSON.stringify(name)}`,
      );
    }
    if (name === '__metadata__') {
      throw new RangeError(
        `${fn}: "__metadata__" is reserved by the format and cannot name a tensor`,
      );
    }
    if (!(t instanceof Tensor)) {
      throw new TypeError(
        `${fn}: tensors["${name}"] must be a Tensor, got ${t === null ? 'null' : typeof t}`,
      );
    }
  }
  return entries;
}

function checkMetadata(
  fn: string,
  metadata: Record<string, string> | undefined,
): Record<string, string> {
  if (metadata === undefined) return {};
  if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) {
    throw new TypeError(
      `${fn}: metadata must be an object of string values, got ${JSON.stringify(metadata)}`,
    );
  }
  for (const [k, v] of Object.entries(metadata)) {
    if (typeof v !== 'string') {
      throw new TypeError(
        `${fn}: metadata["${k}"] must be a string (the format allows only strings), got ${typeof v}`,
      );
    }
  }
  return metadata;
}

function littleEndianBytes(t: Tensor): Uint8Array {
  const d = t.data;
  if (LITTLE_ENDIAN) return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
  const out = new Uint8Array(d.byteLength);
  const view = new DataView(out.buffer);
  for (let i = 0; i < d.length; i++) {
    if (d instanceof Float32Array) view.setFloat32(4 * i, d[i], true);
    else view.setInt32(4 * i, d[i], true);
  }
  return out;
}

/**
 * The file as a sequence of chunks (length prefix + header, then each tensor's bytes), so that a
 * large model is written without first being copied into one buffer. Float32 tensors are stored as
 * F32, int32 tensors as I32.
 */
export function safetensorsChunks(
  tensors: TensorMap,
  metadata?: Record<string, string>,
): Uint8Array[] {
  const fn = 'saveSafetensors';
  const entries = tensorEntries(fn, tensors);
  const meta = checkMetadata(fn, metadata);
  const header: Record<string, unknown> = {};
  if (Object.keys(meta).length > 0) header.__metadata__ = meta;
  let offset = 0;
  for (const [name, t] of entries) {
    const bytes = t.data.byteLength;
    header[name] = {
      dtype: t.dtype === 'int32' ? 'I32' : 'F32',
      shape: [...t.shape],
      data_offsets: [offset, offset + bytes],
    };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  const jsonBytes = Buffer.byteLength(json, 'utf8');
  json += ' '.repeat((8 - (jsonBytes % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const prefix = new Uint8Array(8 + headerBytes.length);
  new DataView(prefix.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  prefix.set(headerBytes, 8);
  return [prefix, ...entries.map(([, t]) => littleEndianBytes(t))];
}

/** The whole file in one buffer. */
export function serializeSafetensors(
  tensors: TensorMap,
  metadata?: Record<string, string>,
): Uint8Array {
  return Buffer.concat(safetensorsChunks(tensors, metadata));
}

/** Writes tensors (float32 as F32, int32 as I32) and optional string metadata, atomically. */
export function saveSafetensors(
  path: string,
  tensors: TensorMap,
  metadata?: Record<string, string>,
): void {
  if (typeof path !== 'string' || path === '') {
    throw new TypeError(
      `saveSafetensors: path must be a non-empty string, got ${JSON.stringify(path)}`,
    );
  }
  writeFileAtomic(path, safetensorsChunks(tensors, metadata));
}

// ---------------------------------------------------------------------------------------------
// Reading

class SafetensorsError extends Error {
  constructor(file: string, problem: string) {
    super(`safetensors file ${file}: ${problem}`);
    this.name = 'SafetensorsError';
  }
}

/**
 * Duplicate keys, which JSON.parse silently merges (the last one wins): a file that names a tensor
 * twice is ambiguous and rejected. Runs on text that JSON.parse has accepted, so it only needs to
 * track strings and nesting.
 */
function findDuplicateKey(text: string): string | null {
  const stack: (Set<string> | null)[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '{') stack.push(new Set());
    else if (c === '[') stack.push(null);
    else if (c === '}' || c === ']') stack.pop();
    else if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      const str = JSON.parse(text.slice(i, j + 1)) as string;
      i = j;
      let k = j + 1;
      while (k < text.length && ' \t\n\r'.includes(text[k])) k++;
      const keys = stack[stack.length - 1];
      if (text[k] === ':' && keys) {
        if (keys.has(str)) return str;
        keys.add(str);
      }
    }
  }
  return null;
}

function isSafeNonNegInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function parseHeader(
  file: string,
  bytes: Uint8Array,
): { entries: Entry[]; metadata: Record<string, string>; dataStart: number } {
  const fail = (problem: string): never => {
    throw new SafetensorsError(file, problem);
  };
  if (bytes.length < 8)
    fail(`truncated: ${bytes.length} bytes, too short for the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n64 = view.getBigUint64(0, true);
  if (n64 > BigInt(MAX_HEADER_SIZE)) {
    fail(`header length ${n64} exceeds the ${MAX_HEADER_SIZE}-byte limit (corrupt length prefix?)`);
  }
  const n = Number(n64);
  if (n < 2) fail(`header length ${n} is too small to hold a JSON object`);
  if (8 + n > bytes.length) {
    fail(
      `header length ${n} exceeds the file: the file has ${bytes.length} bytes, the header needs ${8 + n}`,
    );
  }
  let text = '';
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n));
  } catch {
    fail('header is not valid UTF-8');
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    fail(`header is not valid JSON (${(e as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) {
    fail(
      `header must be a JSON object, got ${Array.isArray(header) ? 'an array' : JSON.stringify(header)}`,
    );
  }
  const dup = findDuplicateKey(text);
  if (dup !== null) fail(`header names "${dup}" twice`);

  const dataStart = 8 + n;
  const bufferSize = bytes.length - dataStart;
  let metadata: Record<string, string> = {};
  const entries: Entry[] = [];
  for (const [name, info] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (info === null || typeof info !== 'object' || Array.isArray(info)) {
        fail(`__metadata__ must be an object of strings, got ${JSON.stringify(info)}`);
      }
      for (const [k, v] of Object.entries(info as Record<string, unknown>)) {
        if (typeof v !== 'string')
          fail(`__metadata__["${k}"] must be a string, got ${JSON.stringify(v)}`);
      }
      metadata = info as Record<string, string>;
      continue;
    }
    const where = `tensor "${name}"`;
    if (name === '') fail('a tensor has an empty name');
    if (info === null || typeof info !== 'object' || Array.isArray(info)) {
      fail(
        `${where}: expected an object { dtype, shape, data_offsets }, got ${JSON.stringify(info)}`,
      );
    }
    const rec = info as Record<string, unknown>;
    for (const k of Object.keys(rec)) {
      if (k !== 'dtype' && k !== 'shape' && k !== 'data_offsets')
        fail(`${where}: unknown field "${k}"`);
    }
    const { dtype, shape, data_offsets: offsets } = rec;
    if (typeof dtype !== 'string')
      fail(`${where}: dtype must be a string, got ${JSON.stringify(dtype)}`);
    if (UNSUPPORTED_DTYPES.has(dtype as string)) {
      fail(`${where}: dtype ${String(dtype)} is not supported by convnet`);
    }
    if (!Object.prototype.hasOwnProperty.call(DTYPE_SIZE, dtype as string)) {
      fail(`${where}: unknown dtype ${JSON.stringify(dtype)}`);
    }
    if (!Array.isArray(shape) || !shape.every(isSafeNonNegInt)) {
      fail(
        `${where}: shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`,
      );
    }
    if (
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !offsets.every(isSafeNonNegInt) ||
      (offsets as number[])[0] > (offsets as number[])[1]
    ) {
      fail(
        `${where}: data_offsets must be [begin, end] with 0 <= begin <= end, got ${JSON.stringify(offsets)}`,
      );
    }
    const d = dtype as SafetensorsDType;
    const s = shape as number[];
    const [begin, end] = offsets as number[];
    const need = shapeSize(s) * DTYPE_SIZE[d];
    if (end - begin !== need) {
      fail(
        `${where}: data_offsets [${begin}, ${end}] span ${end - begin} bytes, but ${d} shape ${formatShape(s)} needs ${need}`,
      );
    }
    if (end > bufferSize) {
      fail(
        `${where}: data_offsets [${begin}, ${end}] run past the data buffer of ${bufferSize} bytes (truncated file?)`,
      );
    }
    entries.push({ name, dtype: d, shape: s, begin, end });
  }
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let pos = 0;
  for (const e of entries) {
    if (e.begin < pos)
      fail(
        `tensor "${e.name}": data_offsets [${e.begin}, ${e.end}] overlap the previous tensor (ends at ${pos})`,
      );
    if (e.begin > pos)
      fail(
        `tensor "${e.name}": gap in the data buffer: bytes [${pos}, ${e.begin}) belong to no tensor`,
      );
    pos = e.end;
  }
  if (pos !== bufferSize) {
    fail(`the data buffer has ${bufferSize} bytes but the tensors cover ${pos} (trailing bytes)`);
  }
  return { entries, metadata, dataStart };
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac === 0 ? sign * Infinity : NaN;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

function decodeTensor(file: string, e: Entry, raw: Uint8Array): Tensor {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const count = shapeSize(e.shape);
  if (FLOAT_DTYPES.has(e.dtype)) {
    let out: Float32Array;
    if (e.dtype === 'F32' && LITTLE_ENDIAN) {
      // An aligned copy that the tensor owns: the offset in the file may not be 4-aligned, and
      // Buffer.slice would share the file's memory rather than copy.
      out = new Float32Array(new Uint8Array(raw).buffer);
    } else {
      out = new Float32Array(count);
      for (let i = 0; i < count; i++) {
        switch (e.dtype) {
          case 'F32':
            out[i] = view.getFloat32(4 * i, true);
            break;
          case 'F64':
            out[i] = view.getFloat64(8 * i, true);
            break;
          case 'F16':
            out[i] = halfToFloat(view.getUint16(2 * i, true));
            break;
          default: // BF16 is the top half of a float32
            bitsU32[0] = view.getUint16(2 * i, true) << 16;
            out[i] = bitsF32[0];
        }
      }
    }
    return new Tensor(out, e.shape);
  }
  if (e.dtype === 'I32' && LITTLE_ENDIAN)
    return new Tensor(new Int32Array(new Uint8Array(raw).buffer), e.shape);
  const out = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    let v: number | bigint;
    switch (e.dtype) {
      case 'BOOL':
      case 'U8':
        v = view.getUint8(i);
        break;
      case 'I8':
        v = view.getInt8(i);
        break;
      case 'U16':
        v = view.getUint16(2 * i, true);
        break;
      case 'I16':
        v = view.getInt16(2 * i, true);
        break;
      case 'U32':
        v = view.getUint32(4 * i, true);
        break;
      case 'I32':
        v = view.getInt32(4 * i, true);
        break;
      case 'U64':
        v = view.getBigUint64(8 * i, true);
        break;
      default:
        v = view.getBigInt64(8 * i, true);
    }
    if (v > 2147483647 || v < -2147483648) {
      throw new SafetensorsError(
        file,
        `tensor "${e.name}": ${e.dtype} value ${v} at index ${i} does not fit in int32, the integer type convnet loads into`,
      );
    }
    out[i] = Number(v);
  }
  return new Tensor(out, e.shape);
}

/** Parses a whole safetensors file held in memory. `name` is used in error messages. */
export function parseSafetensors(bytes: Uint8Array, opts: { name?: string } = {}): SafetensorsFile {
  if (!(bytes instanceof Uint8Array)) {
    throw new TypeError(`parseSafetensors: bytes must be a Uint8Array, got ${typeof bytes}`);
  }
  const file = opts.name ?? '<buffer>';
  const { entries, metadata, dataStart } = parseHeader(file, bytes);
  const tensors = new Map<string, Tensor>();
  const dtypes = new Map<string, SafetensorsDType>();
  for (const e of entries) {
    tensors.set(
      e.name,
      decodeTensor(file, e, bytes.subarray(dataStart + e.begin, dataStart + e.end)),
    );
    dtypes.set(e.name, e.dtype);
  }
  return { tensors, dtypes, metadata: { ...metadata } };
}

/** Reads a safetensors file; a bad file throws an error naming it and what is wrong. */
export function loadSafetensors(path: string): SafetensorsFile {
  if (typeof path !== 'string' || path === '') {
    throw new TypeError(
      `loadSafetensors: path must be a non-empty string, got ${JSON.stringify(path)}`,
    );
  }
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(path);
  } catch (e) {
    throw new Error(`loadSafetensors: cannot read ${path}: ${(e as Error).message}`);
  }
  return parseSafetensors(bytes, { name: path });
}
