// One file each way, with many requests in flight. The destination is
// written under a temporary name in its own directory and renamed into place
// only when every byte is there (unless resuming, which appends to it in
// place); a failure or an abort removes the temporary file, so a
// destination is never left truncated or padded. A destination a rename
// would damage (a link, a device, a FIFO, see destination.ts) is written
// through in place instead, as OpenSSH's sftp does.
import { close as closeFd, fstat as fstatFd, ftruncate, futimes, fchmod, open as openFd, read as readFd, rename as renameLocal, unlink as unlinkLocal, constants as fsConstants } from 'node:fs';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { fsPath } from '../../io/node/byte-paths.js';
import { AbortError } from '../../errors.js';
import type { FileAttributes } from '../../sftp/attrs.js';
import { FX, FXF, STATUS_TEXT } from '../../sftp/constants.js';
import { SftpError } from '../../sftp/errors.js';
import type { SftpHandle, TransferOptions } from './api.js';
import type { SftpOps } from './ops.js';
import { localWritesInPlace, remoteWriteMode } from './destination.js';
import { LocalWriter } from './local-writer.js';
import type { Pacer } from './pacer.js';
import { PipelinedReader } from './reader.js';

const openAsync = promisify(openFd);
const closeAsync = promisify(closeFd);
const fstatAsync = promisify(fstatFd);
const futimesAsync = promisify(futimes);
const fchmodAsync = promisify(fchmod);
const ftruncateAsync = promisify(ftruncate);
const renameAsync = promisify(renameLocal);
const unlinkAsync = promisify(unlinkLocal);

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
  /** Read buffers of `chunkSize` bytes for put, shared by the files of a transfer and reused. */
  readonly buffers: Buffer[];
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
  let fd = -1;
  let temp: string | null = null;
  let start = 0;
  /** Writing through to a device or FIFO: no positions, no truncating, no mode or times set. */
  let special = false;
  try {
    if (o.resume) {
      fd = await openAsync(fsPath(local), fsConstants.O_WRONLY | fsConstants.O_CREAT, mode | 0o200);
      start = (await fstatAsync(fd)).size;
      if (size !== undefined && start > size) {
        throw new SftpError(FX.FAILURE, `the local file is ${start} bytes, longer than the remote file's ${size}: not resuming`, 'get', remote);
      }
    } else if (await localWritesInPlace(local)) {
      // Through a link to its target (made if missing); truncated only once known to be a regular file.
      fd = await openAsync(fsPath(local), fsConstants.O_WRONLY | fsConstants.O_CREAT, mode | 0o200);
      const st = await fstatAsync(fd);
      if (st.isFile()) await ftruncateAsync(fd, 0);
      else special = true;
    } else {
      temp = join(dirname(local), partName(basename(local)));
      fd = await openAsync(fsPath(temp), fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL, mode | 0o200);
    }
    o.onFile?.(remote, size ?? 0);
    await download(c, h, remote, fd, start, size, ctx, special);
    if (o.preserve && !special) {
      if (attrs.mode !== undefined) await fchmodAsync(fd, attrs.mode & 0o777);
      if (attrs.mtime !== undefined) await futimesAsync(fd, attrs.atime ?? attrs.mtime, attrs.mtime);
    }
    const f = fd;
    fd = -1;
    await closeAsync(f);
    if (temp !== null) await renameAsync(fsPath(temp), fsPath(local));
    temp = null;
    ctx.filesDone++;
  } catch (err) {
    throw transferError(err, 'get', remote, local);
  } finally {
    if (fd >= 0) await closeAsync(fd).catch(() => undefined);
    if (temp !== null) await unlinkAsync(fsPath(temp)).catch(() => undefined);
    // A read handle's close need not be waited for; nothing depends on it.
    c.close(h).catch(() => undefined);
  }
}

function download(c: SftpOps, h: SftpHandle, remote: string, fd: number, start: number, size: number | undefined, ctx: TransferContext, sequential: boolean): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const writer = new LocalWriter(fd, start, sequential);
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
 * Uploads one local file. When the temporary file cannot be removed after a
 * failure (the connection is gone), the error says where it was left.
 */
