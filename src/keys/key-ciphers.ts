// The ciphers and the KDF of OpenSSH's private key files (PROTOCOL.key),
// both ways. ssh-keygen derives key || IV with bcrypt_pbkdf from the
// passphrase and a 16-byte salt, then encrypts the private section once as
// the transport would encrypt a packet with sequence number 0 and no
// additional data: AES-GCM with the derived 12-byte IV, or
// chacha20-poly1305@openssh.com with only its payload half (counter 1, nonce
// 0) and a Poly1305 tag over the ciphertext alone.
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { createRequire } from 'node:module';
import type BcryptPbkdf from 'bcrypt-pbkdf';
import { constantTimeEqual } from '../wire/bytes.js';
import { Reader } from '../wire/reader.js';
import { Writer } from '../wire/writer.js';
import { poly1305 } from '../crypto/poly1305.js';
import { KeyFileError } from './pem.js';

/**
 * The JS bcrypt_pbkdf takes about 20 ms per round; ssh-keygen 10 writes 24.
 * The round count comes from the file, so it is capped to keep a hostile file
 * from stalling the process for hours.
 */
export const MAX_KDF_ROUNDS = 1024;
/** What ssh-keygen (OpenSSH 10) writes when not given `-a`. */
export const DEFAULT_KDF_ROUNDS = 24;
/** ssh-keygen's salt length. */
export const KDF_SALT_BYTES = 16;
/** ssh-keygen's default `-Z`. */
export const DEFAULT_KEY_FILE_CIPHER = 'aes256-ctr';

export interface KeyFileCipher {
  readonly keyLength: number;
  readonly ivLength: number;
  /** The private section is padded to this. */
  readonly blockSize: number;
  /** AEAD tag bytes, stored after the encrypted section. */
  readonly tagLength: number;
  readonly mode: 'none' | 'plain' | 'gcm' | 'chacha';
  readonly openssl: string;
}

function cipherSpec(keyLength: number, ivLength: number, blockSize: number, tagLength: number, mode: KeyFileCipher['mode'], openssl: string): KeyFileCipher {
  return Object.freeze({ keyLength, ivLength, blockSize, tagLength, mode, openssl });
}

/** The ciphers OpenSSH reads and writes in key files (`ssh -Q cipher`); `none` is the unencrypted file. */
const KEY_FILE_CIPHERS: Readonly<Record<string, KeyFileCipher>> = {
  none: cipherSpec(0, 0, 8, 0, 'none', ''),
  'aes128-ctr': cipherSpec(16, 16, 16, 0, 'plain', 'aes-128-ctr'),
  'aes192-ctr': cipherSpec(24, 16, 16, 0, 'plain', 'aes-192-ctr'),
  'aes256-ctr': cipherSpec(32, 16, 16, 0, 'plain', 'aes-256-ctr'),
  'aes128-cbc': cipherSpec(16, 16, 16, 0, 'plain', 'aes-128-cbc'),
  'aes192-cbc': cipherSpec(24, 16, 16, 0, 'plain', 'aes-192-cbc'),
  'aes256-cbc': cipherSpec(32, 16, 16, 0, 'plain', 'aes-256-cbc'),
  '3des-cbc': cipherSpec(24, 8, 8, 0, 'plain', 'des-ede3-cbc'),
  'aes128-gcm@openssh.com': cipherSpec(16, 12, 16, 16, 'gcm', 'aes-128-gcm'),
  'aes256-gcm@openssh.com': cipherSpec(32, 12, 16, 16, 'gcm', 'aes-256-gcm'),
  'chacha20-poly1305@openssh.com': cipherSpec(64, 0, 8, 16, 'chacha', 'chacha20'),
};

/** The cipher names a key file may name, `none` excluded. */
export const KEY_FILE_CIPHER_NAMES: readonly string[] = Object.freeze(Object.keys(KEY_FILE_CIPHERS).filter((n) => n !== 'none'));

export function keyFileCipher(name: string): KeyFileCipher | undefined {
  return Object.hasOwn(KEY_FILE_CIPHERS, name) ? KEY_FILE_CIPHERS[name] : undefined;
}

export const WRONG_PASSPHRASE = 'wrong passphrase (check bytes do not match)';
const WRONG_PASSPHRASE_TAG = 'wrong passphrase (authentication tag does not match)';

function checkRounds(rounds: number): void {
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > MAX_KDF_ROUNDS) {
    // More rounds than the cap is a cost we refuse to pay; fewer than one is no KDF we know.
    const problem = Number.isInteger(rounds) && rounds > MAX_KDF_ROUNDS ? 'kdf-too-costly' : 'unsupported-kdf';
    throw new KeyFileError(`bcrypt KDF rounds ${rounds} are outside 1..${MAX_KDF_ROUNDS} (Nacre's cap on key file work)`, problem);
  }
}

// Loaded on first use: only encrypted openssh-key-v1 files need it, and its
// import (with tweetnacl) costs a tool ~20 ms at every start.
let bcryptPbkdf: typeof BcryptPbkdf | undefined;

