// The local file calls of get and put. Each asynchronous node:fs call is a
// trip through libuv's thread pool: a hand-off, a wake-up of a pool thread
// and one of the event loop, which cost more than the call itself when the
// file is in the page cache (on a 2-core VM, 30–100 µs of the main thread
// per call; a put of 1,000 small files made five per file). So these calls
// are made synchronously while they are quick, the way OpenSSH's sftp makes
// them, and a transfer goes over to the thread pool for the rest of its
// files once SLOW_CALLS calls took longer than SLOW_CALL_MS each (a network
// file system, a disk that stalls): the event loop is then held up by a few
// slow calls at most. One slow call is not enough: on a busy machine a quick
// call is now and then preempted for that long. A disk's seek (a few ms) is
// waited for, as sftp waits for it.
// Only calls that cannot wait for another process go here: a FIFO's or a
// device's open and data are the callers' to send through `ASYNC_LOCAL_IO`.
// Paths may carry escaped non-UTF-8 bytes (io/node/byte-paths.ts): every
// path goes to node:fs through fsPath.
import { close, closeSync, fchmod, fchmodSync, fstat, fstatSync, ftruncate, ftruncateSync, futimes, futimesSync, link, linkSync, lstat, lstatSync, open, openSync, read, readSync, rename, renameSync, unlink, unlinkSync, writev, writevSync, type Stats } from 'node:fs';
import { promisify } from 'node:util';
import { fsPath } from '../../io/node/byte-paths.js';

/** A synchronous call taking longer than this is slow. */
export const SLOW_CALL_MS = 20;
/** After this many slow calls, a transfer's later calls go to the thread pool. */
export const SLOW_CALLS = 3;

const openAsync = promisify(open);
const closeAsync = promisify(close);
const fstatAsync = promisify(fstat);
const lstatAsync = promisify(lstat);
const ftruncateAsync = promisify(ftruncate);
const fchmodAsync = promisify(fchmod);
const futimesAsync = promisify(futimes);
const renameAsync = promisify(rename);
const linkAsync = promisify(link);
const unlinkAsync = promisify(unlink);

export type IoDone = (err: NodeJS.ErrnoException | null, bytes: number) => void;

export class LocalIo {
  /** `sync`: whether calls start out synchronous (they stay so while quick); `now` in ms, for the timing. */
  constructor(
    private sync = true,
    private readonly now: () => number = () => performance.now(),
  ) {}
  private slowCalls = 0;

  /** Whether calls are made synchronously now. */
  get synchronous(): boolean {
    return this.sync;
  }

  /** Runs a synchronous call, timed; a slow one ends synchronous calls. */
  private timed<T>(call: () => T): T {
    const t = this.now();
    try {
      return call();
    } finally {
      if (this.now() - t > SLOW_CALL_MS && ++this.slowCalls >= SLOW_CALLS) this.sync = false;
    }
  }

  private settle<T>(call: () => T, async: () => Promise<T>): Promise<T> {
    if (!this.sync) return async();
    try {
      return Promise.resolve(this.timed(call));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  open(path: string, flags: number, mode?: number): Promise<number> {
    return this.settle(
      () => openSync(fsPath(path), flags, mode),
      () => openAsync(fsPath(path), flags, mode),
    );
  }

  close(fd: number): Promise<void> {
    return this.settle(
      () => closeSync(fd),
      () => closeAsync(fd),
    );
  }

  fstat(fd: number): Promise<Stats> {
    return this.settle(
      () => fstatSync(fd),
      () => fstatAsync(fd),
    );
  }

  lstat(path: string): Promise<Stats> {
    return this.settle(
      () => lstatSync(fsPath(path)),
      () => lstatAsync(fsPath(path)),
    );
  }

  ftruncate(fd: number, length: number): Promise<void> {
    return this.settle(
      () => ftruncateSync(fd, length),
      () => ftruncateAsync(fd, length),
    );
  }

  fchmod(fd: number, mode: number): Promise<void> {
    return this.settle(
      () => fchmodSync(fd, mode),
      () => fchmodAsync(fd, mode),
    );
  }

  futimes(fd: number, atime: number, mtime: number): Promise<void> {
    return this.settle(
      () => futimesSync(fd, atime, mtime),
      () => futimesAsync(fd, atime, mtime),
    );
  }

  rename(from: string, to: string): Promise<void> {
    return this.settle(
      () => renameSync(fsPath(from), fsPath(to)),
      () => renameAsync(fsPath(from), fsPath(to)),
    );
  }

  /** link(2): a second name for `from`, failing with EEXIST when `to` exists (a rename that never replaces). */
  link(from: string, to: string): Promise<void> {
    return this.settle(
      () => linkSync(fsPath(from), fsPath(to)),
      () => linkAsync(fsPath(from), fsPath(to)),
    );
  }

  unlink(path: string): Promise<void> {
    return this.settle(
      () => unlinkSync(fsPath(path)),
      () => unlinkAsync(fsPath(path)),
    );
  }

  /** read(2) at `position` (null: the file's own offset); `done` may be called before this returns. */
  read(fd: number, buffer: Uint8Array, offset: number, length: number, position: number | null, done: IoDone): void {
    if (!this.sync) {
      read(fd, buffer, offset, length, position, (err, n) => done(err, n));
      return;
    }
    let n: number;
    try {
      n = this.timed(() => readSync(fd, buffer, offset, length, position));
    } catch (err) {
      done(err as NodeJS.ErrnoException, 0);
      return;
    }
    done(null, n);
  }

  /** writev(2) at `position` (null: the file's own offset); `done` may be called before this returns. */
  writev(fd: number, buffers: Uint8Array[], position: number | null, done: IoDone): void {
    if (!this.sync) {
      writev(fd, buffers, position, (err, n) => done(err, n));
      return;
    }
    let n: number;
    try {
      n = this.timed(() => writevSync(fd, buffers, position ?? undefined));
    } catch (err) {
      done(err as NodeJS.ErrnoException, 0);
      return;
    }
    done(null, n);
  }
}

/** Calls through the thread pool always: for files that may be FIFOs or devices, whose calls can wait for ever. */
export const ASYNC_LOCAL_IO = new LocalIo(false);
