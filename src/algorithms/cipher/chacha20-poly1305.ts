// chacha20-poly1305@openssh.com (OpenSSH PROTOCOL.chacha20poly1305).
//
// The 64-byte key splits into K_2 (first half: payload and MAC key) and K_1
// (second half: length key). For sequence number seq the nonce is uint64(seq)
// big-endian, used with the original 64-bit-nonce ChaCha20:
//   length:   chacha20(K_1, nonce, block 0) XOR uint32 packet_length
//   MAC key:  first 32 bytes of chacha20(K_2, nonce, block 0)
//   payload:  chacha20(K_2, nonce, block 1...) XOR the rest of the packet
//   tag:      poly1305(MAC key, encrypted length || encrypted payload)
//
// node:crypto's 'chacha20' takes a 16-byte IV = 32-bit LE block counter ||
// 96-bit nonce. Writing the 64-bit counter as 8 LE bytes followed by the 8
// nonce bytes gives the same state words, since SSH never passes block 2^32.
//
// Cost model (see bench/chacha.ts): creating an OpenSSL cipher context costs
// about as much as encrypting 2-4 KiB, so each packet uses exactly one K_2
// context: it first yields 60 keystream bytes (MAC key + the unused rest of
// block 0) and then is fed the 4-byte length slot followed by the payload, so
// the payload lands on block 1 and node's output buffer already has the wire
// layout. The K_1 keystream of the last sequence number is cached, so
// peekLength followed by open costs one K_1 context, not two.

import { createCipheriv, timingSafeEqual } from 'node:crypto';
import { MacError, ProtocolError } from '../../errors.js';
import { poly1305Parts } from '../../crypto/poly1305.js';
import type { AeadPacketCipher, CipherAlgorithm } from '../types.js';

const TAG = 16;
/** Keystream bytes before the length slot, so that what follows it starts at block 1. */
const SKIP = new Uint8Array(60);
const ZERO4 = new Uint8Array(4);

// Memory every cipher of the process shares: each use is over before the
// call returns (node:crypto copies the IV and its input, the MAC key and tag
// are read at once), and calls never interleave. Per cipher they were five
// buffers that an idle connection kept for its lifetime, the seal scratch as
// large as the largest packet it ever sent.
/** IV for block 0 of nonce(seq): bytes 0..11 stay zero, 12..15 hold seq big-endian. */
const IV = Buffer.alloc(16);
/** Scratch for seal: 4-byte length slot || payload || 16 bytes of room for the tag. */
let sealScratch = Buffer.alloc(0);
const MAC_KEY = new Uint8Array(32);
const TAG_OUT = new Uint8Array(TAG);

/**
 * A key half in memory of its own. `Buffer.from` of a few bytes is a slice
 * of Node's shared 8 KiB pool, and a key kept for a connection's lifetime
 * would keep that whole pool alive.
 */
function ownCopy(bytes: Uint8Array): Buffer {
  const out = Buffer.alloc(bytes.length);
  out.set(bytes);
  return out;
}

class ChaChaPolyCipher implements AeadPacketCipher {
  readonly kind = 'aead';
  readonly blockSize = 8;
  readonly tagLength = TAG;
  private readonly mainKey: Buffer;
  private readonly lengthKey: Buffer;
  private cachedSeq = -1;
  private readonly cachedLengthStream = new Uint8Array(4);

  constructor(key: Uint8Array) {
    this.mainKey = ownCopy(key.subarray(0, 32));
    this.lengthKey = ownCopy(key.subarray(32, 64));
  }

  private nonce(seq: number): Buffer {
    IV.writeUInt32BE(seq >>> 0, 12);
    return IV;
  }

  /** chacha20(K_1, nonce(seq), block 0), first 4 bytes. */
  private lengthStream(seq: number): Uint8Array {
    const s = seq >>> 0;
    if (s !== this.cachedSeq) {
      this.cachedLengthStream.set(createCipheriv('chacha20', this.lengthKey, this.nonce(s)).update(ZERO4));
      this.cachedSeq = s;
    }
    return this.cachedLengthStream;
  }

  /** A K_2 stream positioned 60 bytes into block 0, with the MAC key already taken. */
  private mainStream(seq: number): ReturnType<typeof createCipheriv> {
    const c = createCipheriv('chacha20', this.mainKey, this.nonce(seq));
    MAC_KEY.set(c.update(SKIP).subarray(0, 32));
    return c;
  }

  seal(seq: number, packet: Uint8Array): Uint8Array {
    const n = packet.length;
    if (n < 4) throw new ProtocolError('packet too short to seal');
    if (sealScratch.length < n + TAG) sealScratch = Buffer.alloc(Math.max(n + TAG, 2 * sealScratch.length));
    const input = sealScratch.subarray(0, n + TAG);
    input.set(packet);
    const c = this.mainStream(seq);
    // Bytes 0..3 and the last 16 of `wire` are keystream junk, overwritten below.
    const wire: Uint8Array = c.update(input);
    const ks = this.lengthStream(seq);
    wire[0] = packet[0]! ^ ks[0]!;
    wire[1] = packet[1]! ^ ks[1]!;
    wire[2] = packet[2]! ^ ks[2]!;
    wire[3] = packet[3]! ^ ks[3]!;
    poly1305Parts(MAC_KEY, [wire.subarray(0, n)], wire, n);
    return wire;
  }

  peekLength(seq: number, head: Uint8Array): number {
    if (head.length < 4) throw new ProtocolError('need 4 bytes to read the packet length');
    const ks = this.lengthStream(seq);
    return (((head[0]! ^ ks[0]!) << 24) | ((head[1]! ^ ks[1]!) << 16) | ((head[2]! ^ ks[2]!) << 8) | (head[3]! ^ ks[3]!)) >>> 0;
  }

  open(seq: number, wire: Uint8Array): Uint8Array {
    const n = wire.length - TAG;
    if (n < 4) throw new ProtocolError('packet too short to open');
    const c = this.mainStream(seq);
    const body = wire.subarray(0, n);
    poly1305Parts(MAC_KEY, [body], TAG_OUT, 0);
    // Authenticate before anything of the payload is decrypted.
    if (!timingSafeEqual(TAG_OUT, wire.subarray(n))) throw new MacError();
    const length = this.peekLength(seq, wire);
    if (length !== n - 4) throw new ProtocolError(`packet length ${length} does not match the ${n - 4} bytes received`);
    // The length slot consumes the rest of block 0, so the payload decrypts with block 1 onwards.
    const plain: Uint8Array = c.update(body);
    plain[0] = length >>> 24;
    plain[1] = (length >>> 16) & 0xff;
    plain[2] = (length >>> 8) & 0xff;
    plain[3] = length & 0xff;
    return plain;
  }
}

export const chacha20Poly1305: CipherAlgorithm = {
  name: 'chacha20-poly1305@openssh.com',
  secure: true,
  keyLength: 64,
  ivLength: 0,
  blockSize: 8,
  aead: true,
  create(key: Uint8Array, _iv: Uint8Array, _direction: 'encrypt' | 'decrypt'): AeadPacketCipher {
    if (key.length !== 64) throw new ProtocolError(`chacha20-poly1305 needs a 64-byte key, got ${key.length}`);
    return new ChaChaPolyCipher(key);
  },
};
