// AES-GCM as SSH uses it (RFC 5647, with OpenSSH's PROTOCOL changes: the
// `@openssh.com` names let the cipher decide the MAC instead of negotiating
// one). The 4-byte packet length travels in clear and is authenticated as AAD;
// everything after it is encrypted; the 16-byte tag follows.
//
// Nonce: 4-byte fixed field || 8-byte invocation counter, both taken from the
// derived IV. The counter is a 64-bit big-endian integer bumped after every
// packet (it wraps modulo 2^64). The transport's sequence number is not part of
// the nonce, so `seq` is unused here; each direction's counter advances in step
// with its packets.
import { createCipheriv, createDecipheriv, createSecretKey, type KeyObject } from 'node:crypto';
import { MacError, ProtocolError } from '../../errors.js';
import type { AeadPacketCipher, CipherAlgorithm } from '../types.js';

const BLOCK = 16;
const TAG = 16;
const IV_LENGTH = 12;
/** RFC 4253 §6.1 asks for at least 35000-byte packets; anything past this is an attack or a bug. */
const MAX_PACKET_LENGTH = 256 * 1024;

type GcmName = 'aes-128-gcm' | 'aes-256-gcm';

function toBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

function readLength(bytes: Uint8Array): number {
  // `>>> 0` keeps lengths with the top bit set positive so they fail the range checks.
  return ((bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!) >>> 0;
}

/** Checks a packet_length against GCM's framing: whole blocks, room for the minimum padding. */
function checkPacketLength(length: number): void {
  if (length < BLOCK || length % BLOCK !== 0 || length > MAX_PACKET_LENGTH) {
    throw new ProtocolError(`invalid AES-GCM packet length ${length}`);
  }
}

class AesGcmPacketCipher implements AeadPacketCipher {
  readonly kind = 'aead' as const;
  readonly blockSize = BLOCK;
  readonly tagLength = TAG;
  readonly #algorithm: GcmName;
  readonly #key: KeyObject;
  // Reused for every packet: createCipheriv copies the nonce into OpenSSL's
  // context, so bumping the counter afterwards cannot affect a live cipher.
  readonly #nonce: Buffer;
  readonly #encrypt: boolean;

  constructor(algorithm: GcmName, key: Uint8Array, iv: Uint8Array, encrypt: boolean) {
    this.#algorithm = algorithm;
    // A KeyObject avoids re-validating and copying raw key bytes on every packet.
    this.#key = createSecretKey(Buffer.from(key));
    // Memory of its own: `Buffer.from` of 12 bytes would be a slice of Node's
    // shared 8 KiB pool, kept alive by this nonce for the connection's lifetime.
    this.#nonce = Buffer.alloc(IV_LENGTH);
    this.#nonce.set(iv);
    this.#encrypt = encrypt;
  }

  seal(seq: number, packet: Uint8Array): Uint8Array {
    const [head, body, tag] = this.sealParts(seq, packet) as [Buffer, Buffer, Buffer];
    const out = Buffer.allocUnsafe(packet.length + TAG);
    out.set(head, 0);
    out.set(body, 4);
    out.set(tag, packet.length);
    return out;
  }

  /** `seal` without assembling: length (a copy), ciphertext and tag as they come from OpenSSL. */
  sealParts(_seq: number, packet: Uint8Array): readonly Uint8Array[] {
    if (!this.#encrypt) throw new ProtocolError('AES-GCM: seal called on a decrypting cipher');
    const length = packet.length - 4;
    if (length < 0 || readLength(packet) !== length) {
      throw new ProtocolError('AES-GCM: packet length field does not match the packet');
    }
    checkPacketLength(length);
    const input = toBuffer(packet);
    const cipher = createCipheriv(this.#algorithm, this.#key, this.#nonce, { authTagLength: TAG });
    // The caller may reuse `packet` once we return, so the length bytes are copied.
    const head = Buffer.from(input.subarray(0, 4));
    cipher.setAAD(head);
    const body = cipher.update(input.subarray(4));
    cipher.final();
    const tag = cipher.getAuthTag();
    this.#bumpCounter();
    return [head, body, tag];
  }

  peekLength(_seq: number, head: Uint8Array): number {
    if (head.length < 4) throw new ProtocolError('AES-GCM: need 4 bytes to read the packet length');
    const length = readLength(head);
    // Checked here already so the transport never waits for a packet that can only fail.
    checkPacketLength(length);
    return length;
  }

  open(seq: number, wire: Uint8Array): Uint8Array {
    const body = this.openBody(seq, wire);
    const out = Buffer.allocUnsafe(4 + body.length);
    out.set(wire.subarray(0, 4), 0);
    out.set(body, 4);
    return out;
  }

  /** `open` without the length field in front: OpenSSL's output as it is. */
  openBody(_seq: number, wire: Uint8Array): Uint8Array {
    if (this.#encrypt) throw new ProtocolError('AES-GCM: open called on an encrypting cipher');
    if (wire.length < 4 + BLOCK + TAG) throw new ProtocolError(`AES-GCM: packet too short (${wire.length} bytes)`);
    const length = readLength(wire);
    checkPacketLength(length);
    if (wire.length !== 4 + length + TAG) {
      throw new ProtocolError(`AES-GCM: got ${wire.length} bytes for a packet of length ${length}`);
    }
    const input = toBuffer(wire);
    const decipher = createDecipheriv(this.#algorithm, this.#key, this.#nonce, { authTagLength: TAG });
    decipher.setAAD(input.subarray(0, 4));
    decipher.setAuthTag(input.subarray(4 + length));
    const body = decipher.update(input.subarray(4, 4 + length));
    try {
      decipher.final();
    } catch {
      // OpenSSL reports a bad tag only as a generic failure from final().
      throw new MacError();
    }
    // Only a verified packet consumes a nonce; after a MacError the connection is over anyway.
    this.#bumpCounter();
    return body;
  }

  #bumpCounter(): void {
    const n = this.#nonce;
    for (let i = IV_LENGTH - 1; i >= 4; i--) {
      n[i] = (n[i]! + 1) & 0xff;
      if (n[i] !== 0) return;
    }
  }
}

function gcm(name: string, algorithm: GcmName, keyLength: number): CipherAlgorithm {
  return {
    name,
    secure: true,
    keyLength,
    ivLength: IV_LENGTH,
    blockSize: BLOCK,
    aead: true,
    create(key, iv, direction) {
      if (key.length !== keyLength) throw new ProtocolError(`${name}: key must be ${keyLength} bytes, got ${key.length}`);
      if (iv.length !== IV_LENGTH) throw new ProtocolError(`${name}: IV must be ${IV_LENGTH} bytes, got ${iv.length}`);
      return new AesGcmPacketCipher(algorithm, key, iv, direction === 'encrypt');
    },
  };
}

export const aes128Gcm: CipherAlgorithm = gcm('aes128-gcm@openssh.com', 'aes-128-gcm', 16);
export const aes256Gcm: CipherAlgorithm = gcm('aes256-gcm@openssh.com', 'aes-256-gcm', 32);
