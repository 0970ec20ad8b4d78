// AES in counter mode for SSH (RFC 4344 §4): the 16-byte IV is the initial
// counter block, incremented as one 128-bit big-endian integer per block, and
// the key stream runs on across packet boundaries for the life of the keys.
// OpenSSL's CTR mode increments the whole block the same way, so one
// long-lived Cipher object per direction is exactly the SSH construction.
import { createCipheriv, createDecipheriv, type Cipher, type Decipher } from 'node:crypto';
import { ProtocolError } from '../../errors.js';
import type { BlockPacketCipher, CipherAlgorithm } from '../types.js';

export const AES_BLOCK = 16;

/**
 * A chained cipher direction on top of one node:crypto Cipher/Decipher. Shared
 * by CTR and CBC: both keep their state (counter or last ciphertext block)
 * inside the OpenSSL context between update() calls.
 */
export class ChainedBlockCipher implements BlockPacketCipher {
  readonly kind = 'block' as const;
  readonly blockSize = AES_BLOCK;
  readonly #name: string;
  readonly #cipher: Cipher | Decipher;

  constructor(name: string, cipher: Cipher | Decipher) {
    this.#name = name;
    // CBC must not pad (SSH pads packets itself); for CTR this is a no-op.
    cipher.setAutoPadding(false);
    this.#cipher = cipher;
  }

  update(data: Uint8Array): Uint8Array {
    // Unaligned input would make OpenSSL hold back a partial block (CBC) and
    // shift every later packet, so it is refused rather than silently buffered.
    if (data.length % AES_BLOCK !== 0) {
      throw new ProtocolError(`${this.#name}: input of ${data.length} bytes is not a multiple of the block size`);
    }
    if (data.length === 0) return new Uint8Array(0);
    const input = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    return this.#cipher.update(input);
  }
}

export interface AesModeSpec {
  readonly name: string;
  readonly openssl: string;
  readonly keyLength: number;
  readonly secure: boolean;
}

/** A registry entry for a non-AEAD AES mode with a 16-byte IV. */
export function aesBlockAlgorithm(spec: AesModeSpec): CipherAlgorithm {
  const { name, openssl, keyLength, secure } = spec;
  return {
    name,
    secure,
    keyLength,
    ivLength: AES_BLOCK,
    blockSize: AES_BLOCK,
    aead: false,
    create(key, iv, direction) {
      if (key.length !== keyLength) throw new ProtocolError(`${name}: key must be ${keyLength} bytes, got ${key.length}`);
      if (iv.length !== AES_BLOCK) throw new ProtocolError(`${name}: IV must be ${AES_BLOCK} bytes, got ${iv.length}`);
      const k = Buffer.from(key);
      const v = Buffer.from(iv);
      const cipher = direction === 'encrypt' ? createCipheriv(openssl, k, v) : createDecipheriv(openssl, k, v);
      return new ChainedBlockCipher(name, cipher);
    },
  };
}

export const aes128Ctr: CipherAlgorithm = aesBlockAlgorithm({ name: 'aes128-ctr', openssl: 'aes-128-ctr', keyLength: 16, secure: true });
export const aes192Ctr: CipherAlgorithm = aesBlockAlgorithm({ name: 'aes192-ctr', openssl: 'aes-192-ctr', keyLength: 24, secure: true });
export const aes256Ctr: CipherAlgorithm = aesBlockAlgorithm({ name: 'aes256-ctr', openssl: 'aes-256-ctr', keyLength: 32, secure: true });
