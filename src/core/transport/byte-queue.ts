// A queue of received chunks that hands out contiguous views, copying only
// when a request spans more than one chunk.

export class ByteQueue {
  private chunks: Uint8Array[] = [];
  private head = 0; // offset into chunks[0]
  private total = 0;

  get length(): number {
    return this.total;
  }

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.total += chunk.length;
  }

  /** The first `n` bytes as one view, without consuming them. */
  peek(n: number): Uint8Array {
    if (n > this.total) throw new RangeError('peek past the end of the queue');
    const first = this.chunks[0];
    if (first && first.length - this.head >= n) return first.subarray(this.head, this.head + n);
    // Coalesce: merge the chunks covering n bytes into one, so the next peek is free.
    const merged = new Uint8Array(n);
    let filled = 0;
    let i = 0;
    let off = this.head;
    while (filled < n) {
      const c = this.chunks[i]!;
      const take = Math.min(c.length - off, n - filled);
      merged.set(c.subarray(off, off + take), filled);
      filled += take;
      if (off + take === c.length) {
        i++;
        off = 0;
      } else {
        off += take;
      }
    }
    const tail = this.chunks[i];
    const rest = tail && off > 0 ? [tail.subarray(off)] : [];
    this.chunks = [merged, ...rest, ...this.chunks.slice(off > 0 ? i + 1 : i)];
    this.head = 0;
    return merged;
  }

  /** Removes and returns the first `n` bytes. */
  take(n: number): Uint8Array {
    const v = this.peek(n);
    this.skip(n);
    return v;
  }

  skip(n: number): void {
    let left = n;
    while (left > 0) {
      const c = this.chunks[0]!;
      const avail = c.length - this.head;
      if (avail > left) {
        this.head += left;
        break;
      }
      left -= avail;
      this.chunks.shift();
      this.head = 0;
    }
    this.total -= n;
  }

  /** Everything queued, as one view (used for the version line scan). */
  all(): Uint8Array {
    return this.total === 0 ? new Uint8Array(0) : this.peek(this.total);
  }
}
