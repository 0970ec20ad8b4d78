// SFTP packets on a channel: `uint32 length` then `length` bytes. The framer
// gathers channel data into whole packets without trusting a length beyond
// its limit, copying only when a packet spans chunks.
import { ProtocolError } from '../errors.js';

/** Prefixes a payload with its length word. */
export function frame(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + payload.length);
  new DataView(out.buffer).setUint32(0, payload.length);
  out.set(payload, 4);
  return out;
}

export class SftpFramer {
  private chunks: Uint8Array[] = [];
  private buffered = 0;

  /**
   * `maxPacket`: the largest payload accepted; a longer length word is a
   * ProtocolError. `allocate`: where a packet that spans chunks is gathered
   * (default a zero-filled Uint8Array; a Node driver may pass
   * Buffer.allocUnsafe, as every byte is written before the packet is seen).
   */
  constructor(
    readonly maxPacket: number,
    private readonly allocate: (size: number) => Uint8Array = (size) => new Uint8Array(size),
  ) {}

  /** Bytes held that are not yet a whole packet. */
  get pending(): number {
    return this.buffered;
  }

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
  }

  /** The next whole payload, or undefined until more bytes arrive. Throws ProtocolError on a bad length. */
  next(): Uint8Array | undefined {
    if (this.buffered < 4) return undefined;
    const length = this.peekLength();
    if (length === 0) throw new ProtocolError('SFTP packet: length 0');
    if (length > this.maxPacket) throw new ProtocolError(`SFTP packet: length ${length} is over the limit of ${this.maxPacket}`);
    if (this.buffered < 4 + length) return undefined;
    this.take(4);
    return this.take(length);
  }

  /**
   * Like next(), but a payload of at least `minPieces` bytes that spans
   * chunks comes as the list of its pieces (views of the chunks, in order,
   * never copied); others as next() gives them.
   */
  nextPieces(minPieces: number): Uint8Array | Uint8Array[] | undefined {
    if (this.buffered < 4) return undefined;
    const length = this.peekLength();
    if (length < minPieces || length > this.maxPacket || this.buffered < 4 + length) return this.next();
    this.take(4);
    const first = this.chunks[0]!;
    if (first.length >= length) return this.take(length);
    const pieces: Uint8Array[] = [];
    let left = length;
    while (left > 0) {
      const c = this.chunks[0]!;
      if (c.length <= left) {
        pieces.push(c);
        this.chunks.shift();
        left -= c.length;
      } else {
        pieces.push(c.subarray(0, left));
        this.chunks[0] = c.subarray(left);
        left = 0;
      }
    }
    this.buffered -= length;
    return pieces;
  }

  private peekLength(): number {
    const first = this.chunks[0]!;
    if (first.length >= 4) return ((first[0]! << 24) | (first[1]! << 16) | (first[2]! << 8) | first[3]!) >>> 0;
    const head = this.copyOut(4, false);
    return ((head[0]! << 24) | (head[1]! << 16) | (head[2]! << 8) | head[3]!) >>> 0;
  }

  private take(n: number): Uint8Array {
    const first = this.chunks[0]!;
    if (first.length >= n) {
      const out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      this.buffered -= n;
      return out;
    }
    return this.copyOut(n, true);
  }

  /** `n` bytes across chunks into one buffer, consuming them when `consume`. */
  private copyOut(n: number, consume: boolean): Uint8Array {
    const out = consume ? this.allocate(n) : new Uint8Array(n);
    let at = 0;
    let i = 0;
    while (at < n) {
      const c = this.chunks[i]!;
      const part = Math.min(c.length, n - at);
      out.set(c.subarray(0, part), at);
      at += part;
      if (consume) {
        if (part === c.length) this.chunks.shift();
        else this.chunks[0] = c.subarray(part);
      } else i++;
    }
    if (consume) this.buffered -= n;
    return out;
  }
}
