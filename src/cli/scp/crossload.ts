// `scp -3`: a copy between two remote hosts through this one, as OpenSSH's
// sftp_crossload does it: the origin's file read with many requests in
// flight and written to the destination as it arrives (no local copy), a
// directory tree walked on the origin (following links, as scp's recursion
// does) and made on the destination, modes and times set with -p, -l's
// bandwidth limit applied to the stream between them.
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { progressName, type ProgressReporter } from '../common/progress.js';
import { pathAppend } from './paths.js';
import { describeFailure, isDirectoryMode, isRegularMode, type RemoteAttrs, type RemoteFs } from './remote.js';

/** sftp's limit on nested directories in a recursive transfer. */
export const MAX_DIRECTORY_DEPTH = 64;

export interface CrossloadOptions {
  readonly preserve: boolean;
  /** Requests in flight and bytes per request; the client's defaults when absent. */
  readonly concurrency?: number;
  readonly chunkSize?: number;
  /** Bits per second; undefined for no limit. */
  readonly bandwidthLimit?: number;
  readonly progress: ProgressReporter;
  /** scp's error(): one line on stderr (without "scp: "). */
  readonly error: (message: string) => void;
  /** A monotonic clock in ms and a sleep, for the bandwidth limit (injected for tests). */
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

/**
 * -l's limit, as OpenSSH's bandwidth_limit: after `total` bytes, how long to
 * wait so that they have taken at least total*8/limit seconds since the start.
 */
export class RateLimit {
  private readonly startedAt: number;

  constructor(
    private readonly bitsPerSecond: number | undefined,
    private readonly now: () => number = () => performance.now(),
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  ) {
    this.startedAt = this.now();
  }

  /** The wait in ms (0 or less: none). */
  delayFor(total: number): number {
    if (!this.bitsPerSecond) return 0;
    return (total * 8 * 1000) / this.bitsPerSecond - (this.now() - this.startedAt);
  }

  /** Waits as long as `total` bytes so far require. */
  async pass(total: number): Promise<void> {
    const wait = this.delayFor(total);
    if (wait > 0) await this.sleep(wait);
  }
}

/** Passes data through unchanged, counting it for the progress bar and holding it back to -l's limit. */
export class MeteredStream extends Transform {
  private bytes = 0;
  private readonly limit: RateLimit;

  constructor(
    private readonly onBytes: (total: number) => void,
    bitsPerSecond: number | undefined,
    now?: () => number,
    sleep?: (ms: number) => Promise<void>,
  ) {
    super();
    this.limit = new RateLimit(bitsPerSecond, now, sleep);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    this.onBytes(this.bytes);
    if (this.limit.delayFor(this.bytes) <= 0) {
      callback(null, chunk);
      return;
    }
    this.limit.pass(this.bytes).then(
      () => callback(null, chunk),
      (err: unknown) => callback(err as Error),
    );
  }

  /** How long data is held back after `total` bytes (see RateLimit). */
  delayFor(total: number): number {
    return this.limit.delayFor(total);
  }
}

/** The attributes -p gives the copy: permission bits, and the times when both are known. */
function preservedAttrs(a: RemoteAttrs): RemoteAttrs {
  return {
    ...(a.mode !== undefined ? { mode: a.mode & 0o7777 } : {}),
    ...(a.atime !== undefined && a.mtime !== undefined ? { atime: a.atime, mtime: a.mtime } : {}),
  };
}

/** Copies one regular file; false (with the message printed) when it failed. */
export async function crossloadFile(from: RemoteFs, to: RemoteFs, src: string, dst: string, o: CrossloadOptions, known?: RemoteAttrs): Promise<boolean> {
  let attrs: RemoteAttrs;
  try {
    attrs = known ?? (await from.stat(src));
  } catch (err) {
    o.error(describeFailure(err));
    return false;
  }
  if (!isRegularMode(attrs.mode)) {
    o.error(`download "${src}": not a regular file`);
    return false;
  }
  o.progress.start(progressName(src), attrs.size ?? 0);
  try {
    const sizes = { ...(o.concurrency !== undefined ? { concurrency: o.concurrency } : {}), ...(o.chunkSize !== undefined ? { chunkSize: o.chunkSize } : {}) };
    const reader = from.createReadStream(src, sizes);
    const writer = to.createWriteStream(dst, { flags: 'w', mode: (attrs.mode ?? 0o644) & 0o777, ...sizes });
    await pipeline(reader, new MeteredStream((n) => o.progress.update(n), o.bandwidthLimit, o.now, o.sleep), writer);
    if (o.preserve) await to.setstat(dst, preservedAttrs(attrs));
    return true;
  } catch (err) {
    o.error(describeFailure(err));
    return false;
  } finally {
    o.progress.stop();
  }
}

/** Copies a directory tree (links followed); false when anything in it failed. */
export async function crossloadDirectory(from: RemoteFs, to: RemoteFs, src: string, dst: string, o: CrossloadOptions, depth = 0): Promise<boolean> {
  if (depth >= MAX_DIRECTORY_DEPTH) {
    o.error(`Maximum directory depth exceeded: ${depth} levels`);
    return false;
  }
  let attrs: RemoteAttrs;
  let entries: { filename: string }[];
  try {
    attrs = await from.stat(src);
    if (!isDirectoryMode(attrs.mode)) {
      o.error(`"${src}" is not a directory`);
      return false;
    }
    entries = await from.list(src);
  } catch (err) {
    o.error(describeFailure(err));
    return false;
  }
  // Writable by us while we fill it; -p puts the real mode back afterwards.
  const mode = ((attrs.mode ?? 0o755) & 0o777) | 0o700;
  try {
    await to.mkdir(dst, { mode });
  } catch (err) {
    let exists = false;
    try {
      exists = isDirectoryMode((await to.stat(dst)).mode);
    } catch {
      // reported below
    }
    if (!exists) {
      o.error(`mkdir "${dst}": ${describeFailure(err).replace(/^.*: /, '')}`);
      return false;
    }
  }
  let ok = true;
  for (const e of [...entries].sort((a, b) => (a.filename < b.filename ? -1 : a.filename > b.filename ? 1 : 0))) {
    if (e.filename === '.' || e.filename === '..') continue;
    const from1 = pathAppend(src, e.filename);
    const to1 = pathAppend(dst, e.filename);
    let a: RemoteAttrs;
    try {
      a = await from.stat(from1);
    } catch (err) {
      o.error(describeFailure(err));
      ok = false;
      continue;
    }
    if (isDirectoryMode(a.mode)) {
      if (!(await crossloadDirectory(from, to, from1, to1, o, depth + 1))) ok = false;
    } else if (isRegularMode(a.mode)) {
      if (!(await crossloadFile(from, to, from1, to1, o, a))) {
        o.error(`crossload "${from1}" to "${to1}" failed`);
        ok = false;
      }
    } else {
      o.error(`origin "${from1}": not a regular file`);
    }
  }
  if (o.preserve) {
    try {
      await to.setstat(dst, preservedAttrs(attrs));
    } catch (err) {
      o.error(describeFailure(err));
      ok = false;
    }
  }
  return ok;
}
