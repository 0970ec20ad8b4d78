// UMAC-64 and UMAC-128 (RFC 4418), as used by OpenSSH's umac-64@openssh.com
// and umac-128@openssh.com. AES-128 (node:crypto) drives the key derivation and
// the pad; the universal hash UHASH lives in umac-arith.ts.
//
// Compatibility with OpenSSH (umac.c / umac128.c in openssh-portable): its
// code is Krovetz's reference implementation and gives the RFC's results, with
// one gap: it lacks the 128-bit L2 polynomial, so its tags are wrong for
// messages over 16 MiB. SSH packets are at most 256 KiB, so that never shows
// on the wire; we implement the RFC there. The SSH-specific parts live in the
// caller (src/algorithms/mac.ts): nonce = the uint64 sequence number,
// big-endian, and the message is the packet alone, without the uint32
// sequence prefix HMAC gets. Tags were checked against OpenSSH's umac.c built
// from source on thousands of random packets.

import { createCipheriv, type Cipher } from 'node:crypto';
import { ProtocolError } from '../errors.js';
import { L1_CHUNK, l3, l3KeyWord, nhPair, poly128Key, poly128Step, poly64KeyLimbs, poly64Step } from './umac-arith.js';

const KEY_LENGTH = 16;
/** L1 outputs (8 bytes each) the 64-bit polynomial takes before the 128-bit one starts (2^17 bytes). */
const POLY64_LIMIT = 1 << 14;
const WORDS_PER_CHUNK = L1_CHUNK / 4;
/** AES blocks encrypted per pad-cache miss (see Umac.pdf). */
const PDF_BATCH = 16;

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

function aesEcb(key: Uint8Array): Cipher {
  const c = createCipheriv('aes-128-ecb', key, null);
  c.setAutoPadding(false);
  return c;
}

/**
 * KDF(K, index, numbytes) of RFC 4418 §3.2.1: AES in counter mode over
 * blocks uint64(index) || uint64(counter), counter from 1.
 */
function kdf(aes: Cipher, index: number, numBytes: number): Uint8Array {
  const blocks = Math.ceil(numBytes / 16);
  const input = new Uint8Array(blocks * 16);
  for (let i = 0; i < blocks; i++) {
    input[i * 16 + 7] = index;
    const counter = i + 1;
    input[i * 16 + 14] = counter >>> 8;
    input[i * 16 + 15] = counter & 0xff;
  }
  const out = new Uint8Array(aes.update(input));
  input.fill(0);
  return out.subarray(0, numBytes);
}

