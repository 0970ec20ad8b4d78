// One file each way, with many requests in flight. The destination is
// written under a temporary name in its own directory and renamed into place
// only when every byte is there (unless resuming, which appends to it in
// place); a failure or an abort removes the temporary file, so a
// destination is never left truncated or padded — or, with `keepPartial`,
// leaves it under the destination's name when nothing was there (sftp's way,
// for a later resume). A destination a rename
// would damage (a link, a device, a FIFO, see destination.ts) is written
// through in place instead, as OpenSSH's sftp does.
import { constants as fsConstants } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { AbortError } from '../../errors.js';
import type { FileAttributes } from '../../sftp/attrs.js';
import { FX, FXF, STATUS_TEXT } from '../../sftp/constants.js';
import { SftpError } from '../../sftp/errors.js';
import type { SftpHandle, TransferOptions } from './api.js';
import type { SftpOps } from './ops.js';
import { localWritesInPlace, remoteWriteMode } from './destination.js';
import { ASYNC_LOCAL_IO, LocalIo } from './local-io.js';
import { LocalWriter } from './local-writer.js';
import type { Pacer } from './pacer.js';
import { PipelinedReader } from './reader.js';

/**
 * Bytes waiting for the local disk before the reader stops asking for more
 * (the requests in flight still land): a slow disk holds a file's memory to
 * about this plus the requests' worth.
 */
const LOCAL_BACKLOG = 4 * 1024 * 1024;

/** What a whole get or put shares across its files. */
export interface TransferContext {
  readonly o: TransferOptions;
  readonly chunkSize: number;
  readonly concurrency: number;
  readonly pacer: Pacer | undefined;
  totalTransferred: number;
  filesDone: number;
  /** Read buffers for put (blocks of whole requests), shared by the files of a transfer and reused. */
  readonly buffers: Buffer[];
  /** The transfer's local file calls (made on first use): synchronous while they are quick. */
  local?: LocalIo;
  /** Bytes of put's WRITEs read and not yet answered, across the files of a transfer (made on first use). */
  sending?: SendBudget;
}

/**
 * What a put has read and not yet had answered, shared by the files under
 * way: several files at once then hold no more memory than one file's
 * requests in flight (`concurrency` × `chunkSize`), however many there are.
 * A file with nothing in flight may always read one block, so each moves.
 */
export class SendBudget {
  used = 0;
  private readonly waiting = new Set<() => void>();
  constructor(readonly limit: number) {}

  /** Whether `bytes` more fit; if not, `retry` is called once some are answered. */
  take(bytes: number, idle: boolean, retry: () => void): boolean {
    if (!idle && this.used + bytes > this.limit) {
      this.waiting.add(retry);
      return false;
    }
    return true;
  }

  release(bytes: number): void {
    this.used -= bytes;
    if (this.waiting.size === 0) return;
    const ready = [...this.waiting];
    this.waiting.clear();
    for (const retry of ready) retry();
  }

  forget(retry: () => void): void {
    this.waiting.delete(retry);
  }
}

function localIo(ctx: TransferContext): LocalIo {
  return (ctx.local ??= new LocalIo());
}

/** Random per process, counted per file: temporary names no other client or transfer picks. */
const PART_PREFIX = randomBytes(4).toString('hex');
let partCounter = 0;

/** The temporary name a file is written under, next to where it goes. */
export function partName(name: string): string {
  partCounter = (partCounter + 1) % 0x1_0000_0000;
  return `.${name}.${PART_PREFIX}${partCounter.toString(16)}.nacre-part`;
}

function remoteDirname(p: string): string {
  const i = p.lastIndexOf('/');
  if (i < 0) return '';
  return i === 0 ? '/' : p.slice(0, i);
}

function remoteBasename(p: string): string {
  return p.slice(p.lastIndexOf('/') + 1);
}

export function remoteJoin(dir: string, name: string): string {
  if (dir === '') return name;
  return dir.endsWith('/') ? dir + name : `${dir}/${name}`;
}

function checkAborted(o: TransferOptions): void {
  if (o.signal?.aborted) throw new AbortError();
}

