// The one SSH-specific thing the floor bench (bench/floor.ts) keeps: a
// packet as aes128-gcm@openssh.com protects it (RFC 5647 as OpenSSH uses
// it), with the least work node:crypto allows per packet:
//   uint32 packet_length (sent in clear, the AEAD's additional data)
//   byte   padding_length, CHANNEL_DATA's 9-byte head, the data, padding
//          (encrypted; packet_length a multiple of 16, padding >= 4)
//   16-byte tag
// A fresh createCipheriv/createDecipheriv per packet (a GCM context cannot
// take a new nonce), the 12-byte nonce's last 8 bytes counting up, setAAD of
// the length, one update, final, getAuthTag/setAuthTag: what any Node 20
// implementation must do per packet without native code. `copy` frames the
// same bytes without crypto: the bytes are copied once into a fresh buffer
// (as `update` returns one), to separate the crypto from everything else.
//
// Not SSH: the key and nonce are constants, padding is not random, no
// sequence numbers, no window. Nothing here is used by Nacre itself.
import { createCipheriv, createDecipheriv, createSecretKey } from 'node:crypto';

export type FloorMode = 'aes128-gcm' | 'copy';
export const FLOOR_MODES: readonly FloorMode[] = ['aes128-gcm', 'copy'];

/** The most data one packet carries (OpenSSH's channel packet size). */
export const MAX_DATA = 32 * 1024;
/** packet_length + padding_length + CHANNEL_DATA head (type, channel, data length). */
export const HEAD = 4 + 1 + 9;
const TAG = 16;
/** A packet_length above this is refused (a parser never trusts a length). */
const MAX_PACKET = 1 + 9 + MAX_DATA + 32;

// A KeyObject: node:crypto then skips importing raw key bytes on every packet (as src/algorithms/cipher/aes-gcm.ts does).
const KEY = createSecretKey(Buffer.alloc(16, 0x4b));
const NONCE = Buffer.from('000102030405060708090a0b', 'hex');

function next(nonce: Buffer): void {
  // The invocation counter: the last 8 bytes, big-endian, +1.
  for (let i = 11; i >= 4; i--) if (++nonce[i]! <= 0xff) return;
}

/** packet_length for `n` bytes of data: 1 + 9 + n + padding, a multiple of 16, padding >= 4. */
export function packetLength(n: number): number {
  const body = 1 + 9 + n;
  let pad = 16 - (body % 16);
  if (pad < 4) pad += 16;
  return body + pad;
}

/**
 * Seals packets from one reused frame: the caller puts the data at
 * `frame[HEAD..HEAD+n]` (a socket's `onread` buffer can be `data` itself, so
 * the data is never copied before the cipher reads it) and calls seal(n).
 */
export class FloorSealer {
  readonly frame = Buffer.alloc(HEAD + MAX_DATA + 32);
  /** Where the data goes: frame[HEAD..]. */
  readonly data = this.frame.subarray(HEAD, HEAD + MAX_DATA);
  private readonly nonce = Buffer.from(NONCE);
  constructor(readonly mode: FloorMode) {}

  /** The packet for the `n` bytes at data[0..n], as the chunks to write in order. */
  seal(n: number): Buffer[] {
    if (!(n > 0 && n <= MAX_DATA)) throw new RangeError(`seal: ${n} bytes of data`);
    const f = this.frame;
    const len = packetLength(n);
    f.writeUInt32BE(len, 0);
    f[4] = len - 1 - 9 - n;
    f[5] = 94; // SSH_MSG_CHANNEL_DATA
    f.writeUInt32BE(0, 6);
    f.writeUInt32BE(n, 10);
    // Padding: left as the previous packet had it (SSH asks for random bytes; a pool of them costs a copy).
    if (this.mode === 'copy') {
      const out = Buffer.allocUnsafeSlow(4 + len);
      f.copy(out, 0, 0, 4 + len);
      return [out];
    }
    const c = createCipheriv('aes-128-gcm', KEY, this.nonce);
    next(this.nonce);
    const head = Buffer.allocUnsafe(4);
    f.copy(head, 0, 0, 4);
    c.setAAD(head);
    const body = c.update(f.subarray(4, 4 + len));
    c.final();
    return [head, body, c.getAuthTag()];
  }
}

/** Thrown for a stream that is not a sequence of our packets. */
export class FloorFrameError extends Error {}

/**
 * Opens packets from a stream read in arbitrary pieces (a socket's `onread`
 * buffer, reused between reads): whole packets are opened where they lie, a
 * packet cut by the end of a read is copied into one reused buffer and opened
 * there once complete. Each packet's data goes to `emit`, in a buffer of its
 * own (the plaintext `update` returned, or a copy in `copy` mode).
 */
export class FloorOpener {
  private readonly nonce = Buffer.from(NONCE);
  private readonly tail = Buffer.alloc(4 + MAX_PACKET + TAG);
  private held = 0;
  private readonly tagLength: number;
  constructor(
    readonly mode: FloorMode,
    private readonly emit: (data: Buffer) => void,
  ) {
    this.tagLength = mode === 'copy' ? 0 : TAG;
  }

  private total(b: Buffer, at: number): number {
    const len = b.readUInt32BE(at);
    if (len < 16 || len > MAX_PACKET || len % 16 !== 0) throw new FloorFrameError(`packet_length ${len}`);
    return 4 + len + this.tagLength;
  }

  /** The `n` bytes at b[0..n] (b may be overwritten once this returns). */
  feed(b: Buffer, n: number): void {
    let at = 0;
    if (this.held > 0) {
      if (this.held < 4) {
        const take = Math.min(4 - this.held, n);
        b.copy(this.tail, this.held, 0, take);
        this.held += take;
        at = take;
        if (this.held < 4) return;
      }
      const total = this.total(this.tail, 0);
      const take = Math.min(total - this.held, n - at);
      b.copy(this.tail, this.held, at, at + take);
      this.held += take;
      at += take;
      if (this.held < total) return;
      this.open(this.tail, 0, total);
      this.held = 0;
    }
    while (n - at >= 4) {
      const total = this.total(b, at);
      if (n - at < total) break;
      this.open(b, at, total);
      at += total;
    }
    if (at < n) {
      b.copy(this.tail, 0, at, n);
      this.held = n - at;
    }
  }

  /** Whether the stream ended between packets. */
  get clean(): boolean {
    return this.held === 0;
  }

  private open(b: Buffer, at: number, total: number): void {
    let plain: Buffer;
    if (this.mode === 'copy') {
      plain = Buffer.allocUnsafeSlow(total - 4);
      b.copy(plain, 0, at + 4, at + total);
    } else {
      const d = createDecipheriv('aes-128-gcm', KEY, this.nonce);
      next(this.nonce);
      d.setAAD(b.subarray(at, at + 4));
      d.setAuthTag(b.subarray(at + total - TAG, at + total));
      plain = d.update(b.subarray(at + 4, at + total - TAG));
      d.final(); // throws when the tag is wrong
    }
    const pad = plain[0]!;
    const n = plain.readUInt32BE(6);
    if (plain[1] !== 94 || 1 + 9 + n + pad !== plain.length) throw new FloorFrameError('not a CHANNEL_DATA packet of ours');
    this.emit(plain.subarray(10, 10 + n));
  }
}
