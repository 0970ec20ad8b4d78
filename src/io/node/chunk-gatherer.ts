// Small pieces of channel data gathered into one buffer before they reach a
// stream. A peer may fill a window with 1-byte packets; kept one by one, each
// byte would cost a buffer object and a place in the stream's list (a hundred
// bytes or more of memory per byte of data). Gathered, what a channel holds
// costs close to one byte of memory per byte received.

/** Pieces at least this large go to the stream as they are. */
const SMALL_PIECE = 4 * 1024;
/** A gathered buffer is handed on once it reaches this size. */
const GATHER_LIMIT = 64 * 1024;

/** Channel data as a Buffer without copying it (see Channel). */
export function asBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

export class ChunkGatherer {
  private parts: Uint8Array[] = [];
  private bytes = 0;
  private scheduled = false;
  private readonly flushLater = (): void => {
    this.scheduled = false;
    this.flush();
  };

  constructor(private readonly deliver: (chunk: Buffer) => void) {}

  /**
   * Takes one piece of data. Small pieces wait, at most until the current
   * batch of received packets has been handled (a microtask), so gathering
   * adds no latency: a keystroke still arrives at once.
   */
  add(data: Uint8Array): void {
    if (data.length >= SMALL_PIECE) {
      this.flush();
      this.deliver(asBuffer(data));
      return;
    }
    this.parts.push(data);
    this.bytes += data.length;
    if (this.bytes >= GATHER_LIMIT) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(this.flushLater);
    }
  }

  /** Hands on what is gathered (call before EOF or close, to keep order). */
  flush(): void {
    if (this.bytes === 0) return;
    const parts = this.parts;
    let out: Buffer;
    if (parts.length === 1) out = asBuffer(parts[0]!);
    else {
      // A buffer of its own, exactly this size: a slice of a shared pool would
      // keep the whole pool alive for as long as the stream holds this piece.
      out = Buffer.allocUnsafeSlow(this.bytes);
      let at = 0;
      for (const p of parts) {
        out.set(p, at);
        at += p.length;
      }
    }
    this.parts = [];
    this.bytes = 0;
    this.deliver(out);
  }
}