/** The error of a failed transfer naming the file it was for; the server's status kept. */
function transferError(err: unknown, op: 'get' | 'put', path: string, local: string): unknown {
  if (err instanceof SftpError) return new SftpError(err.code, err.serverMessage, op, path, { cause: err });
  return localError(err, op, path, local);
}

/**
 * A local file error (node:fs's, with an errno `code`) says which transfer
 * and which local file it was for; its `code`, `errno` and `syscall` are kept
 * so callers can still test them.
 */
function localError(err: unknown, op: 'get' | 'put', remote: string, local: string): unknown {
  const e = err as NodeJS.ErrnoException;
  if (!(err instanceof Error) || typeof e.code !== 'string') return err;
  const what = op === 'get' ? `get ${JSON.stringify(remote)} to ${JSON.stringify(local)}` : `put ${JSON.stringify(local)} to ${JSON.stringify(remote)}`;
  const wrapped: NodeJS.ErrnoException = new Error(`${what}: ${e.message}`, { cause: err });
  wrapped.code = e.code;
  if (e.errno !== undefined) wrapped.errno = e.errno;
  if (e.syscall !== undefined) wrapped.syscall = e.syscall;
  wrapped.path = local;
  return wrapped;
}

/** Downloads one remote file; `attrs` are its attributes when a listing gave them (spares an FSTAT). */
export async function getFile(c: SftpOps, remote: string, local: string, ctx: TransferContext, attrs?: FileAttributes): Promise<void> {
  const o = ctx.o;
  checkAborted(o);
  let h: SftpHandle;
  try {
    h = await c.open(remote, 'r');
    if (attrs?.size === undefined) attrs = await c.fstat(h);
  } catch (err) {
    throw transferError(err, 'get', remote, local);
  }
  const size = attrs.size;
  const mode = attrs.mode !== undefined ? attrs.mode & 0o777 : 0o666;
  const io = localIo(ctx);
  let fd = -1;
  let temp: string | null = null;
  let start = 0;
  /** Writing through to a device or FIFO: no positions, no truncating, no mode or times set. */
  let special = false;
  try {
    if (o.resume || (await localWritesInPlace(local, io))) {
      // Through a link to its target (made if missing), which may be a FIFO
      // or a device: opened through the thread pool, and truncated (unless
      // resuming) only once known to be a regular file.
      fd = await ASYNC_LOCAL_IO.open(local, fsConstants.O_WRONLY | fsConstants.O_CREAT, mode | 0o200);
      const st = await io.fstat(fd);
      special = !st.isFile();
      if (o.resume) {
        start = st.size;
        if (size !== undefined && start > size) {
          throw new SftpError(FX.FAILURE, `the local file is ${start} bytes, longer than the remote file's ${size}: not resuming`, 'get', remote);
        }
      } else if (!special) await io.ftruncate(fd, 0);
    } else {
      temp = join(dirname(local), partName(basename(local)));
      fd = await io.open(temp, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL, mode | 0o200);
    }
    o.onFile?.(remote, size ?? 0);
    await download(c, h, remote, fd, start, size, ctx, special ? ASYNC_LOCAL_IO : io, special);
    if (o.preserve && !special) {
      if (attrs.mode !== undefined) await io.fchmod(fd, attrs.mode & 0o777);
      if (attrs.mtime !== undefined) await io.futimes(fd, attrs.atime ?? attrs.mtime, attrs.mtime);
    }
    const f = fd;
    fd = -1;
    await io.close(f);
    if (temp !== null) await io.rename(temp, local);
    temp = null;
    ctx.filesDone++;
  } catch (err) {
    if (o.keepPartial && temp !== null) {
      const f = fd;
      fd = -1;
      if (f >= 0) await io.close(f).catch(() => undefined);
      if (await keepLocalPartial(io, temp, local)) temp = null;
    }
    throw transferError(err, 'get', remote, local);
  } finally {
    if (fd >= 0) await io.close(fd).catch(() => undefined);
    if (temp !== null) await io.unlink(temp).catch(() => undefined);
    // A read handle's close need not be waited for; nothing depends on it.
    c.close(h).catch(() => undefined);
  }
}

/**
 * Puts a failed get's temporary file in the destination's place when nothing
 * is there (link(2), which never replaces; a rename after a check where the
 * file system has no links). Whether it was moved.
 */
