// Reading a remote file with many READ requests in flight, handing the data
// on in order. A short reply is not the end of the file: the rest of that
// request is asked again from where the reply ended. The end of the file is
// an EOF status (or an empty DATA) at an offset, and nothing else; with the
// size known from a stat, one request past it confirms the end while the
// last ones are in flight, and data past it (a file still growing) keeps
// the reading going. Replies may come in any order: the ones ahead of the
// next offset wait in a map until the gap before them is filled.
import { SftpError } from '../../sftp/errors.js';
import { FX } from '../../sftp/constants.js';
import type { SftpHandle } from './api.js';
import type { Pacer } from './pacer.js';
import type { ReadDone } from './ops.js';

/** What the reader needs of the client. */
export interface ReadTarget {
  readInto(handle: SftpHandle, offset: number, length: number, done: ReadDone): void;
}

/** What a READ answered with an EOF status gives (an empty DATA gives an array of its own). */
export const NO_DATA_EOF: readonly Uint8Array[] = [];

export interface ReaderOptions {
  start: number;
  /** Exclusive; read to the end of the file when absent. */
  end?: number;
  /** The size a stat gave, if any (a hint, checked by the reads themselves). */
  knownSize?: number;
  chunkSize: number;
  concurrency: number;
  pacer?: Pacer;
}

export interface ReaderSink {
  /** The next bytes, at `offset` (always where the previous ones ended). */
  data(chunk: Uint8Array, offset: number): void;
  /** Everything is delivered; the file (or the range asked) ends at `at`. */
  end(at: number): void;
  error(err: Error): void;
}

export class PipelinedReader {
  private nextRequest: number;
  private nextDeliver: number;
  private inflight = 0;
  /** Data that arrived ahead of `nextDeliver` (a reply's pieces and their total), by offset. */
  private readonly ahead = new Map<number, { pieces: readonly Uint8Array[]; length: number }>();
  /** The rest of short reads, asked again before anything new. */
  private readonly gaps: [offset: number, length: number][] = [];
  private eofAt: number | undefined;
  private knownSize: number | undefined;
  private paused = false;
  private finished = false;
  private waitingForPace = false;

  constructor(
    private readonly target: ReadTarget,
    private readonly handle: SftpHandle,
    private readonly o: ReaderOptions,
    private readonly sink: ReaderSink,
  ) {
    this.nextRequest = o.start;
    this.nextDeliver = o.start;
    this.knownSize = o.knownSize;
    if (!(o.chunkSize > 0) || !(o.concurrency > 0)) throw new RangeError('reader: chunkSize and concurrency must be positive');
  }

  /** Where the data handed on so far ends. */
  get position(): number {
    return this.nextDeliver;
  }

  get done(): boolean {
    return this.finished;
  }

  start(): void {
    if (this.o.end !== undefined && this.o.end <= this.o.start) {
      this.finish(this.o.start);
      return;
    }
    this.pump();
  }

  /** Asks for no more data until `resume` (replies already asked for still come). */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.pump();
  }

  /** Stops: replies still in flight are dropped. */
  cancel(): void {
    this.finished = true;
  }

  private pump(): void {
    while (!this.finished && !this.paused && !this.waitingForPace && this.inflight < this.o.concurrency) {
      const next = this.nextRange();
      if (next === null) return;
      const [offset, length] = next;
      if (this.o.pacer) {
        const wait = this.o.pacer.delay(length);
        if (wait > 0) {
          this.gaps.unshift(next);
          this.waitingForPace = true;
          setTimeout(() => {
            this.waitingForPace = false;
            this.pump();
          }, wait);
          return;
        }
      }
      this.inflight++;
      this.target.readInto(this.handle, offset, length, (pieces, got, err) => this.reply(offset, length, pieces, got, err));
    }
  }

  /** The range the next request asks for, or null when nothing needs asking now. */
  private nextRange(): [number, number] | null {
    const gap = this.gaps.shift();
    if (gap) return gap;
    let limit = this.o.end ?? Infinity;
    if (this.eofAt !== undefined) limit = Math.min(limit, this.eofAt);
    // With a known size, one request reaching past it (it finds the end) and no further.
    if (this.knownSize !== undefined) limit = Math.min(limit, Math.max(this.knownSize + 1, this.o.start + 1));
    if (this.nextRequest >= limit) return null;
    let length = Math.min(this.o.chunkSize, (this.o.end ?? Infinity) - this.nextRequest);
    // A request ends at the known size, so the one past it (the end's
    // confirmation) goes out with it: a small file takes one round trip, not two.
    if (this.knownSize !== undefined && this.nextRequest < this.knownSize) length = Math.min(length, this.knownSize - this.nextRequest);
    const offset = this.nextRequest;
    this.nextRequest += length;
    return [offset, length];
  }

  private reply(offset: number, length: number, pieces: readonly Uint8Array[] | null, got: number, err?: Error): void {
    this.inflight--;
    if (this.finished) return;
    if (pieces === null) {
      this.fail(err ?? new Error('read failed'));
      return;
    }
    if (got === 0) {
      // The end: an EOF status (no pieces) anywhere, an empty DATA only where no size says there is more.
      if (pieces !== NO_DATA_EOF && this.knownSize !== undefined && offset < this.knownSize) {
        this.fail(new SftpError(FX.BAD_MESSAGE, `the server sent no data at ${offset} of a file of ${this.knownSize} bytes`, 'read', this.handle.path));
        return;
      }
      if (this.eofAt === undefined || offset < this.eofAt) this.eofAt = offset;
    } else {
      if ((this.eofAt !== undefined && offset + got > this.eofAt) || offset < this.nextDeliver) {
        this.fail(new SftpError(FX.FAILURE, `the file changed while it was read (data at ${offset} past its end at ${this.eofAt ?? this.nextDeliver})`, 'read', this.handle.path));
        return;
      }
      if (got < length) this.gaps.push([offset + got, length - got]);
      if (this.knownSize !== undefined && offset + got > this.knownSize) this.knownSize = undefined;
      this.ahead.set(offset, { pieces, length: got });
    }
    this.deliver();
    if (this.finished) return;
    if (this.eofAt !== undefined && this.nextDeliver >= this.eofAt) {
      this.finish(this.eofAt);
      return;
    }
    if (this.o.end !== undefined && this.nextDeliver >= this.o.end) {
      this.finish(this.o.end);
      return;
    }
    this.pump();
  }

  private deliver(): void {
    for (let next = this.ahead.get(this.nextDeliver); next !== undefined && !this.finished; next = this.ahead.get(this.nextDeliver)) {
      this.ahead.delete(this.nextDeliver);
      this.nextDeliver += next.length;
      let at = this.nextDeliver - next.length;
      for (const piece of next.pieces) {
        if (this.finished) return;
        this.sink.data(piece, at);
        at += piece.length;
      }
    }
  }

  private finish(at: number): void {
    if (this.finished) return;
    if (this.ahead.size > 0) {
      this.fail(new SftpError(FX.FAILURE, `the file changed while it was read (data past its end at ${at})`, 'read', this.handle.path));
      return;
    }
    this.finished = true;
    this.sink.end(at);
  }

  private fail(err: Error): void {
    if (this.finished) return;
    this.finished = true;
    this.ahead.clear();
    this.sink.error(err);
  }
}