function bcrypt(passphrase: Uint8Array, salt: Uint8Array, rounds: number, length: number): Uint8Array {
  bcryptPbkdf ??= createRequire(import.meta.url)('bcrypt-pbkdf') as typeof BcryptPbkdf;
  const out = new Uint8Array(length);
  if (bcryptPbkdf.pbkdf(passphrase, passphrase.length, salt, salt.length, out, length, rounds) !== 0) {
    throw new KeyFileError('bcrypt KDF refused its parameters', 'malformed');
  }
  return out;
}

/** Reads the bcrypt KDF options (salt, rounds) and derives `length` bytes, refusing round counts over the cap before any work. */
export function deriveKey(passphrase: Uint8Array, kdfOptions: Uint8Array, length: number): Uint8Array {
  const r = new Reader(kdfOptions, 0, 'bcrypt KDF options');
  const salt = r.string('salt', 1024);
  const rounds = r.uint32('rounds');
  r.end();
  if (salt.length === 0) throw new KeyFileError('corrupt key file: the bcrypt salt is empty', 'malformed');
  checkRounds(rounds);
  return bcrypt(passphrase, salt, rounds, length);
}

/** The bcrypt KDF options field for a new file, and the key || IV it derives. */
export function newKdf(passphrase: Uint8Array, salt: Uint8Array, rounds: number, length: number): { options: Uint8Array; derived: Uint8Array } {
  checkRounds(rounds);
  return { options: new Writer().string(salt).uint32(rounds).finish(), derived: bcrypt(passphrase, salt, rounds, length) };
}

/** The Poly1305 key and the payload cipher of chacha20-poly1305@openssh.com at sequence number 0. */
function chachaParts(key: Uint8Array): { polyKey: Uint8Array; payloadIv: Uint8Array; mainKey: Uint8Array } {
  const mainKey = key.subarray(0, 32);
  const iv = new Uint8Array(16); // block counter 0, nonce (the sequence number) 0
  const polyKey = new Uint8Array(createCipheriv('chacha20', mainKey, iv).update(new Uint8Array(32)));
  const payloadIv = new Uint8Array(16);
  payloadIv[0] = 1; // the payload starts at block counter 1
  return { polyKey, payloadIv, mainKey };
}

/** Decrypts a private section; a failed tag is a wrong passphrase. */
export function decryptSection(cipher: KeyFileCipher, derived: Uint8Array, sealed: Uint8Array, tag: Uint8Array): Uint8Array {
  const key = derived.subarray(0, cipher.keyLength);
  const iv = derived.subarray(cipher.keyLength);
  if (cipher.mode === 'chacha') {
    const { polyKey, payloadIv, mainKey } = chachaParts(key);
    if (!constantTimeEqual(poly1305(polyKey, sealed), tag)) throw new KeyFileError(WRONG_PASSPHRASE_TAG, 'wrong-passphrase');
    return new Uint8Array(createDecipheriv('chacha20', mainKey, payloadIv).update(sealed));
  }
  if (cipher.mode === 'gcm') {
    const d = createDecipheriv(cipher.openssl as 'aes-256-gcm', key, iv, { authTagLength: 16 });
    d.setAuthTag(tag);
    const head = d.update(sealed);
    try {
      return new Uint8Array(Buffer.concat([head, d.final()]));
    } catch (err) {
      throw new KeyFileError(WRONG_PASSPHRASE_TAG, 'wrong-passphrase', { cause: err });
    }
  }
  const d = createDecipheriv(cipher.openssl, key, iv).setAutoPadding(false);
  return new Uint8Array(Buffer.concat([d.update(sealed), d.final()]));
}

/** Encrypts a padded private section; returns the ciphertext and the tag (empty for non-AEAD ciphers). */
export function encryptSection(cipher: KeyFileCipher, derived: Uint8Array, section: Uint8Array): { sealed: Uint8Array; tag: Uint8Array } {
  const key = derived.subarray(0, cipher.keyLength);
  const iv = derived.subarray(cipher.keyLength);
  if (cipher.mode === 'chacha') {
    const { polyKey, payloadIv, mainKey } = chachaParts(key);
    const sealed = new Uint8Array(createCipheriv('chacha20', mainKey, payloadIv).update(section));
    return { sealed, tag: poly1305(polyKey, sealed) };
  }
  if (cipher.mode === 'gcm') {
    const c = createCipheriv(cipher.openssl as 'aes-256-gcm', key, iv, { authTagLength: 16 });
    const sealed = new Uint8Array(Buffer.concat([c.update(section), c.final()]));
    return { sealed, tag: new Uint8Array(c.getAuthTag()) };
  }
  const c = createCipheriv(cipher.openssl, key, iv).setAutoPadding(false);
  return { sealed: new Uint8Array(Buffer.concat([c.update(section), c.final()])), tag: new Uint8Array(0) };
}
