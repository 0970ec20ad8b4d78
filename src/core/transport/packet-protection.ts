// Per-direction packet protection: framing (RFC 4253 §6), padding, encryption
// and integrity, for the three shapes SSH has: AEAD (GCM, chacha20-poly1305),
// cipher + MAC over plaintext, and cipher + encrypt-then-MAC. Sequence
// numbers are the caller's; this layer is told which one to use.
import { MacError, ProtocolError } from '../../errors.js';
import type {
  AeadPacketCipher,
  BlockPacketCipher,
  PacketMac,
  RandomSource,
} from '../../algorithms/types.js';
import { constantTimeEqual, putUint32 } from '../../wire/bytes.js';

/** Largest packet_length we accept: 256 KiB of payload plus framing slack. */
export const MAX_PACKET_LENGTH = 256 * 1024 + 1024;
/** Smallest: padding_length plus the 4 bytes of minimum padding (as OpenSSH checks). */
const MIN_PACKET_LENGTH = 5;

export type Protection =
  | { readonly kind: 'none' }
  | { readonly kind: 'aead'; readonly cipher: AeadPacketCipher }
  | { readonly kind: 'mac'; readonly cipher: BlockPacketCipher; readonly mac: PacketMac; readonly etm: boolean };

export const NO_PROTECTION: Protection = { kind: 'none' };

function blockSizeOf(p: Protection): number {
  switch (p.kind) {
    case 'none':
      return 8;
    case 'aead':
      return Math.max(8, p.cipher.blockSize);
    case 'mac':
      return Math.max(8, p.cipher.blockSize);
  }
}

/** Whether the length field is outside the padded, encrypted area. */
function lengthIsClear(p: Protection): boolean {
  return p.kind === 'aead' || (p.kind === 'mac' && p.etm);
}

/** A pool of random bytes for padding, refilled in large draws. */
class RandomPool {
  private static readonly shared = new WeakMap<RandomSource, RandomPool>();

  /**
   * The pool of `random`, one for every sealer drawing from it: a server's
   * connections all use the same source, and a 4 KiB pool each was a tenth
   * of what an idle connection costs. Every byte still pads one packet only.
   */
  static of(random: RandomSource): RandomPool {
    let pool = RandomPool.shared.get(random);
    if (!pool) RandomPool.shared.set(random, (pool = new RandomPool(random)));
    return pool;
  }

  private pool: Uint8Array = new Uint8Array(0);
  private at = 0;
  constructor(private readonly random: RandomSource) {}
  fill(target: Uint8Array, from: number, to: number): void {
    const n = to - from;
    if (this.pool.length - this.at < n) {
      this.pool = this.random(Math.max(4096, n));
      this.at = 0;
    }
    target.set(this.pool.subarray(this.at, this.at + n), from);
    this.at += n;
  }
}

/**
 * The plaintext frame of an AEAD packet, one for every sealer of the
 * process: AEAD ciphers copy their input, so the frame is free again when
 * `sealTo` returns, and seals never interleave. A frame per sealer was kept
 * for the connection's lifetime, as large as the largest packet it sent.
 */
let sharedFrame = new Uint8Array(0);

export class PacketSealer {
  private readonly blockSize: number;
  private readonly clearLength: boolean;
  private readonly pool: RandomPool;

  constructor(readonly protection: Protection, random: RandomSource) {
    this.blockSize = blockSizeOf(protection);
    this.clearLength = lengthIsClear(protection);
    this.pool = RandomPool.of(random);
  }

  /**
   * Frames, pads and protects one payload, appending the wire bytes to `out`
   * (one or more chunks, to be sent in order). Returns the wire length.
   */
  sealTo(seq: number, payload: Uint8Array, out: Uint8Array[], tail?: Uint8Array): number {
    const p = this.protection;
    if (p.kind === 'aead') {
      const frame = this.frame(payload, 0, true, tail);
      if (p.cipher.sealParts) {
        let n = 0;
        for (const part of p.cipher.sealParts(seq, frame)) {
          out.push(part);
          n += part.length;
        }
        return n;
      }
      const wire = p.cipher.seal(seq, frame);
      out.push(wire);
      return wire.length;
    }
    const wire = this.seal(seq, payload, tail);
    out.push(wire);
    return wire.length;
  }

  /** `uint32 packet_length || padding_length || payload || random padding`, plus `extra` bytes of room. */
  private frame(payload: Uint8Array, extra: number, reuse: boolean, tail?: Uint8Array): Uint8Array {
    const bs = this.blockSize;
    const payloadLength = payload.length + (tail?.length ?? 0);
    const covered = (this.clearLength ? 1 : 5) + payloadLength;
    let padding = bs - (covered % bs);
    if (padding < 4) padding += bs;
    const packetLength = 1 + payloadLength + padding;
    const size = 4 + packetLength + extra;
    let out: Uint8Array;
    if (reuse) {
      if (sharedFrame.length < size) sharedFrame = new Uint8Array(Math.max(size, 2 * sharedFrame.length));
      out = sharedFrame.subarray(0, size);
    } else {
      out = new Uint8Array(size);
    }
    putUint32(out, 0, packetLength);
    out[4] = padding;
    out.set(payload, 5);
    if (tail) out.set(tail, 5 + payload.length);
    this.pool.fill(out, 5 + payloadLength, 4 + packetLength);
    return out;
  }