async function keepLocalPartial(io: LocalIo, temp: string, local: string): Promise<boolean> {
  try {
    await io.link(temp, local);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    const there = await io.lstat(local).then(
      () => true,
      (e: NodeJS.ErrnoException) => e.code !== 'ENOENT',
    );
    if (there) return false;
    return io.rename(temp, local).then(
      () => true,
      () => false,
    );
  }
  await io.unlink(temp).catch(() => undefined);
  return true;
}

/** Puts a failed put's temporary file in the destination's place when nothing is there. Whether it was moved. */
async function keepRemotePartial(c: SftpOps, temp: string, remote: string): Promise<boolean> {
  try {
    if (await c.exists(remote)) return false;
    // Not posix-rename: a file another client made meanwhile must not be replaced by a partial one.
    await c.renameNoReplace(temp, remote);
    return true;
  } catch {
    return false;
  }
}

function download(c: SftpOps, h: SftpHandle, remote: string, fd: number, start: number, size: number | undefined, ctx: TransferContext, io: LocalIo, sequential: boolean): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const writer = new LocalWriter(fd, start, sequential, io);
    let transferred = start;
    const progress = ctx.o.onProgress;
    let settled = false;
    const signal = ctx.o.signal;
    const onAbort = (): void => fail(new AbortError());
    const fail = (err: Error): void => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      reader.cancel();
      // Let writes under way finish before the file is closed and removed.
      writer.idle().then(() => reject(err), () => reject(err));
    };
    const reader = new PipelinedReader(c, h, { start, ...(size !== undefined ? { knownSize: size } : {}), chunkSize: ctx.chunkSize, concurrency: ctx.concurrency, ...(ctx.pacer ? { pacer: ctx.pacer } : {}) }, {
      data: (chunk) => {
        writer.add(chunk);
        if (writer.backlog > LOCAL_BACKLOG) reader.pause();
      },
      end: () => {
        writer.idle().then(() => {
          if (settled) return;
          settled = true;
          signal?.removeEventListener('abort', onAbort);
          resolve();
        }, fail);
      },
      error: fail,
    });
    writer.onError = fail;
    writer.onWritten = (n) => {
      transferred += n;
      ctx.totalTransferred += n;
      if (writer.backlog <= LOCAL_BACKLOG / 2) reader.resume();
      progress?.({ path: remote, transferred, size: Math.max(size ?? 0, transferred), totalTransferred: ctx.totalTransferred, filesDone: ctx.filesDone });
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    reader.start();
  });
}

/**
 * Uploads one local file; `regular`: the caller's listing or stat found a
 * regular file there; `fresh`: `remote` is in a directory this transfer
 * made, so nothing is there to write through (no LSTAT). When the temporary
 * file cannot be removed after a failure (the connection is gone), the error
 * says where it was left.
 */
