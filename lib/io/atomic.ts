/**
 * Atomic file replacement: readers see either the old file or the complete new one, never a
 * half-written file, even if the process dies mid-write. The data goes to a temporary file in the
 * same directory (rename is only atomic within one file system), is flushed with fsync, then
 * renamed over the target.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** What `writeFileAtomic` accepts: bytes, text (UTF-8), or chunks produced one at a time. */
export type AtomicData = Uint8Array | string | Iterable<Uint8Array>;

export interface WriteFileAtomicOptions {
  /** File mode (default: the replaced file's, else 0o666 less the umask). */
  mode?: number;
}

function tempPathFor(target: string): string {
  const suffix = `${process.pid}.${crypto.randomBytes(6).toString('hex')}.tmp`;
  return path.join(path.dirname(target), `.${path.basename(target)}.${suffix}`);
}

function writeAll(fd: number, bytes: Uint8Array): void {
  let off = 0;
  while (off < bytes.length) off += fs.writeSync(fd, bytes, off, bytes.length - off);
}

function isChunkIterable(data: unknown): data is Iterable<Uint8Array> {
  return (
    data !== null &&
    typeof data === 'object' &&
    typeof (data as { [Symbol.iterator]?: unknown })[Symbol.iterator] === 'function'
  );
}

/**
 * Writes `data` to `file` atomically. On any failure (including a chunk iterator that throws) the
 * temporary file is removed, the previous content of `file` is untouched, and the error names the
 * file.
 */
export function writeFileAtomic(
  file: string,
  data: AtomicData,
  opts: WriteFileAtomicOptions = {},
): void {
  if (typeof file !== 'string' || file === '') {
    throw new TypeError(
      `writeFileAtomic: path must be a non-empty string, got ${JSON.stringify(file)}`,
    );
  }
  if (!(data instanceof Uint8Array) && typeof data !== 'string' && !isChunkIterable(data)) {
    throw new TypeError(
      `writeFileAtomic: data must be a Uint8Array, a string or an iterable of Uint8Array chunks, got ${data === null ? 'null' : typeof data}`,
    );
  }
  const target = path.resolve(file);
  const tmp = tempPathFor(target);
  let fd: number | null = null;
  try {
    fd = fs.openSync(tmp, 'wx', opts.mode ?? existingMode(target) ?? 0o666);
    if (typeof data === 'string') {
      writeAll(fd, Buffer.from(data, 'utf8'));
    } else if (data instanceof Uint8Array) {
      writeAll(fd, data);
    } else {
      for (const chunk of data) {
        if (!(chunk instanceof Uint8Array)) {
          throw new TypeError(
            `data chunks must be Uint8Array, got ${chunk === null ? 'null' : typeof chunk}`,
          );
        }
        writeAll(fd, chunk);
      }
    }
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = null;
    fs.renameSync(tmp, target);
  } catch (e) {
    if (fd !== null) {
      try {
        fs.closeSync(fd);
      } catch {
        // The write error is the one worth reporting.
      }
    }
    try {
      fs.unlinkSync(tmp);
    } catch {
      // Nothing to remove when the temporary file was never created.
    }
    throw new Error(`writeFileAtomic: cannot write ${file}: ${(e as Error).message}`, { cause: e });
  }
  syncDirectory(path.dirname(target));
}

/** A replaced file keeps its permissions rather than taking the default ones. */
function existingMode(target: string): number | null {
  try {
    return fs.statSync(target).mode & 0o7777;
  } catch {
    return null;
  }
}

/** Makes the rename itself durable; best effort, as some platforms cannot open a directory. */
function syncDirectory(dir: string): void {
  let fd: number | null = null;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // Windows and some network file systems refuse; the data itself is already flushed.
  } finally {
    if (fd !== null) fs.closeSync(fd);
  }
}
