// Private key files: OpenSSH's own format (PROTOCOL.key), plain or encrypted
// with a bcrypt_pbkdf-derived key, and PEM/PKCS#8 through node:crypto
// (pem.ts). Every problem with a file is a KeyFileError that says what is wrong.
import { createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { ProtocolError } from '../errors.js';
import { constantTimeEqual } from '../wire/bytes.js';
import { Reader } from '../wire/reader.js';
import { ECDSA_CURVES, checkPublicKey, encodePublicKey, RSA_MAX_BITS, RSA_MIN_BITS, sshKeyType, type PublicKeyType } from './blob.js';
import { bytesToBigint } from '../crypto/dh.js';
import { decryptSection, deriveKey, keyFileCipher, WRONG_PASSPHRASE } from './key-ciphers.js';
import { b64url } from '../crypto/base64url.js';
import { signerFromKeyObject, type KeySigner } from './signer.js';
import { parsePpkPrivateKey } from './ppk.js';
import { KeyFileError, loadPemPrivateKey, MAX_KEY_FILE_BYTES, sniffKeyFile, type KeyFileFormat } from './pem.js';
import { importPrivateJwk, importRsaPrivateKey } from './private-parts.js';

const MAGIC = 'openssh-key-v1\0';
const BEGIN = '-----BEGIN OPENSSH PRIVATE KEY-----';
const END = '-----END OPENSSH PRIVATE KEY-----';
export { MAX_KDF_ROUNDS } from './key-ciphers.js';

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

function fixed(b: Uint8Array, n: number): Uint8Array {
  if (b.length > n) throw malformed('private key: a value is longer than its field');
  const out = new Uint8Array(n);
  out.set(b, n - b.length);
  return out;
}

function decodeArmor(text: string): Uint8Array {
  const start = text.indexOf(BEGIN);
  const end = text.indexOf(END);
  if (start < 0 || end < start) throw new KeyFileError('truncated key file: missing OpenSSH BEGIN/END lines', 'truncated');
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
    return importPrivateJwk({ kty: 'OKP', crv: 'Ed25519', d: b64url(secret.subarray(0, 32)), x: b64url(pub) }, 'Ed25519 key');
  }
  if (type === 'ssh-rsa') {
    const n = r.mpintBytes('RSA n', 2049);
    const e = r.mpintBytes('RSA e', 2049);
    const d = r.mpintBytes('RSA d', 2049);
    const iqmp = r.mpintBytes('RSA iqmp', 2049);
    const p = r.mpintBytes('RSA p', 2049);
    const q = r.mpintBytes('RSA q', 2049);
    if (bytesToBigint(p) < 3n || bytesToBigint(q) < 3n) throw malformed('private key: RSA primes are missing');
    return importRsaPrivateKey({ n: b64url(n), e: b64url(e), d, p, q, iqmp });
  }
  const curve = ECDSA_CURVES[type];
  if (curve) {
    const id = r.text('curve identifier', 64);
    const point = r.string('EC public point', 256);
    const d = r.mpintBytes('EC private scalar', 128);
    if (id !== curve.id) throw malformed(`private key: ${type} key names curve ${id}`);
    if (point.length !== 1 + 2 * curve.fieldBytes || point[0] !== 0x04) throw malformed('private key: EC point is not uncompressed');
    return importPrivateJwk(
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
  throw new KeyFileError(`unknown key type ${JSON.stringify(type)}`, 'unknown-key-type');
}

export function passphraseBytes(passphrase: string | Uint8Array | undefined): Uint8Array | undefined {
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
  if (Buffer.from(magic).toString('latin1') !== MAGIC) {
    if (data.length < MAGIC.length && MAGIC.startsWith(Buffer.from(magic).toString('latin1'))) {
      throw new KeyFileError('truncated key file (it ends inside the openssh-key-v1 magic)', 'truncated');
    }
    throw malformed('corrupt key file: not an openssh-key-v1 file');
  }
  const cipherName = r.text('cipher name', 64);
  const kdf = r.text('KDF name', 64);
  const kdfOptions = r.string('KDF options', 1024);
  const count = r.uint32('key count');
  const cipher = keyFileCipher(cipherName);
  if (!cipher) throw new KeyFileError(`unsupported cipher ${JSON.stringify(cipherName)}`, 'unsupported-cipher');
  if (cipherName === 'none' ? kdf !== 'none' : kdf !== 'bcrypt') {
    throw new KeyFileError(`unsupported KDF ${JSON.stringify(kdf)} for cipher ${cipherName}`, 'unsupported-kdf');
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
    if (/runs past the end/.test(message)) return new KeyFileError(`truncated key file (${message})`, 'truncated', { cause: err });
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

/**
 * The public key an openssh-key-v1 file carries in its clear header, read
 * without the passphrase (what `ssh-keygen -l` shows for an encrypted key
 * with no .pub beside it; the comment is inside the encrypted part). The
 * header is not authenticated by the encryption: trust it as much as a .pub.
 * A KeyFileError when the text is not such a file or the key is malformed.
 */
export function openSshPublicKeyFromPrivate(text: string): Uint8Array {
  try {
    if (text.length > MAX_KEY_FILE_BYTES) throw new KeyFileError('not a private key file (larger than 1 MiB)', 'too-large');
    if (sniffKeyFile(text).format !== 'openssh') throw new KeyFileError('not an openssh-key-v1 private key file', 'not-a-private-key');
    const data = decodeArmor(text);
    const r = new Reader(data, 0, 'OpenSSH private key');
    if (Buffer.from(r.raw(Math.min(MAGIC.length, data.length), 'magic')).toString('latin1') !== MAGIC) throw malformed('corrupt key file: not an openssh-key-v1 file');
    r.text('cipher name', 64);
    r.text('KDF name', 64);
    r.string('KDF options', 1024);
    const count = r.uint32('key count');
    if (count !== 1) throw new KeyFileError(`key file holds ${count} keys; exactly one is supported`, 'unsupported');
    const publicBlob = r.string('public key', 16 * 1024);
    try {
      checkPublicKey(publicBlob);
    } catch (err) {
      throw new KeyFileError(`corrupt key file: the public key in the header is malformed (${err instanceof Error ? err.message : String(err)})`, 'malformed', { cause: err });
    }
    return publicBlob.slice();
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
    throw new KeyFileError(`unknown key type (${err instanceof Error ? err.message : String(err)})`, 'unknown-key-type', { cause: err });
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
    if (file.length > MAX_KEY_FILE_BYTES) throw new KeyFileError('not a private key file (larger than 1 MiB)', 'too-large');
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