export async function putFile(c: SftpOps, local: string, remote: string, ctx: TransferContext): Promise<void> {
  const o = ctx.o;
  checkAborted(o);
  const fd = await openAsync(fsPath(local), fsConstants.O_RDONLY).catch((err: unknown) => {
    throw localError(err, 'put', remote, local);
  });
  let h: SftpHandle | null = null;
  let temp: string | null = null;
  try {
    const st = await fstatAsync(fd);
    const mode = st.mode & 0o777;
    let start = 0;
    let inPlace: 'rename' | 'truncate' | 'overwrite' = 'rename';
    if (o.resume) {
      h = await c.openWith(remote, FXF.WRITE | FXF.CREAT, { mode });
      start = (await c.fstat(h)).size ?? 0;
      if (start > st.size) throw new SftpError(FX.FAILURE, `the remote file is ${start} bytes, longer than the local file's ${st.size}: not resuming`, 'put', remote);
    } else if ((inPlace = await remoteWriteMode(c, remote)) !== 'rename') {
      // Through the link or into the device; the mode only applies to a target made now.
      h = await c.openWith(remote, FXF.WRITE | FXF.CREAT | (inPlace === 'truncate' ? FXF.TRUNC : 0), { mode });
    } else {
      const name = remoteJoin(remoteDirname(remote), partName(remoteBasename(remote)));
      try {
        h = await c.open(name, 'wx', { mode });
      } catch (err) {
        // Say why a writable destination may still fail: its directory must take a new file.
        if (!(err instanceof SftpError)) throw err;
        const words = err.serverMessage || STATUS_TEXT[err.code] || `status ${err.code}`;
        throw new SftpError(err.code, `${words} (creating the temporary file ${JSON.stringify(name)} next to it)`, 'put', remote, { cause: err });
      }
      temp = name;
    }
    o.onFile?.(local, st.size);
    await upload(c, h, local, fd, start, st.size, ctx);
    if (o.preserve && inPlace !== 'overwrite') await c.fsetstat(h, { mode, atime: Math.floor(st.atimeMs / 1000), mtime: Math.floor(st.mtimeMs / 1000) });
    const done = h;
    h = null;
    await c.close(done);
    if (temp !== null) await renameOver(c, temp, remote);
    temp = null;
    ctx.filesDone++;
  } catch (err) {
    if (h !== null) await c.close(h).catch(() => undefined);
    const failure = transferError(err, 'put', remote, local);
    if (temp === null) throw failure;
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
    await closeAsync(fd).catch(() => undefined);
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
 * Reads the local file ahead into a pool of `concurrency` buffers and sends
 * each as a WRITE as soon as it is read; a buffer is reused once its WRITE
 * is answered. Reads go on to the end of the file, whatever its size was.
 * One local read at a time: reads from the page cache outpace the network.
 */
function upload(c: SftpOps, h: SftpHandle, local: string, fd: number, start: number, size: number, ctx: TransferContext): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const chunk = ctx.chunkSize;
    const pool = ctx.buffers;
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
    const pump = (): void => {
      if (failure || reading || pacing || eof || inflight >= ctx.concurrency) return;
      if (ctx.pacer) {
        const wait = ctx.pacer.delay(chunk);
        if (wait > 0) {
          pacing = true;
          setTimeout(() => {
            pacing = false;
            pump();
          }, wait);
          return;
        }
      }
      const b = pool.pop() ?? Buffer.allocUnsafe(chunk);
      reading = true;
      const at = position;
      readFd(fd, b, 0, chunk, at, (err, n) => {
        reading = false;
        if (err) return fail(err);
        if (failure) return settle();
        if (n === 0) {
          eof = true;
          pool.push(b);
          return settle();
        }
        position += n;
        inflight++;
        c.writeFrom(h, at, b.subarray(0, n), (werr) => {
          inflight--;
          pool.push(b);
          if (werr) return fail(werr);
          transferred += n;
          ctx.totalTransferred += n;
          progress?.({ path: local, transferred, size: Math.max(size, transferred), totalTransferred: ctx.totalTransferred, filesDone: ctx.filesDone });
          pump();
          settle();
        });
        pump();
      });
    };
    pump();
  });
}
