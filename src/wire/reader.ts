// Bounds-checked reader for the SSH data types of RFC 4251 §5. Every read that
// would run past the end, or past a caller's limit, throws ProtocolError; a
// length read from the wire is checked before anything is allocated for it.
import { ProtocolError } from '../errors.js';

const textDecoder = new TextDecoder('utf-8', { fatal: true });

export class Reader {
  private offset = 0;
  private readonly view: DataView;

  constructor(private readonly bytes: Uint8Array, start = 0, private readonly what = 'message') {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.offset = start;
  }

  get remaining(): number {
    return this.bytes.length - this.offset;
  }

  get position(): number {
    return this.offset;
  }

  private need(n: number, field: string): void {
    if (n > this.bytes.length - this.offset) {
      throw new ProtocolError(`${this.what}: ${field} runs past the end (needs ${n} bytes, ${this.remaining} left)`);
    }
  }

  byte(field = 'byte'): number {
    this.need(1, field);
    return this.bytes[this.offset++]!;
  }

  boolean(field = 'boolean'): boolean {
    return this.byte(field) !== 0;
  }

  uint32(field = 'uint32'): number {
    this.need(4, field);
    const v = this.view.getUint32(this.offset);
    this.offset += 4;
    return v;
  }

  uint64(field = 'uint64'): bigint {
    this.need(8, field);
    const v = this.view.getBigUint64(this.offset);
    this.offset += 8;
    return v;
  }

  /** Raw bytes of a known size. The result is a view into the packet, not a copy. */
  raw(n: number, field = 'bytes'): Uint8Array {
    this.need(n, field);
    const v = this.bytes.subarray(this.offset, this.offset + n);
    this.offset += n;
    return v;
  }

  /** An SSH `string`: uint32 length then bytes; a view, not a copy. */
  string(field = 'string', limit = Infinity): Uint8Array {
    const n = this.uint32(field);
    if (n > limit) throw new ProtocolError(`${this.what}: ${field} is ${n} bytes, over the limit of ${limit}`);
    return this.raw(n, field);
  }

  /** A `string` holding UTF-8 text. Invalid UTF-8 is a ProtocolError. */
  text(field = 'string', limit = Infinity): string {
    const b = this.string(field, limit);
    try {
      return textDecoder.decode(b);
    } catch {
      throw new ProtocolError(`${this.what}: ${field} is not valid UTF-8`);
    }
  }

  /** A `name-list`: comma-separated US-ASCII names, none empty. */
  nameList(field = 'name-list', limit = 64 * 1024): string[] {
    const b = this.string(field, limit);
    if (b.length === 0) return [];
    // Checked byte by byte, then decoded in one call: printable US-ASCII is
    // valid UTF-8 as it stands (building the string a character at a time
    // cost a peer's KEXINIT ~20 µs).
    for (let i = 0; i < b.length; i++) {
      const c = b[i]!;
      if (c < 0x21 || c > 0x7e) throw new ProtocolError(`${this.what}: ${field} holds a byte outside printable US-ASCII`);
      if (c === 0x2c && (i === 0 || i === b.length - 1 || b[i - 1] === 0x2c)) throw new ProtocolError(`${this.what}: ${field} has an empty name`);
    }
    return textDecoder.decode(b).split(',');
  }

  /**
   * An `mpint` (two's complement, big-endian). RFC 4251 §5 forbids needless
   * leading 0x00 or 0xff bytes; such encodings are rejected.
   */
  mpint(field = 'mpint', limitBytes = 16 * 1024 + 1): bigint {
    const b = this.string(field, limitBytes);
    return decodeMpint(b, `${this.what}: ${field}`);
  }

  /** The magnitude bytes of a non-negative mpint, without the sign byte. */
  mpintBytes(field = 'mpint', limitBytes = 16 * 1024 + 1): Uint8Array {
    const b = this.string(field, limitBytes);
    checkMpint(b, `${this.what}: ${field}`);
    if (b.length > 0 && b[0]! & 0x80) throw new ProtocolError(`${this.what}: ${field} is negative`);
    return b.length > 0 && b[0] === 0 ? b.subarray(1) : b;
  }

  /** Everything left. */
  rest(): Uint8Array {
    const v = this.bytes.subarray(this.offset);
    this.offset = this.bytes.length;
    return v;
  }

  /** Ends a parse: trailing bytes are an error unless allowed. */
  end(): void {
    if (this.offset !== this.bytes.length) {
      throw new ProtocolError(`${this.what}: ${this.remaining} unexpected trailing bytes`);
    }
  }
}

function checkMpint(b: Uint8Array, what: string): void {
  if (b.length >= 2) {
    const first = b[0]!;
    const second = b[1]!;
    if ((first === 0x00 && (second & 0x80) === 0) || (first === 0xff && (second & 0x80) !== 0)) {
      throw new ProtocolError(`${what} is not minimally encoded`);
    }
  }
  if (b.length === 1 && b[0] === 0) throw new ProtocolError(`${what}: zero must be encoded with no bytes`);
}

export function decodeMpint(b: Uint8Array, what = 'mpint'): bigint {
  checkMpint(b, what);
  if (b.length === 0) return 0n;
  let hex = '';
  for (const c of b) hex += c.toString(16).padStart(2, '0');
  let v = BigInt('0x' + hex);
  if (b[0]! & 0x80) v -= 1n << BigInt(b.length * 8);
  return v;
}
