// The byte streams of a session: standard input read one chunk at a time
// (so the channel's window holds the reading back), and the channel's output
// copied to ours with backpressure and EPIPE handled.
import type { Readable, Writable } from 'node:stream';

/**
 * Standard input one chunk at a time: the stream is paused while a chunk is
 * being handled (so a full channel window stops the reading), and stop()
 * detaches, pauses and unrefs it, which lets the process exit without
 * destroying process.stdin. A read error counts as the end.
 */
export class ChunkReader {
  private readonly chunks: Uint8Array[] = [];
  private done = false;
  private wake: (() => void) | null = null;
  private readonly onData = (d: Buffer | string): void => {
    this.chunks.push(typeof d === 'string' ? Buffer.from(d) : d);
    this.stream.pause();
    this.notify();
  };
  private readonly onEnd = (): void => {
    this.done = true;
    this.notify();
  };

  constructor(private readonly stream: Readable) {
    stream.on('data', this.onData);
    stream.on('end', this.onEnd);
    stream.on('close', this.onEnd);
    stream.on('error', this.onEnd);
    stream.pause();
  }

  private notify(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  /** The next chunk, or null at the end (or after stop()). */
  async next(): Promise<Uint8Array | null> {
    while (this.chunks.length === 0 && !this.done) {
      const waiting = new Promise<void>((r) => (this.wake = r));
      this.stream.resume();
      await waiting;
    }
    return this.chunks.shift() ?? null;
  }

  stop(): void {
    if (this.done) return;
    this.done = true;
    this.stream.off('data', this.onData);
    this.stream.off('end', this.onEnd);
    this.stream.off('close', this.onEnd);
    this.stream.off('error', this.onEnd);
    this.stream.pause();
    // A paused pipe or terminal handle still holds the process open (a
    // parent may never close our stdin); unref lets it end, and the stream
    // stays usable.
    (this.stream as Readable & { unref?: () => void }).unref?.();
    this.notify();
  }
}

/** Resolves when `w` can take more, or can never again (closed, failed). */
export function drained(w: Writable): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      w.off('drain', done);
      w.off('close', done);
      w.off('error', done);
      resolve();
    };
    w.on('drain', done);
    w.on('close', done);
    w.on('error', done);
  });
}

/**
 * Copies `from` to `to` until `from` ends, pausing it while `to` is full, so
 * a slow terminal or pipe slows the server (the channel's window stays
 * shut) instead of filling memory. `to` is not ended: it is the process's.
 * When `to` fails (EPIPE), `onBroken` is called once and what `from` still
 * brings is read and dropped.
 */
export function relay(from: Readable, to: Writable, onBroken: () => void = () => undefined): Promise<void> {
  return new Promise((resolve) => {
    let done = false;
    let broken = false;
    const onError = (): void => {
      if (broken) return;
      broken = true;
      from.resume();
      onBroken();
    };
    to.on('error', onError);
    const finish = (): void => {
      if (done) return;
      done = true;
      from.off('data', onData);
      to.off('error', onError);
      resolve();
    };
    const onData = (chunk: Buffer): void => {
      if (broken || to.destroyed || to.writableEnded) return;
      if (!to.write(chunk)) {
        from.pause();
        void drained(to).then(() => from.resume());
      }
    };
    from.on('data', onData);
    from.once('end', finish);
    from.once('close', finish);
    from.once('error', finish);
  });
}
