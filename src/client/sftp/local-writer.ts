// A local file written in order from data arriving in pieces: the pieces
// that arrive while a write is under way are gathered and written with one
// writev at the position where the last ended. With synchronous calls
// (local-io.ts), the pieces of one turn of the event loop are gathered the
// same way: the write waits for `setImmediate`, or for GATHER_LIMIT bytes.
// Memory stays bounded because the reader pauses while `backlog` is over its
// mark (the owner's check).
import { ASYNC_LOCAL_IO, type LocalIo } from './local-io.js';

/** Linux's IOV_MAX: the most buffers one writev takes. */
const MAX_IOV = 1024;
/** Synchronous writes go at once when this much waits, without waiting for the turn's end. */
const GATHER_LIMIT = 1024 * 1024;

export class LocalWriter {
  private pending: Uint8Array[] = [];
  private writing = false;
  private failure: Error | null = null;
  private idleWaiters: ((err: Error | null) => void)[] = [];
  /** Bytes handed to `add` and not yet on disk. */
  backlog = 0;
  /** Called after each write lands (to resume a paused reader, count progress). */
  onWritten: (bytes: number) => void = () => undefined;
  /** Called once when a write fails (a paused reader would otherwise wait for ever). */
  onError: (err: Error) => void = () => undefined;

  constructor(
    private readonly fd: number,
    /** Where the next byte goes. */
    private position: number,
    /** Writes at the file's own offset, for a FIFO or device that takes no position. */
    private readonly sequential = false,
    private readonly io: LocalIo = ASYNC_LOCAL_IO,
  ) {}

  /** A flush waits for the end of the turn (synchronous writes only). */
  private scheduled = false;
  private readonly flushLater = (): void => {
    this.scheduled = false;
    if (!this.writing) this.flush();
  };

  get error(): Error | null {
    return this.failure;
  }

  add(chunk: Uint8Array): void {
    if (this.failure) return;
    this.pending.push(chunk);
    this.backlog += chunk.length;
    if (this.writing) return;
    if (!this.io.synchronous || this.backlog >= GATHER_LIMIT) return this.flush();
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flushLater);
    }
  }

  /** Resolves once everything added is written; rejects with the first write error. */
  idle(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (!this.writing && !this.scheduled) return Promise.resolve();
    return new Promise((resolve, reject) => this.idleWaiters.push((err) => (err ? reject(err) : resolve())));
  }

  private flush(): void {
    if (this.pending.length === 0 || this.failure) {
      this.writing = false;
      for (const w of this.idleWaiters.splice(0)) w(this.failure);
      return;
    }
    this.writing = true;
    const bufs = this.pending.length <= MAX_IOV ? this.pending : this.pending.slice(0, MAX_IOV);
    this.pending = this.pending.length <= MAX_IOV ? [] : this.pending.slice(MAX_IOV);
    let bytes = 0;
    for (const b of bufs) bytes += b.length;
    this.writeAll(bufs, bytes);
  }

  private writeAll(bufs: Uint8Array[], bytes: number): void {
    this.io.writev(this.fd, bufs, this.sequential ? null : this.position, (err, n) => {
      if (err) {
        this.failure = err;
        this.flush();
        this.onError(err);
        return;
      }
      this.position += n;
      this.backlog -= n;
      this.onWritten(n);
      if (n < bytes) {
        // A short write: the rest again, from where it stopped.
        const rest: Uint8Array[] = [];
        let skip = n;
        for (const b of bufs) {
          if (skip >= b.length) skip -= b.length;
          else {
            rest.push(skip > 0 ? b.subarray(skip) : b);
            skip = 0;
          }
        }
        this.writeAll(rest, bytes - n);
        return;
      }
      this.flush();
    });
  }
}
