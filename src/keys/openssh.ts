// Private key files: OpenSSH's own format (PROTOCOL.key, unencrypted only for
// now) and whatever PEM/PKCS#8 node:crypto reads. Every problem with the file
// is a ProtocolError that says what is wrong.
import { createPrivateKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { ProtocolError } from '../errors.js';
import { constantTimeEqual } from '../wire/bytes.js';
import { Reader } from '../wire/reader.js';
import { b64url, ECDSA_CURVES, encodePublicKey } from './blob.js';
import { bytesToBigint, bigintToBytes } from '../crypto/dh.js';
import { signerFromKeyObject, type KeySigner } from './signer.js';

const MAGIC = 'openssh-key-v1\0';
const BEGIN = '-----BEGIN OPENSSH PRIVATE KEY-----';
const END = '-----END OPENSSH PRIVATE KEY-----';
const MAX_FILE = 1 << 20;

export interface LoadedPrivateKey {
  readonly keyObject: KeyObject;
  readonly comment: string;
}

function importPrivate(jwk: JsonWebKey, what: string): KeyObject {
  try {
    return createPrivateKey({ key: jwk, format: 'jwk' });
  } catch (err) {
    throw new ProtocolError(`${what}: the key values are inconsistent`, undefined, { cause: err });
  }
}

function fixed(b: Uint8Array, n: number): Uint8Array {
  if (b.length > n) throw new ProtocolError('private key: a value is longer than its field');
  const out = new Uint8Array(n);
  out.set(b, n - b.length);
  return out;
}

function decodeArmor(text: string): Uint8Array {
  const start = text.indexOf(BEGIN);
  const end = text.indexOf(END);
  if (start < 0 || end < start) throw new ProtocolError('private key: missing OpenSSH BEGIN/END lines');
  const body = text.slice(start + BEGIN.length, end).replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body)) throw new ProtocolError('private key: body is not base64');
  return new Uint8Array(Buffer.from(body, 'base64'));
}

/** Reads one key's private fields (after its type name) into a KeyObject. */
function readPrivateFields(r: Reader, type: string): KeyObject {
  if (type === 'ssh-ed25519') {
    const pub = r.string('Ed25519 public key', 64);
    const secret = r.string('Ed25519 secret key', 128);
    // the 64-byte secret is seed || public key
    if (pub.length !== 32 || secret.length !== 64) throw new ProtocolError('private key: Ed25519 key has the wrong length');
    if (!constantTimeEqual(secret.subarray(32), pub)) throw new ProtocolError('private key: Ed25519 secret and public halves disagree');
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
    if (P < 3n || Q < 3n) throw new ProtocolError('private key: RSA primes are missing');
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
    if (id !== curve.id) throw new ProtocolError(`private key: ${type} key names curve ${id}`);
    if (point.length !== 1 + 2 * curve.fieldBytes || point[0] !== 0x04) throw new ProtocolError('private key: EC point is not uncompressed');
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
  throw new ProtocolError(`private key: unsupported key type ${JSON.stringify(type)}`);
}

/** Parses an unencrypted `-----BEGIN OPENSSH PRIVATE KEY-----` file (PROTOCOL.key). */
export function parseOpenSshPrivateKey(text: string): LoadedPrivateKey {
  const data = decodeArmor(text);
  const r = new Reader(data, 0, 'OpenSSH private key');
  const magic = r.raw(Math.min(MAGIC.length, data.length), 'magic');
  if (Buffer.from(magic).toString('latin1') !== MAGIC) throw new ProtocolError('private key: not an openssh-key-v1 file');
  const cipher = r.text('cipher name', 64);
  const kdf = r.text('KDF name', 64);
  r.string('KDF options', 1024);
  const count = r.uint32('key count');
  if (cipher !== 'none' || kdf !== 'none') {
    throw new ProtocolError(`private key is encrypted (${cipher}/${kdf}); passphrase-protected keys are not supported yet`);
  }
  if (count !== 1) throw new ProtocolError(`private key file holds ${count} keys; exactly one is supported`);
  const publicBlob = r.string('public key', 16 * 1024);
  const section = r.string('private section', 64 * 1024);
  r.end();
  if (section.length % 8 !== 0) throw new ProtocolError('private key: private section is not a multiple of the block size');
  const s = new Reader(section, 0, 'OpenSSH private section');
  const check1 = s.uint32('check 1');
  const check2 = s.uint32('check 2');
  if (check1 !== check2) throw new ProtocolError('private key: check bytes differ (corrupt file or wrong passphrase)');
  const type = s.text('key type', 256);
  const keyObject = readPrivateFields(s, type);
  const comment = s.text('comment', 16 * 1024);
  const padding = s.rest();
  for (let i = 0; i < padding.length; i++) {
    if (padding[i] !== i + 1) throw new ProtocolError('private key: bad padding after the key');
  }
  if (!constantTimeEqual(encodePublicKey(keyObject), publicBlob)) {
    throw new ProtocolError('private key: public key in the header does not match the private key');
  }
  return { keyObject, comment };
}

/**
 * Loads a private key file: OpenSSH format, or PEM (PKCS#1, SEC1, PKCS#8) via
 * node:crypto. Encrypted files are refused with a ProtocolError for now.
 */
export function loadPrivateKey(file: string | Uint8Array): LoadedPrivateKey {
  if (file.length > MAX_FILE) throw new ProtocolError('private key file is too large');
  const text = typeof file === 'string' ? file : Buffer.from(file).toString('utf8');
  if (text.includes(BEGIN)) return parseOpenSshPrivateKey(text);
  if (!text.includes('-----BEGIN')) throw new ProtocolError('private key: no PEM BEGIN line found');
  if (/Proc-Type:\s*4,ENCRYPTED|BEGIN ENCRYPTED PRIVATE KEY/.test(text)) {
    throw new ProtocolError('private key is encrypted; passphrase-protected keys are not supported yet');
  }
  let keyObject: KeyObject;
  try {
    keyObject = createPrivateKey({ key: text, format: 'pem' });
  } catch (err) {
    throw new ProtocolError('private key: PEM data cannot be read', undefined, { cause: err });
  }
  return { keyObject, comment: '' };
}

export function signerFromOpenSshPrivateKey(file: string | Uint8Array): KeySigner {
  return signerFromKeyObject(loadPrivateKey(file).keyObject);
}
