// Private key files: OpenSSH's own format (PROTOCOL.key), plain or encrypted
// with a bcrypt_pbkdf-derived key, and PEM/PKCS#8 through node:crypto
// (pem.ts). Every problem with a file is a KeyFileError that says what is wrong.
import { createDecipheriv, createPrivateKey, createPublicKey, sign, verify, type JsonWebKey, type KeyObject } from 'node:crypto';
import bcryptPbkdf from 'bcrypt-pbkdf';
import { ProtocolError } from '../errors.js';
import { constantTimeEqual } from '../wire/bytes.js';
import { Reader } from '../wire/reader.js';
import { ECDSA_CURVES, encodePublicKey, RSA_MAX_BITS, RSA_MIN_BITS, sshKeyType, type PublicKeyType } from './blob.js';
import { bytesToBigint, bigintToBytes } from '../crypto/dh.js';
import { poly1305 } from '../crypto/poly1305.js';
import { b64url } from '../crypto/base64url.js';
import { signerFromKeyObject, type KeySigner } from './signer.js';
import { parsePpkPrivateKey } from './ppk.js';
import { KeyFileError, loadPemPrivateKey, MAX_KEY_FILE_BYTES, sniffKeyFile, type KeyFileFormat } from './pem.js';

const MAGIC = 'openssh-key-v1\0';
const BEGIN = '-----BEGIN OPENSSH PRIVATE KEY-----';
const END = '-----END OPENSSH PRIVATE KEY-----';
/**
 * The JS bcrypt_pbkdf takes about 20 ms per round; ssh-keygen's default is 16.
 * The round count comes from the file, so it is capped to keep a hostile file
 * from stalling the process for hours.
 */
export const MAX_KDF_ROUNDS = 1024;

export interface LoadedPrivateKey {
  readonly keyObject: KeyObject;
  readonly comment: string;
  readonly keyType: PublicKeyType;
  readonly publicBlob: Uint8Array;
  readonly format: KeyFileFormat;
  readonly encrypted: boolean;
}

function malformed(detail: string): KeyFileError {
  return new KeyFileError(detail, 'malformed');
}

function importPrivate(jwk: JsonWebKey, what: string): KeyObject {
  try {
    return createPrivateKey({ key: jwk, format: 'jwk' });
  } catch (err) {
    throw new KeyFileError(`${what}: the key values are inconsistent`, 'malformed', { cause: err });
  }
}

function fixed(b: Uint8Array, n: number): Uint8Array {
  if (b.length > n) throw malformed('private key: a value is longer than its field');
  const out = new Uint8Array(n);
  out.set(b, n - b.length);
  return out;
}

function decodeArmor(text: string): Uint8Array {
  const start = text.indexOf(BEGIN);
  const end = text.indexOf(END);
  if (start < 0 || end < start) throw malformed('truncated key file: missing OpenSSH BEGIN/END lines');
  const body = text.slice(start + BEGIN.length, end).replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body)) throw malformed('corrupt key file: the body is not base64');
  return new Uint8Array(Buffer.from(body, 'base64'));
}

