// Reading the legacy SCP protocol's stream: single bytes (answers), lines
// (control records, at most scp's 2048-byte buffer) and counted runs of file
// data, with the stream paused while a megabyte is buffered so a fast sender
// cannot grow memory without bound.
import type { Readable } from 'node:stream';
import { pathFromBytes } from '../../sftp-entry.js';

/** The longest control line scp reads. */
export const MAX_LINE = 2048;
/** Buffered from the far end before its stream is paused. */
const HIGH_WATER = 1024 * 1024;

/** Reads bytes, lines and counted runs from a stream, pausing it while enough is buffered. */
export class ByteReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private ended = false;
  private failure: Error | undefined;
  private wake: (() => void) | undefined;

  constructor(private readonly stream: Readable) {
    stream.on('data', (c: Buffer) => {
      this.chunks.push(c);
      this.buffered += c.length;
      if (this.buffered >= HIGH_WATER) stream.pause();
      this.notify();
    });
    stream.on('end', () => {
      this.ended = true;
      this.notify();
    });
    stream.on('close', () => {
      this.ended = true;
      this.notify();
    });
    stream.on('error', (err: Error) => {
      this.failure = err;
      this.notify();
    });
  }

  private notify(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  /** Waits until something is buffered; false at the end of the stream. */
  private async fill(): Promise<boolean> {
    while (this.buffered === 0) {
      if (this.failure) throw this.failure;
      if (this.ended) return false;
      this.stream.resume();
      await new Promise<void>((r) => (this.wake = r));
    }
    return true;
  }

  /** Up to `max` bytes (at least one); null at the end. */
  async some(max: number): Promise<Buffer | null> {
    if (!(await this.fill())) return null;
    const first = this.chunks[0]!;
    let out: Buffer;
    if (first.length <= max) {
      out = first;
      this.chunks.shift();
    } else {
      out = first.subarray(0, max);
      this.chunks[0] = first.subarray(max);
    }
    this.buffered -= out.length;
    if (this.buffered < HIGH_WATER) this.stream.resume();
    return out;
  }

  /** One byte, or null at the end. */
  async byte(): Promise<number | null> {
    const b = await this.some(1);
    return b ? b[0]! : null;
  }

  /**
   * A line with its '\n' (at most `max` bytes, as scp's buffer), or what came
   * before the end; null when nothing came. Bytes that are not UTF-8 (a
   * name's) are kept, escaped as pathFromBytes escapes them.
   */
  async line(max = MAX_LINE): Promise<string | null> {
    const bytes: Buffer[] = [];
    let n = 0;
    for (;;) {
      const b = await this.some(1);
      if (!b) break;
      bytes.push(b);
      n++;
      if (b[0] === 0x0a || n >= max - 1) break;
    }
    return n === 0 ? null : pathFromBytes(Buffer.concat(bytes));
  }
}