function readU32BE(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

function byteSwapWords(w: Uint32Array, n: number): void {
  for (let i = 0; i < n; i++) {
    const v = w[i]!;
    w[i] = ((v >>> 24) | ((v >>> 8) & 0xff00) | ((v & 0xff00) << 8) | (v << 24)) >>> 0;
  }
}

/** Running state of the 128-bit L2 polynomial for one stream. */
interface Poly128State {
  readonly k: bigint;
  y: bigint;
  /** An L1 output waiting for its partner to make a 16-byte word. */
  half: bigint | null;
}

/**
 * UMAC with a 16-byte AES key and an 8- or 16-byte tag. All key material is
 * derived once in the constructor; per call, `mac` allocates its result and,
 * once every few nonces, a small batch of pads.
 * Not reentrant (scratch buffers are shared between calls), which suits one
 * instance per connection direction.
 */
export class Umac {
  readonly tagLength: 8 | 16;
  private readonly streams: number;
  /** NH key as host-order words (big-endian bytes), 256 words plus 4 per extra stream (Toeplitz shift). */
  private readonly l1Key: Uint32Array;
  /** 64-bit L2 keys as 16-bit limbs, 4 per stream. */
  private readonly l2Key64: Float64Array;
  private readonly l2Key128: bigint[];
  /** L3 keys reduced mod p36, 8 per stream. */
  private readonly l3Key1: Float64Array;
  private readonly l3Key2: Uint32Array;
  private readonly pdfAes: Cipher;

  private readonly chunk = new Uint32Array(WORDS_PER_CHUNK);
  private readonly chunkBytes = new Uint8Array(this.chunk.buffer);
  private readonly nhOut: Float64Array;
  private readonly poly: Float64Array;
  /** Pad cache: AES outputs for nonces pdfBase, pdfBase + step, ... (pdfCount blocks). */
  private readonly pdfBase = new Uint8Array(16);
  private pdfNonceLength = 0;
  private pdfCount = 0;
  private pdfBlocks = new Uint8Array(0);
  private pdfOffset = 0;

  constructor(key: Uint8Array, tagLength: 8 | 16) {
    if (key.length !== KEY_LENGTH) throw new ProtocolError(`UMAC key must be ${KEY_LENGTH} bytes, got ${key.length}`);
    if (tagLength !== 8 && tagLength !== 16) throw new ProtocolError(`unsupported UMAC tag length ${String(tagLength)}`);
    this.tagLength = tagLength;
    const streams = tagLength / 4;
    this.streams = streams;
    const aes = aesEcb(key);

    const pdfKey = kdf(aes, 0, 16);
    this.pdfAes = aesEcb(pdfKey);
    pdfKey.fill(0);

    const l1 = kdf(aes, 1, L1_CHUNK + (streams - 1) * 16);
    this.l1Key = new Uint32Array(l1.length / 4);
    for (let i = 0; i < this.l1Key.length; i++) this.l1Key[i] = readU32BE(l1, i * 4);

    const l2 = kdf(aes, 2, streams * 24);
    this.l2Key64 = new Float64Array(streams * 4);
    this.l2Key128 = [];
    for (let s = 0; s < streams; s++) {
      poly64KeyLimbs(l2, s * 24, this.l2Key64, s * 4);
      this.l2Key128.push(poly128Key(l2, s * 24 + 8));
    }

    const l3a = kdf(aes, 3, streams * 64);
    this.l3Key1 = new Float64Array(streams * 8);
    for (let i = 0; i < streams * 8; i++) this.l3Key1[i] = l3KeyWord(l3a, i * 8);

    const l3b = kdf(aes, 4, streams * 4);
    this.l3Key2 = new Uint32Array(streams);
    for (let s = 0; s < streams; s++) this.l3Key2[s] = readU32BE(l3b, s * 4);

    l1.fill(0);
    l2.fill(0);
    l3a.fill(0);
    l3b.fill(0);
    this.nhOut = new Float64Array(streams * 2);
    this.poly = new Float64Array(streams * 2);
  }

  /** The tag for `message` under `nonce` (1 to 16 bytes; SSH uses 8). */
  mac(message: Uint8Array, nonce: Uint8Array): Uint8Array {
    const tag = new Uint8Array(this.tagLength);
    const pad = this.pdf(nonce);
    this.hashInto(message, tag, pad, this.pdfOffset);
    return tag;
  }

  /** UHASH (RFC 4418 §5): the tag before the pad is applied. */
  uhash(message: Uint8Array): Uint8Array {
    const out = new Uint8Array(this.tagLength);
    this.hashInto(message, out, out, 0);
    return out;
  }

  /** Writes UHASH(message) XOR pad[padOff..] into out (pad may be out itself, all zero). */
  private hashInto(message: Uint8Array, out: Uint8Array, pad: Uint8Array, padOff: number): void {
    const streams = this.streams;
    const len = message.length;
    const nhOut = this.nhOut;
    const poly = this.poly;
    const key = this.l1Key;
    const chunks = len === 0 ? 1 : Math.ceil(len / L1_CHUNK);
    let wide: Poly128State[] | null = null;

    // Full chunks can be read in place when the bytes are 4-aligned on a little-endian host.
    const direct =
      len >= L1_CHUNK && LITTLE_ENDIAN && (message.byteOffset & 3) === 0 ? new Uint32Array(message.buffer, message.byteOffset, len >>> 2) : null;

    for (let s = 0; s < streams; s++) {
      poly[s * 2] = 0;
      poly[s * 2 + 1] = 1;
    }

    let dirty = 0;
    for (let c = 0; c < chunks; c++) {
      const start = c * L1_CHUNK;
      const n = Math.min(L1_CHUNK, len - start);
      let words: Uint32Array;
      let off: number;
      let nWords: number;
      if (n === L1_CHUNK && direct !== null) {
        words = direct;
        off = start >>> 2;
        nWords = WORDS_PER_CHUNK;
      } else {
        // Zero-pad the tail to a multiple of 32 bytes (an empty message hashes one zero block).
        const padded = n === 0 ? 32 : (n + 31) & ~31;
        const bytes = this.chunkBytes;
        if (n < 64) for (let i = 0; i < n; i++) bytes[i] = message[start + i]!;
        else bytes.set(start === 0 && n === len ? message : message.subarray(start, start + n));
        bytes.fill(0, n, padded);
        if (padded > dirty) dirty = padded;
        nWords = padded >>> 2;
        if (!LITTLE_ENDIAN) byteSwapWords(this.chunk, nWords);
        words = this.chunk;
        off = 0;
      }
      for (let s = 0; s < streams; s += 2) nhPair(words, off, nWords, key, s * 4, n * 8, nhOut, s * 2);

      if (chunks === 1) break;
      if (c < POLY64_LIMIT) {
        for (let s = 0; s < streams; s++) poly64Step(poly, s * 2, this.l2Key64, s * 4, nhOut[s * 2]!, nhOut[s * 2 + 1]!);
      } else {
        // Past 2^17 bytes of L1 output: the 64-bit result so far opens the 128-bit polynomial.
        wide ??= Array.from({ length: streams }, (_, s) => {
          const k = this.l2Key128[s]!;
          return { k, y: poly128Step(1n, k, (BigInt(poly[s * 2]!) << 32n) | BigInt(poly[s * 2 + 1]!)), half: null };
        });
        for (let s = 0; s < streams; s++) {
          const st = wide[s]!;
          const v = (BigInt(nhOut[s * 2]!) << 32n) | BigInt(nhOut[s * 2 + 1]!);
          if (st.half === null) st.half = v;
          else {
            st.y = poly128Step(st.y, st.k, (st.half << 64n) | v);
            st.half = null;
          }
        }
      }
    }
    // Leave no message bytes behind in the scratch buffer.
    if (dirty > 0) this.chunkBytes.fill(0, 0, dirty);

    for (let s = 0; s < streams; s++) {
      let w3 = 0;
      let w2 = 0;
      let w1: number;
      let w0: number;
      if (chunks === 1) {
        w1 = nhOut[s * 2]!;
        w0 = nhOut[s * 2 + 1]!;
      } else if (wide === null) {
        w1 = poly[s * 2]!;
        w0 = poly[s * 2 + 1]!;
      } else {
        // Close the 128-bit input with 0x80 and zero padding to a whole 16-byte word.
        const st = wide[s]!;
        const y = poly128Step(st.y, st.k, st.half === null ? 0x80n << 120n : (st.half << 64n) | (0x80n << 56n));
        w3 = Number((y >> 96n) & 0xffffffffn);
        w2 = Number((y >> 64n) & 0xffffffffn);
        w1 = Number((y >> 32n) & 0xffffffffn);
        w0 = Number(y & 0xffffffffn);
      }
      const v = l3(w3, w2, w1, w0, this.l3Key1, s * 8, this.l3Key2[s]!);
      const o = s * 4;
      const p = padOff + o;
      out[o] = (v >>> 24) ^ pad[p]!;
      out[o + 1] = ((v >>> 16) & 0xff) ^ pad[p + 1]!;
      out[o + 2] = ((v >>> 8) & 0xff) ^ pad[p + 2]!;
      out[o + 3] = (v & 0xff) ^ pad[p + 3]!;
    }
  }

  /**
   * PDF (RFC 4418 §3.3): AES under the derived key of the zero-padded nonce,
   * whose low bit (8-byte tags) picks which half of the block is the pad.
   * Returns the buffer holding the pad and sets `pdfOffset` to where it starts.
   *
   * One cipher.update call costs far more than the AES inside it, and SSH
   * nonces are consecutive sequence numbers, so a miss encrypts the blocks for
   * the next few nonces too (same leading bytes, rising last byte).
   */
  private pdf(nonce: Uint8Array): Uint8Array {
    const nLen = nonce.length;
    if (nLen < 1 || nLen > 16) throw new ProtocolError(`UMAC nonce must be 1 to 16 bytes, got ${nLen}`);
    const step = this.tagLength === 8 ? 2 : 1;
    const index = this.tagLength === 8 ? nonce[nLen - 1]! & 1 : 0;
    const last = nonce[nLen - 1]! ^ index;
    const base = this.pdfBase;
    let hit = this.pdfCount > 0 && this.pdfNonceLength === nLen && last >= base[nLen - 1]!;
    for (let i = 0; hit && i < nLen - 1; i++) if (base[i] !== nonce[i]) hit = false;
    let slot = hit ? (last - base[nLen - 1]!) / step : 0;
    if (!hit || slot >= this.pdfCount) {
      const count = Math.min(PDF_BATCH, Math.floor((255 - last) / step) + 1);
      const input = new Uint8Array(count * 16);
      for (let j = 0; j < count; j++) {
        input.set(nonce, j * 16);
        input[j * 16 + nLen - 1] = last + j * step;
      }
      base.set(input.subarray(0, 16));
      this.pdfNonceLength = nLen;
      this.pdfCount = count;
      this.pdfBlocks = new Uint8Array(this.pdfAes.update(input));
      slot = 0;
    }
    this.pdfOffset = slot * 16 + index * this.tagLength;
    return this.pdfBlocks;
  }
}
