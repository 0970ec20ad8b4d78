// Input for a pseudo-terminal, written to its master side with backpressure.
//
// node-pty's own write() goes through a libuv stream. When the terminal's
// input queue is full (the program does not read), the kernel answers EAGAIN
// while still reporting the master writable, so that stream retries in a busy
// loop that blocks the whole event loop (node-pty issues #797 and #831): one
// client typing into a program that ignores its input would freeze the server.
// Here each write is one non-blocking write(2) on the master (node-pty opens it
// O_NONBLOCK); EAGAIN is retried on a timer, and the caller is told to stop
// feeding input (the SSH channel pauses, so its window closes) until the
// queue drains.
import { write as fsWrite } from 'node:fs';

/** How long to wait before trying again when the terminal takes nothing. */
const RETRY_MS = 10;
/** Queued input above which the writer asks its caller to pause. */
const DEFAULT_LIMIT = 64 * 1024;

export class PtyInput {
  private readonly queue: Buffer[] = [];
  private queued = 0;
  private writing = false;
  private retry: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    private readonly fd: number,
    /** Called when the queue falls back under the limit after `write` returned false. */
    private readonly onDrain: () => void,
    private readonly limit = DEFAULT_LIMIT,
  ) {}

  /** Queues `data` for the terminal; false when the caller should pause until `onDrain`. */
  write(data: Buffer): boolean {
    if (this.closed) return true;
    if (data.length > 0) {
      this.queue.push(data);
      this.queued += data.length;
      this.pump();
    }
    return this.queued < this.limit;
  }

  /** Bytes waiting for the terminal. */
  get pending(): number {
    return this.queued;
  }

  /** The terminal is gone: drop what is queued and stop retrying. */
  close(): void {
    this.closed = true;
    this.queue.length = 0;
    this.queued = 0;
    if (this.retry) clearTimeout(this.retry);
    this.retry = null;
  }

  private pump(): void {
    if (this.writing || this.retry || this.closed) return;
    const head = this.queue[0];
    if (!head) return;
    this.writing = true;
    fsWrite(this.fd, head, 0, head.length, null, (err, written) => {
      this.writing = false;
      if (this.closed) return;
      if (err) {
        if (err.code === 'EAGAIN' || err.code === 'EWOULDBLOCK' || err.code === 'EINTR') {
          this.retry = setTimeout(() => {
            this.retry = null;
            this.pump();
          }, RETRY_MS);
          return;
        }
        // EIO, EBADF: the terminal has closed; nothing more can be written.
        this.close();
        return;
      }
      const wasFull = this.queued >= this.limit;
      if (written < head.length) this.queue[0] = head.subarray(written);
      else this.queue.shift();
      this.queued -= written;
      if (wasFull && this.queued < this.limit) this.onDrain();
      this.pump();
    });
  }
}