/** Reads one key's private fields (after its type name) into a KeyObject. */
function readPrivateFields(r: Reader, type: string): KeyObject {
  if (type === 'ssh-ed25519') {
    const pub = r.string('Ed25519 public key', 64);
    const secret = r.string('Ed25519 secret key', 128);
    // the 64-byte secret is seed || public key
    if (pub.length !== 32 || secret.length !== 64) throw malformed('private key: Ed25519 key has the wrong length');
    if (!constantTimeEqual(secret.subarray(32), pub)) throw malformed('private key: Ed25519 secret and public halves disagree');
    return importPrivate({ kty: 'OKP', crv: 'Ed25519', d: b64url(secret.subarray(0, 32)), x: b64url(pub) }, 'Ed25519 key');
  }
  if (type === 'ssh-rsa') {
    const n = r.mpintBytes('RSA n', 2049);
    const e = r.mpintBytes('RSA e', 2049);
    const d = r.mpintBytes('RSA d', 2049);
    const iqmp = r.mpintBytes('RSA iqmp', 2049);
    const p = r.mpintBytes('RSA p', 2049);
    const q = r.mpintBytes('RSA q', 2049);
    const D = bytesToBigint(d);
    const P = bytesToBigint(p);
    const Q = bytesToBigint(q);
    if (P < 3n || Q < 3n) throw malformed('private key: RSA primes are missing');
    return importPrivate(
      {
        kty: 'RSA',
        n: b64url(n),
        e: b64url(e),
        d: b64url(d),
        p: b64url(p),
        q: b64url(q),
        dp: b64url(bigintToBytes(D % (P - 1n))),
        dq: b64url(bigintToBytes(D % (Q - 1n))),
        qi: b64url(iqmp),
      },
      'RSA key',
    );
  }
  const curve = ECDSA_CURVES[type];
  if (curve) {
    const id = r.text('curve identifier', 64);
    const point = r.string('EC public point', 256);
    const d = r.mpintBytes('EC private scalar', 128);
    if (id !== curve.id) throw malformed(`private key: ${type} key names curve ${id}`);
    if (point.length !== 1 + 2 * curve.fieldBytes || point[0] !== 0x04) throw malformed('private key: EC point is not uncompressed');
    return importPrivate(
      {
        kty: 'EC',
        crv: curve.jwk,
        x: b64url(point.subarray(1, 1 + curve.fieldBytes)),
        y: b64url(point.subarray(1 + curve.fieldBytes)),
        d: b64url(fixed(d, curve.fieldBytes)),
      },
      `${type} key`,
    );
  }
  throw new KeyFileError(`unsupported key type ${JSON.stringify(type)}`, 'unsupported');
}

// ------------------------------------------------------------------ encryption

interface KeyFileCipher {
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
  return { keyLength, ivLength, blockSize, tagLength, mode, openssl };
}

/** The ciphers ssh-keygen -Z accepts; aes256-ctr is its default. */
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

const WRONG_PASSPHRASE = 'wrong passphrase (check bytes do not match)';
const WRONG_PASSPHRASE_TAG = 'wrong passphrase (authentication tag does not match)';

function deriveKey(passphrase: Uint8Array, kdfOptions: Uint8Array, length: number): Uint8Array {
  const r = new Reader(kdfOptions, 0, 'bcrypt KDF options');
  const salt = r.string('salt', 1024);
  const rounds = r.uint32('rounds');
  r.end();
  if (salt.length === 0) throw malformed('corrupt key file: the bcrypt salt is empty');
  if (rounds < 1 || rounds > MAX_KDF_ROUNDS) throw new KeyFileError(`bcrypt KDF rounds ${rounds} are outside 1..${MAX_KDF_ROUNDS}`, 'unsupported');
  const out = new Uint8Array(length);
  if (bcryptPbkdf.pbkdf(passphrase, passphrase.length, salt, salt.length, out, length, rounds) !== 0) {
    throw malformed('bcrypt KDF refused its parameters');
  }
  return out;
}

/** chacha20-poly1305@openssh.com with sequence number 0 and no length field, as ssh-keygen uses it. */
function openChaCha(key: Uint8Array, sealed: Uint8Array, tag: Uint8Array): Uint8Array {
  const mainKey = key.subarray(0, 32);
  const iv = new Uint8Array(16); // block counter 0, nonce 0
  const polyKey = createDecipheriv('chacha20', mainKey, iv).update(new Uint8Array(32));
  if (!constantTimeEqual(poly1305(polyKey, sealed), tag)) throw new KeyFileError(WRONG_PASSPHRASE_TAG, 'wrong-passphrase');
  iv[0] = 1;
  return new Uint8Array(createDecipheriv('chacha20', mainKey, iv).update(sealed));
}

