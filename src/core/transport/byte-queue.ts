// A queue of received chunks that hands out contiguous views, copying only
// when a request spans more than one chunk. A socket delivers reads of up to
// 64 KiB and a 32 KiB packet straddles two of them about half the time, so the
// copying case is on the bulk path and is kept cheap: no zero-filled
// allocation when the caller lends a scratch buffer, and no array rebuilding.

export class ByteQueue {
  private chunks: Uint8Array[] = [];
  /** Index of the first live chunk; dead slots before it are dropped in batches. */
  private first = 0;
  /** Offset into chunks[first]. */
  private head = 0;
  private total = 0;

  get length(): number {
    return this.total;
  }

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.total += chunk.length;
  }

  /**
   * The first `n` bytes as one view, without consuming them. When they span
   * chunks the copy replaces those chunks, so peeking again (the version
   * exchange re-reads its line as bytes trickle in) costs nothing.
   */
  peek(n: number): Uint8Array {
    return this.view(n, null, true);
  }

  /**
   * Removes and returns the first `n` bytes. When they span chunks they are
   * copied into `scratch` (if it is large enough) instead of new memory; the
   * caller must then be done with the result before lending `scratch` again.
   */
  take(n: number, scratch: Uint8Array | null = null): Uint8Array {
    const v = this.view(n, scratch, false);
    this.skip(n);
    return v;
  }

  /** Whether the first `n` bytes (at most `length`) sit in one chunk, so that `take(n)` copies nothing. */
  isContiguous(n: number): boolean {
    const c = this.chunks[this.first];
    return n === 0 || (c !== undefined && c.length - this.head >= n);
  }

  /**
   * Replaces every queued view of `buffer` with a copy of its unread part:
   * the caller lent memory it is about to reuse (a socket read buffer shared
   * by every read). Only what is still unread is copied, at most the start
   * of one packet after the transport has taken the whole ones.
   */
  ownCopies(buffer: ArrayBufferLike): void {
    for (let i = this.first; i < this.chunks.length; i++) {
      const c = this.chunks[i]!;
      if (c.buffer !== buffer) continue;
      const start = i === this.first ? this.head : 0;
      this.chunks[i] = new Uint8Array(c.subarray(start));
      if (i === this.first) this.head = 0;
    }
  }

  skip(n: number): void {
    if (n > this.total) throw new RangeError('skip past the end of the queue');
    let left = n;
    while (left > 0) {
      const c = this.chunks[this.first]!;
      const avail = c.length - this.head;
      if (avail > left) {
        this.head += left;
        break;
      }
      left -= avail;
      this.chunks[this.first] = EMPTY;
      this.first++;
      this.head = 0;
    }
    this.total -= n;
    if (this.first === this.chunks.length) {
      this.chunks.length = 0;
      this.first = 0;
    } else if (this.first >= 64) {
      this.chunks = this.chunks.slice(this.first);
      this.first = 0;
    }
  }

  private view(n: number, scratch: Uint8Array | null, keep: boolean): Uint8Array {
    if (n > this.total) throw new RangeError('peek past the end of the queue');
    if (n === 0) return EMPTY;
    const c = this.chunks[this.first];
    if (c && c.length - this.head >= n) return c.subarray(this.head, this.head + n);
    const out = scratch && scratch.length >= n ? scratch.subarray(0, n) : new Uint8Array(n);
    let filled = 0;
    let i = this.first;
    let off = this.head;
    for (;;) {
      const chunk = this.chunks[i]!;
      const take = Math.min(chunk.length - off, n - filled);
      out.set(off === 0 && take === chunk.length ? chunk : chunk.subarray(off, off + take), filled);
      filled += take;
      if (filled === n) {
        if (keep) {
          // Chunks first..i become `out` plus what is left of chunk i.
          if (off + take < chunk.length) {
            this.chunks[i] = chunk.subarray(off + take);
            i--;
          }
          for (let j = this.first; j < i; j++) this.chunks[j] = EMPTY;
          this.chunks[i] = out;
          this.first = i;
          this.head = 0;
        }
        return out;
      }
      i++;
      off = 0;
    }
  }
}

const EMPTY = new Uint8Array(0);