export async function putFile(c: SftpOps, local: string, remote: string, ctx: TransferContext, regular = false, fresh = false): Promise<void> {
  const o = ctx.o;
  checkAborted(o);
  const io = localIo(ctx);
  // Anything but a regular file may be a FIFO, whose open waits for a writer:
  // through the thread pool. A regular file is opened without waiting, in
  // case a FIFO has taken its name since it was listed.
  let fd = await (regular ? io.open(local, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK) : ASYNC_LOCAL_IO.open(local, fsConstants.O_RDONLY)).catch((err: unknown) => {
    throw localError(err, 'put', remote, local);
  });
  let h: SftpHandle | null = null;
  let temp: string | null = null;
  /** The FSETSTAT and CLOSE, once sent behind the last WRITE. */
  const sent: { closing: Promise<unknown> | null } = { closing: null };
  try {
    let st = await io.fstat(fd);
    if (regular && !st.isFile()) {
      const f = fd;
      fd = -1;
      await io.close(f);
      fd = await ASYNC_LOCAL_IO.open(local, fsConstants.O_RDONLY);
      st = await io.fstat(fd);
    }
    const mode = st.mode & 0o777;
    let start = 0;
    let inPlace: 'rename' | 'truncate' | 'overwrite' = 'rename';
    if (o.resume) {
      h = await c.openWith(remote, FXF.WRITE | FXF.CREAT, { mode });
      start = (await c.fstat(h)).size ?? 0;
      if (start > st.size) throw new SftpError(FX.FAILURE, `the remote file is ${start} bytes, longer than the local file's ${st.size}: not resuming`, 'put', remote);
    } else {
      // The destination's lstat and the temporary file's OPEN go together (one
      // round trip, not two): a destination to write through in place is rare,
      // and then the temporary file is closed and removed again.
      const name = remoteJoin(remoteDirname(remote), partName(remoteBasename(remote)));
      const opening = c.open(name, 'wx', { mode });
      opening.catch(() => undefined);
      const discard = (): Promise<void> =>
        opening.then(
          (th) => c.close(th).then(() => c.unlink(name)).catch(() => undefined),
          () => undefined,
        );
      try {
        if (!fresh) inPlace = await remoteWriteMode(c, remote);
      } catch (err) {
        await discard();
        throw err;
      }
      if (inPlace !== 'rename') {
        await discard();
        // Through the link or into the device; the mode only applies to a target made now.
        h = await c.openWith(remote, FXF.WRITE | FXF.CREAT | (inPlace === 'truncate' ? FXF.TRUNC : 0), { mode });
      } else {
        try {
          h = await opening;
        } catch (err) {
          // Say why a writable destination may still fail: its directory must take a new file.
          if (!(err instanceof SftpError)) throw err;
          const words = err.serverMessage || STATUS_TEXT[err.code] || `status ${err.code}`;
          throw new SftpError(err.code, `${words} (creating the temporary file ${JSON.stringify(name)} next to it)`, 'put', remote, { cause: err });
        }
        temp = name;
      }
    }
    o.onFile?.(local, st.size);
    // FSETSTAT and CLOSE go right behind the last WRITE, not after its answer:
    // the server takes requests in order, and nothing is renamed into place
    // before every WRITE, the FSETSTAT and the CLOSE are answered OK.
    const preserve = o.preserve && inPlace !== 'overwrite';
    const finish = (): void => {
      const done = h!;
      h = null;
      const setting = preserve ? c.fsetstat(done, { mode, atime: Math.floor(st.atimeMs / 1000), mtime: Math.floor(st.mtimeMs / 1000) }) : null;
      sent.closing = Promise.all([setting, c.close(done)]);
      sent.closing.catch(() => undefined);
    };
    await upload(c, h, local, fd, start, st.size, ctx, st.isFile() ? io : ASYNC_LOCAL_IO, !st.isFile(), finish);
    if (sent.closing === null) finish();
    await sent.closing;
    if (temp !== null) await renameOver(c, temp, remote);
    temp = null;
    ctx.filesDone++;
  } catch (err) {
    if (h !== null) await c.close(h).catch(() => undefined);
    else if (sent.closing !== null) await sent.closing.catch(() => undefined);
    const failure = transferError(err, 'put', remote, local);
    if (temp === null) throw failure;
    // Kept only after an abort: then every WRITE sent was answered before the
    // CLOSE, so the file is a prefix of the source; a failed WRITE may have
    // left a hole that a resume would never fill.
    if (o.keepPartial && err instanceof AbortError && (await keepRemotePartial(c, temp, remote))) throw failure;
    const left = await c.unlink(temp).then(
      () => false,
      () => true,
    );
    if (left && failure instanceof SftpError) {
      const words = failure.serverMessage || STATUS_TEXT[failure.code] || `status ${failure.code}`;
      throw new SftpError(failure.code, `${words}; the partial upload is left at ${JSON.stringify(temp)}`, 'put', remote, { cause: err });
    }
    throw failure;
  } finally {
    if (fd >= 0) await io.close(fd).catch(() => undefined);
  }
}

/** Renames `from` to `to`, replacing `to` (posix-rename; plain RENAME refuses an existing target, so it goes first). */
async function renameOver(c: SftpOps, from: string, to: string): Promise<void> {
  if (c.has('posix-rename@openssh.com')) return c.rename(from, to);
  try {
    await c.rename(from, to);
  } catch (err) {
    if (!(err instanceof SftpError) || !(await c.exists(to))) throw err;
    await c.unlink(to);
    await c.rename(from, to);
  }
}

/**
 * Local reads for put take this much at a time (a whole number of WRITEs):
 * each read is a trip through libuv's thread pool and a wake-up of the event
 * loop, and one per 255 KiB WRITE cost more than the read itself.
 */