function decryptSection(cipher: KeyFileCipher, derived: Uint8Array, sealed: Uint8Array, tag: Uint8Array): Uint8Array {
  const key = derived.subarray(0, cipher.keyLength);
  const iv = derived.subarray(cipher.keyLength);
  if (cipher.mode === 'chacha') return openChaCha(key, sealed, tag);
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

function passphraseBytes(passphrase: string | Uint8Array | undefined): Uint8Array | undefined {
  if (passphrase === undefined) return undefined;
  if (typeof passphrase === 'string') return new Uint8Array(Buffer.from(passphrase, 'utf8'));
  if (passphrase instanceof Uint8Array) return passphrase;
  // A number or other value (a PIN read from JSON) would otherwise reach
  // OpenSSL, whose error message quotes it.
  throw new KeyFileError(`a passphrase must be a string or a Uint8Array, not ${passphrase === null ? 'null' : typeof passphrase}`, 'unsupported');
}

// ------------------------------------------------------------------ the OpenSSH format

function parseOpenSsh(text: string, passphrase: Uint8Array | undefined): LoadedPrivateKey {
  const data = decodeArmor(text);
  const r = new Reader(data, 0, 'OpenSSH private key');
  const magic = r.raw(Math.min(MAGIC.length, data.length), 'magic');
  if (Buffer.from(magic).toString('latin1') !== MAGIC) throw malformed('corrupt key file: not an openssh-key-v1 file');
  const cipherName = r.text('cipher name', 64);
  const kdf = r.text('KDF name', 64);
  const kdfOptions = r.string('KDF options', 1024);
  const count = r.uint32('key count');
  const cipher = KEY_FILE_CIPHERS[cipherName];
  if (!cipher) throw new KeyFileError(`unsupported cipher ${JSON.stringify(cipherName)}`, 'unsupported');
  if (cipherName === 'none' ? kdf !== 'none' : kdf !== 'bcrypt') {
    throw new KeyFileError(`unsupported KDF ${JSON.stringify(kdf)} for cipher ${cipherName}`, 'unsupported');
  }
  if (count !== 1) throw new KeyFileError(`key file holds ${count} keys; exactly one is supported`, 'unsupported');
  const publicBlob = r.string('public key', 16 * 1024);
  const sealed = r.string('private section', 64 * 1024);
  const tag = r.raw(cipher.tagLength, 'authentication tag');
  r.end();
  if (sealed.length % cipher.blockSize !== 0) throw malformed('corrupt key file: the private section is not a multiple of the block size');

  let section = sealed;
  if (cipher.mode !== 'none') {
    if (passphrase === undefined || passphrase.length === 0) throw new KeyFileError('encrypted key: a passphrase is required', 'passphrase-required');
    section = decryptSection(cipher, deriveKey(passphrase, kdfOptions, cipher.keyLength + cipher.ivLength), sealed, tag);
  }

  const s = new Reader(section, 0, 'OpenSSH private section');
  const check1 = s.uint32('check 1');
  const check2 = s.uint32('check 2');
  if (check1 !== check2) {
    throw cipher.mode === 'none'
      ? malformed('corrupt key file (check bytes do not match)')
      : new KeyFileError(WRONG_PASSPHRASE, 'wrong-passphrase');
  }
  const type = s.text('key type', 256);
  const keyObject = readPrivateFields(s, type);
  const comment = s.text('comment', 16 * 1024);
  const padding = s.rest();
  for (let i = 0; i < padding.length; i++) {
    if (padding[i] !== i + 1) throw malformed('corrupt key file: bad padding after the key');
  }
  const derivedBlob = encodePublicKey(keyObject);
  if (!constantTimeEqual(derivedBlob, publicBlob)) {
    throw malformed('corrupt key file: the public key in the header does not match the private key');
  }
  return { keyObject, comment, keyType: checkUsable(keyObject), publicBlob: derivedBlob, format: 'openssh', encrypted: cipher.mode !== 'none' };
}

/** Reader and node:crypto failures become KeyFileError; ours pass through. */
function asKeyFileError(err: unknown): KeyFileError {
  if (err instanceof KeyFileError) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof ProtocolError) {
    if (/runs past the end/.test(message)) return new KeyFileError(`truncated key file (${message})`, 'malformed', { cause: err });
    return new KeyFileError(`corrupt key file (${message})`, 'malformed', { cause: err });
  }
  return new KeyFileError(`unreadable key file (${message})`, 'malformed', { cause: err });
}

