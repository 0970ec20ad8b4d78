// Growable writer for the SSH data types of RFC 4251 §5.

const textEncoder = new TextEncoder();

export class Writer {
  private buf: Uint8Array;
  private view: DataView;
  private length = 0;

  constructor(initialCapacity = 256) {
    this.buf = new Uint8Array(initialCapacity);
    this.view = new DataView(this.buf.buffer);
  }

  private ensure(n: number): void {
    const needed = this.length + n;
    if (needed <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < needed) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  byte(v: number): this {
    this.ensure(1);
    this.buf[this.length++] = v & 0xff;
    return this;
  }

  boolean(v: boolean): this {
    return this.byte(v ? 1 : 0);
  }

  uint32(v: number): this {
    this.ensure(4);
    this.view.setUint32(this.length, v >>> 0);
    this.length += 4;
    return this;
  }

  uint64(v: bigint): this {
    this.ensure(8);
    this.view.setBigUint64(this.length, BigInt.asUintN(64, v));
    this.length += 8;
    return this;
  }

  raw(b: Uint8Array): this {
    this.ensure(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
    return this;
  }

  string(b: Uint8Array | string): this {
    const bytes = typeof b === 'string' ? textEncoder.encode(b) : b;
    // A value from JavaScript that is neither (a number, undefined) would
    // otherwise go out as an empty string, silently.
    if (!(bytes instanceof Uint8Array)) throw new TypeError(`string field: expected a string or a Uint8Array, got ${b === null ? 'null' : typeof b}`);
    this.uint32(bytes.length);
    return this.raw(bytes);
  }

  nameList(names: readonly string[]): this {
    return this.string(names.join(','));
  }

  mpint(v: bigint): this {
    return this.string(encodeMpint(v));
  }

  /** An mpint from unsigned big-endian magnitude bytes (leading zeros stripped, sign byte added). */
  mpintFromBytes(magnitude: Uint8Array): this {
    let i = 0;
    while (i < magnitude.length && magnitude[i] === 0) i++;
    const m = magnitude.subarray(i);
    if (m.length > 0 && m[0]! & 0x80) {
      this.uint32(m.length + 1).byte(0);
      return this.raw(m);
    }
    return this.string(m);
  }

  get size(): number {
    return this.length;
  }

  /** The bytes written so far (a copy-free view; do not write after taking it). */
  finish(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }
}

/** Minimal two's complement big-endian encoding (RFC 4251 §5). */
export function encodeMpint(v: bigint): Uint8Array {
  if (v === 0n) return new Uint8Array(0);
  const negative = v < 0n;
  let mag = negative ? -v : v;
  let hex = mag.toString(16);
  if (hex.length % 2) hex = '0' + hex;
  let bytes: Uint8Array = Uint8Array.from(hex.match(/../g)!.map((h) => parseInt(h, 16)));
  if (!negative) {
    if (bytes[0]! & 0x80) bytes = concat([Uint8Array.of(0), bytes]);
    return bytes;
  }
  // two's complement of the magnitude in bytes.length (or one more) bytes
  let n = bytes.length;
  const tc = (1n << BigInt(n * 8)) - mag;
  mag = tc;
  hex = mag.toString(16).padStart(n * 2, '0');
  bytes = Uint8Array.from(hex.match(/../g)!.map((h) => parseInt(h, 16)));
  if ((bytes[0]! & 0x80) === 0) {
    n += 1;
    bytes = concat([Uint8Array.of(0xff), bytes]);
  }
  return bytes;
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