const READ_BLOCK = 1024 * 1024;

/** A block of the local file being sent: its buffer goes back to the pool once every WRITE cut from it is answered. */
interface Block {
  readonly buffer: Buffer;
  writes: number;
}

/**
 * Reads the local file ahead in blocks of several requests and sends each
 * block as WRITEs as soon as it is read; a block's buffer is reused once its
 * WRITEs are answered. Reads go on to the end of the file, whatever its size
 * was (a FIFO or device, `sequential`, from where it is); `lastSent` is
 * called once the end is found and every WRITE sent,
 * before their answers. One local read at a time: reads from the page cache
 * outpace the network.
 */
function upload(c: SftpOps, h: SftpHandle, local: string, fd: number, start: number, size: number, ctx: TransferContext, io: LocalIo, sequential: boolean, lastSent: () => void): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const chunk = ctx.chunkSize;
    // Paced transfers read a request at a time, so the pacer sees each; else
    // a block is at most a quarter of the requests in flight, so reading the
    // next one does not wait for the whole pipeline to drain.
    const perBlock = ctx.pacer ? 1 : Math.max(1, Math.min(Math.floor(ctx.concurrency / 4), Math.floor(READ_BLOCK / chunk)));
    const blockSize = perBlock * chunk;
    const pool = ctx.buffers;
    const budget = (ctx.sending ??= new SendBudget(ctx.concurrency * chunk));
    const signal = ctx.o.signal;
    let position = start;
    let inflight = 0;
    let reading = false;
    let pacing = false;
    let eof = false;
    let failure: Error | null = null;
    let settled = false;
    let transferred = start;
    const progress = ctx.o.onProgress;
    /** Settles once nothing is under way: no local read (the fd closes after) and, unless failed, no WRITE. */
    const settle = (): void => {
      if (settled || reading) return;
      if (failure || (eof && inflight === 0)) budget.forget(pump);
      if (failure) {
        settled = true;
        signal?.removeEventListener('abort', onAbort);
        reject(failure);
      } else if (eof && inflight === 0) {
        settled = true;
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }
    };
    const fail = (err: Error): void => {
      failure ??= err;
      settle();
    };
    const onAbort = (): void => fail(new AbortError());
    signal?.addEventListener('abort', onAbort, { once: true });
    const written = (block: Block, n: number, werr: Error | undefined): void => {
      inflight--;
      if (--block.writes === 0) pool.push(block.buffer);
      budget.release(n);
      if (werr) return fail(werr);
      transferred += n;
      ctx.totalTransferred += n;
      progress?.({ path: local, transferred, size: Math.max(size, transferred), totalTransferred: ctx.totalTransferred, filesDone: ctx.filesDone });
      pump();
      settle();
    };
    const got = (b: Buffer, at: number, err: Error | null, n: number): void => {
      reading = false;
      if (err) {
        pool.push(b);
        return fail(err);
      }
      if (failure) {
        pool.push(b);
        return settle();
      }
      if (n === 0) {
        eof = true;
        pool.push(b);
        lastSent();
        return settle();
      }
      position += n;
      budget.used += n;
      // Counted before the first is sent: a failed session answers each at once.
      const block: Block = { buffer: b, writes: Math.ceil(n / chunk) };
      inflight += block.writes;
      for (let off = 0; off < n; off += chunk) {
        const len = Math.min(chunk, n - off);
        c.writeFrom(h, at + off, b.subarray(off, off + len), (werr) => written(block, len, werr));
      }
      pump();
    };
    const pump = (): void => {
      if (failure || reading || pacing || eof || inflight + perBlock > ctx.concurrency) return;
      if (!budget.take(blockSize, inflight === 0, pump)) return;
      if (ctx.pacer) {
        const wait = ctx.pacer.delay(blockSize);
        if (wait > 0) {
          pacing = true;
          setTimeout(() => {
            pacing = false;
            pump();
          }, wait);
          return;
        }
      }
      const b = pool.pop() ?? Buffer.allocUnsafe(blockSize);
      reading = true;
      const at = position;
      io.read(fd, b, 0, blockSize, sequential ? null : at, (err, n) => got(b, at, err, n));
    };
    pump();
  });
}