/** Parses a `-----BEGIN OPENSSH PRIVATE KEY-----` file (PROTOCOL.key), decrypting it with `passphrase` when needed. */
export function parseOpenSshPrivateKey(text: string, passphrase?: string | Uint8Array): LoadedPrivateKey {
  try {
    return parseOpenSsh(text, passphraseBytes(passphrase));
  } catch (err) {
    throw asKeyFileError(err);
  }
}

const SELF_TEST_DATA = new TextEncoder().encode('nacre key file self-test');

/**
 * Signs and verifies once. OpenSSL accepts PKCS#8/PKCS#1 keys whose fields do
 * not belong together (a flipped bit in an RSA modulus still imports), and such
 * a key would only fail later, at the server, as a bad signature.
 */
function selfTest(keyObject: KeyObject, keyType: PublicKeyType): void {
  const hash = keyType === 'ssh-ed25519' ? null : 'sha256';
  let ok: boolean;
  try {
    ok = verify(hash, SELF_TEST_DATA, createPublicKey(keyObject), sign(hash, SELF_TEST_DATA, keyObject));
  } catch (err) {
    throw new KeyFileError('corrupt key file (the key cannot sign)', 'malformed', { cause: err });
  }
  if (!ok) throw new KeyFileError('corrupt key file (the private and public halves do not belong together)', 'malformed');
}

function checkUsable(keyObject: KeyObject): PublicKeyType {
  let keyType: PublicKeyType;
  try {
    keyType = sshKeyType(keyObject);
  } catch (err) {
    throw new KeyFileError(`unsupported key type (${err instanceof Error ? err.message : String(err)})`, 'unsupported', { cause: err });
  }
  if (keyType === 'ssh-rsa') {
    const bits = keyObject.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < RSA_MIN_BITS || bits > RSA_MAX_BITS) throw new KeyFileError(`RSA key of ${bits} bits is outside ${RSA_MIN_BITS}..${RSA_MAX_BITS}`, 'unsupported');
  }
  selfTest(keyObject, keyType);
  return keyType;
}

/**
 * Loads a private key file: OpenSSH format, PEM PKCS#1 / SEC1 / PKCS#8, or
 * PuTTY .ppk (ppk.ts), each possibly passphrase-protected. A passphrase given for an unencrypted
 * file is ignored. Every failure is a KeyFileError.
 */
export function loadPrivateKey(file: string | Uint8Array, passphrase?: string | Uint8Array): LoadedPrivateKey {
  try {
    if (file.length > MAX_KEY_FILE_BYTES) throw new KeyFileError('not a private key file (larger than 1 MiB)', 'not-a-private-key');
    const text = typeof file === 'string' ? file : Buffer.from(file.buffer, file.byteOffset, file.byteLength).toString('utf8');
    const sniffed = sniffKeyFile(text);
    if (sniffed.format === 'openssh') return parseOpenSsh(text, passphraseBytes(passphrase));
    if (sniffed.format === 'ppk') return parsePpkPrivateKey(file, passphrase);
    const { keyObject, encrypted } = loadPemPrivateKey(text, sniffed.label, passphraseBytes(passphrase));
    const keyType = checkUsable(keyObject);
    return { keyObject, comment: '', keyType, publicBlob: encodePublicKey(keyObject), format: sniffed.format, encrypted };
  } catch (err) {
    throw asKeyFileError(err);
  }
}

/** Wraps the key in a file's contents (as loadPrivateKey reads them) as a signer. */
export function signerFromPrivateKeyFile(file: string | Uint8Array, passphrase?: string | Uint8Array): KeySigner {
  return signerFromKeyObject(loadPrivateKey(file, passphrase).keyObject);
}

/** The earlier name of signerFromPrivateKeyFile; it always accepted PEM as well. */
export function signerFromOpenSshPrivateKey(file: string | Uint8Array, passphrase?: string | Uint8Array): KeySigner {
  return signerFromPrivateKeyFile(file, passphrase);
}