  /** Frames, pads and protects one payload (`payload || tail`) into one new buffer. */
  seal(seq: number, payload: Uint8Array, tail?: Uint8Array): Uint8Array {
    const p = this.protection;
    const macLength = p.kind === 'mac' ? p.mac.length : 0;
    // One buffer for the packet and, for MAC shapes, the MAC after it.
    const out = this.frame(payload, macLength, false, tail);
    const packetLength = out.length - 4 - macLength;
    switch (p.kind) {
      case 'none':
        return out;
      case 'aead':
        return p.cipher.seal(seq, out.subarray(0, 4 + packetLength));
      case 'mac': {
        const body = out.subarray(0, 4 + packetLength);
        if (p.etm) {
          out.set(p.cipher.update(body.subarray(4)), 4);
          out.set(p.mac.compute(seq, body), 4 + packetLength);
        } else {
          const tag = p.mac.compute(seq, body);
          out.set(p.cipher.update(body), 0);
          out.set(tag, 4 + packetLength);
        }
        return out;
      }
    }
  }
}

export type OpenResult =
  | { readonly done: false; readonly need: number }
  | { readonly done: true; readonly payload: Uint8Array; readonly consumed: number };

/**
 * Opens packets from a contiguous view of received bytes. Keeps the state a
 * CBC/CTR stream needs between "length known" and "whole packet there".
 */
export class PacketOpener {
  private readonly blockSize: number;
  private pendingLength = -1;
  private firstBlock: Uint8Array | null = null;

  constructor(readonly protection: Protection) {
    this.blockSize = blockSizeOf(protection);
  }

  /**
   * Whether `open` returns memory of its own rather than a view of the wire
   * bytes (every cipher decrypts into a fresh buffer; only the unprotected
   * start of a connection hands out views), so those bytes may be reused.
   */
  get copiesOut(): boolean {
    return this.protection.kind !== 'none';
  }

  /** Bytes needed before the packet length can be read. */
  get headerLength(): number {
    const p = this.protection;
    return p.kind === 'mac' && !p.etm ? this.blockSize : 4;
  }

  /** Total wire size of the current packet once its length is known (-1 before). */
  get wireLength(): number {
    if (this.pendingLength < 0) return -1;
    const p = this.protection;
    const tag = p.kind === 'aead' ? p.cipher.tagLength : p.kind === 'mac' ? p.mac.length : 0;
    return 4 + this.pendingLength + tag;
  }

  /** Reads the packet length from the header bytes; checks it before anything is allocated for it. */
  readLength(seq: number, header: Uint8Array): number {
    const p = this.protection;
    let length: number;
    switch (p.kind) {
      case 'none':
        length = readU32(header);
        break;
      case 'aead':
        length = p.cipher.peekLength(seq, header.subarray(0, 4));
        break;
      case 'mac':
        if (p.etm) {
          length = readU32(header);
        } else {
          this.firstBlock = p.cipher.update(header);
          length = readU32(this.firstBlock);
        }
        break;
    }
    if (length > MAX_PACKET_LENGTH) throw new ProtocolError(`packet length ${length} exceeds the limit of ${MAX_PACKET_LENGTH}`);
    if (length < MIN_PACKET_LENGTH) throw new ProtocolError(`packet length ${length} is too small`);
    const aligned = lengthIsClear(p) ? length : length + 4;
    if (aligned % this.blockSize !== 0) {
      throw new ProtocolError(`packet length ${length} is not a multiple of the cipher block size ${this.blockSize}`);
    }
    this.pendingLength = length;
    return length;
  }

  /** Opens the whole packet (`wireLength` bytes); returns the payload. */
  open(seq: number, wire: Uint8Array): Uint8Array {
    const p = this.protection;
    const length = this.pendingLength;
    this.pendingLength = -1;
    let packet: Uint8Array; // plaintext: uint32 length || padlen || payload || padding
    switch (p.kind) {
      case 'none':
        packet = wire;
        break;
      case 'aead':
        if (p.cipher.openBody) return payloadOf(p.cipher.openBody(seq, wire), length, 0);
        packet = p.cipher.open(seq, wire);
        break;
      case 'mac': {
        const body = wire.subarray(0, 4 + length);
        const tag = wire.subarray(4 + length, 4 + length + p.mac.length);
        if (p.etm) {
          if (!constantTimeEqual(p.mac.compute(seq, body), tag)) throw new MacError();
          packet = new Uint8Array(4 + length);
          packet.set(body.subarray(0, 4));
          packet.set(p.cipher.update(body.subarray(4)), 4);
        } else {
          const first = this.firstBlock!;
          this.firstBlock = null;
          packet = new Uint8Array(4 + length);
          packet.set(first);
          packet.set(p.cipher.update(body.subarray(first.length)), first.length);
          if (!constantTimeEqual(p.mac.compute(seq, packet), tag)) throw new MacError();
        }
        break;
      }
    }
    return payloadOf(packet, length, 4);
  }
}

/** The payload of a decrypted packet whose padding_length byte is at `at`. */
function payloadOf(packet: Uint8Array, length: number, at: number): Uint8Array {
  const padding = packet[at]!;
  if (padding < 4) throw new ProtocolError(`padding length ${padding} is below the minimum of 4`);
  if (padding > length - 1) throw new ProtocolError(`padding length ${padding} exceeds the packet length ${length}`);
  return packet.subarray(at + 1, at + length - padding);
}

function readU32(b: Uint8Array): number {
  return ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
}
