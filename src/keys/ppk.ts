// PuTTY private key files (.ppk), versions 2 and 3, as described in the
// "PPK file format" appendix of the PuTTY manual. A text header names the key
// type, the encryption and the comment; the public blob is stored in clear,
// the private blob (plain or aes256-cbc) after it, and a MAC over all of them
// ties the file together. Key derivation and the MAC are in ppk-kdf.ts.
// Every problem is a KeyFileError.
import { createCipheriv, createDecipheriv, createPublicKey, randomBytes, sign, verify, type KeyObject } from 'node:crypto';
import { ProtocolError } from '../errors.js';
import { constantTimeEqual } from '../wire/bytes.js';
import { Reader } from '../wire/reader.js';
import { Writer } from '../wire/writer.js';
import { b64url, fromB64url } from '../crypto/base64url.js';
import { bytesToBigint } from '../crypto/dh.js';
import { ECDSA_CURVES, encodePublicKey, parsePublicKey, RSA_MAX_BITS, RSA_MIN_BITS, sshKeyType, type ParsedPublicKey, type PublicKeyType } from './blob.js';
import { KeyFileError, MAX_KEY_FILE_BYTES, type KeyFileFormat } from './pem.js';
import {
  ARGON2,
  checkArgon2Cost,
  CIPHER_KEY_BYTES,
  IV_BYTES,
  plainKeys,
  ppkMac,
  v2Keys,
  v3Keys,
  type Argon2Flavour,
  type PpkArgon2Params,
  type PpkKeys,
  type PpkVersion,
} from './ppk-kdf.js';
import { importPrivateJwk, importRsaPrivateKey } from './private-parts.js';

/** Every PPK file starts with this, then the version number. */
export const PPK_MAGIC = 'PuTTY-User-Key-File-';

/**
 * What parsePpkPrivateKey returns: the fields of openssh.ts's LoadedPrivateKey
 * (spelled out, as openssh.ts imports this module) plus the PPK details.
 */
export interface PpkPrivateKey {
  readonly keyObject: KeyObject;
  readonly comment: string;
  readonly keyType: PublicKeyType;
  readonly publicBlob: Uint8Array;
  readonly format: KeyFileFormat;
  readonly encrypted: boolean;
  readonly ppkVersion: PpkVersion;
  /** The Argon2 parameters of an encrypted version 3 file. */
  readonly argon2: PpkArgon2Params | undefined;
}

const MAX_BLOB_LINES = 1024; // 48 KiB of base64 each; a 16384-bit RSA key needs 40 lines
const SUPPORTED_TYPES: ReadonlySet<string> = new Set(['ssh-ed25519', 'ssh-rsa', ...Object.keys(ECDSA_CURVES)]);

function malformed(detail: string): KeyFileError {
  return new KeyFileError(detail, 'malformed');
}

// ------------------------------------------------------------------ the text layer

/** Walks the file's lines in the fixed order PuTTY writes its headers. */
class Lines {
  private next = 0;
  constructor(private readonly lines: readonly string[]) {}

  get atEnd(): boolean {
    return this.next >= this.lines.length;
  }

  peekHeader(name: string): boolean {
    return this.lines[this.next]?.startsWith(`${name}: `) ?? false;
  }

  header(name: string): string {
    const line = this.lines[this.next];
    if (line === undefined) throw malformed(`truncated key file: the "${name}" line is missing`);
    if (!line.startsWith(`${name}: `)) throw malformed(`corrupt key file: expected a "${name}" line`);
    this.next++;
    return line.slice(name.length + 2);
  }

  count(name: string): number {
    const value = this.header(name);
    if (!/^\d{1,9}$/.test(value)) throw malformed(`corrupt key file: ${name} is not a number`);
    return Number(value);
  }

  base64Block(name: string): Uint8Array {
    const n = this.count(name);
    if (n > MAX_BLOB_LINES) throw malformed(`corrupt key file: ${name} ${n} is over ${MAX_BLOB_LINES}`);
    if (this.next + n > this.lines.length) throw malformed(`truncated key file: fewer lines than ${name} says`);
    const body = this.lines.slice(this.next, this.next + n).join('');
    this.next += n;
    if (body.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(body)) throw malformed(`corrupt key file: the ${name} block is not base64`);
    return new Uint8Array(Buffer.from(body, 'base64'));
  }

  hex(name: string, minBytes: number, maxBytes: number): Uint8Array {
    const value = this.header(name);
    if (!/^(?:[0-9a-fA-F]{2})+$/.test(value) || value.length < 2 * minBytes || value.length > 2 * maxBytes) {
      throw malformed(`corrupt key file: ${name} is not ${minBytes === maxBytes ? minBytes : `${minBytes}..${maxBytes}`} bytes of hex`);
    }
    return new Uint8Array(Buffer.from(value, 'hex'));
  }
}

function splitLines(bytes: Uint8Array): string[] {
  // latin1 keeps one character per byte, so the comment's bytes (which the
  // MAC covers) come back unchanged whatever their encoding.
  const lines = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1').split(/\r\n|\r|\n/);
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

// ------------------------------------------------------------------ private blobs

function leftPad(b: Uint8Array, n: number, what: string): Uint8Array {
  let start = 0;
  while (start < b.length && b[start] === 0 && b.length - start > n) start++;
  if (b.length - start > n) throw malformed(`private key: ${what} is longer than its field`);
  const out = new Uint8Array(n);
  out.set(b.subarray(start), n - (b.length - start));
  return out;
}

/**
 * Joins the public half (already parsed) with the private blob. Returns the
 * key and how many bytes of the blob it used; the rest is cipher padding.
 */
function readPrivateBlob(type: PublicKeyType, publicKey: KeyObject, blob: Uint8Array): { keyObject: KeyObject; used: number } {
  const pub = publicKey.export({ format: 'jwk' });
  const r = new Reader(blob, 0, 'PPK private blob');
  let keyObject: KeyObject;
  if (type === 'ssh-ed25519') {
    const seed = r.string('Ed25519 private key', 64);
    if (seed.length !== 32) throw malformed('private key: Ed25519 private key is not 32 bytes');
    keyObject = importPrivateJwk({ kty: 'OKP', crv: 'Ed25519', d: b64url(seed), x: pub.x! }, 'Ed25519 key');
  } else if (type === 'ssh-rsa') {
    const limit = RSA_MAX_BITS / 8 + 1;
    const d = r.mpintBytes('RSA d', limit);
    const p = r.mpintBytes('RSA p', limit);
    const q = r.mpintBytes('RSA q', limit);
    const iqmp = r.mpintBytes('RSA iqmp', limit);
    if (bytesToBigint(p) < 3n || bytesToBigint(q) < 3n || bytesToBigint(d) === 0n) throw malformed('private key: RSA values are missing');
    keyObject = importRsaPrivateKey({ n: pub.n!, e: pub.e!, d, p, q, iqmp });
  } else {
    const curve = ECDSA_CURVES[type]!;
    const scalar = r.mpintBytes('EC private scalar', curve.fieldBytes + 1);
    keyObject = importPrivateJwk({ kty: 'EC', crv: curve.jwk, x: pub.x!, y: pub.y!, d: b64url(leftPad(scalar, curve.fieldBytes, 'EC private scalar')) }, `${type} key`);
  }
  return { keyObject, used: r.position };
}

function writePrivateBlob(key: KeyObject, type: PublicKeyType): Uint8Array {
  const jwk = key.export({ format: 'jwk' });
  const w = new Writer(2048);
  if (type === 'ssh-ed25519') {
    w.string(fromB64url(jwk.d, 'Ed25519 private key'));
  } else if (type === 'ssh-rsa') {
    for (const [field, name] of [['d', 'RSA d'], ['p', 'RSA p'], ['q', 'RSA q'], ['qi', 'RSA iqmp']] as const) {
      w.mpintFromBytes(fromB64url(jwk[field], name));
    }
  } else {
    w.mpintFromBytes(fromB64url(jwk.d, 'EC private scalar'));
  }
  return w.finish().slice();
}

const SELF_TEST_DATA = new TextEncoder().encode('nacre ppk self-test');

/** A key whose halves do not belong together would only fail later, at a server. */
function checkKey(keyObject: KeyObject, type: PublicKeyType, publicBlob: Uint8Array): void {
  if (!constantTimeEqual(encodePublicKey(keyObject), publicBlob)) throw malformed('corrupt key file: the public key does not match the private key');
  if (type === 'ssh-rsa') {
    const bits = keyObject.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < RSA_MIN_BITS || bits > RSA_MAX_BITS) throw new KeyFileError(`RSA key of ${bits} bits is outside ${RSA_MIN_BITS}..${RSA_MAX_BITS}`, 'unsupported');
  }
  const hash = type === 'ssh-ed25519' ? null : 'sha256';
  let ok: boolean;
  try {
    ok = verify(hash, SELF_TEST_DATA, createPublicKey(keyObject), sign(hash, SELF_TEST_DATA, keyObject));
  } catch (err) {
    throw new KeyFileError('corrupt key file (the key cannot sign)', 'malformed', { cause: err });
  }
  if (!ok) throw malformed('corrupt key file (the private and public halves do not belong together)');
}

// ------------------------------------------------------------------ reading

function toBytes(input: string | Uint8Array): Uint8Array {
  return typeof input === 'string' ? new Uint8Array(Buffer.from(input, 'utf8')) : input;
}

function passphraseBytes(passphrase: string | Uint8Array | undefined): Uint8Array | undefined {
  if (passphrase === undefined) return undefined;
  if (typeof passphrase === 'string') return new Uint8Array(Buffer.from(passphrase, 'utf8'));
  if (passphrase instanceof Uint8Array) return passphrase;
  throw new KeyFileError(`a passphrase must be a string or a Uint8Array, not ${passphrase === null ? 'null' : typeof passphrase}`, 'unsupported');
}

function readArgon2Params(lines: Lines): PpkArgon2Params {
  const flavour = lines.header('Key-Derivation');
  if (flavour !== 'Argon2id' && flavour !== 'Argon2i' && flavour !== 'Argon2d') {
    throw new KeyFileError(`unsupported key derivation ${JSON.stringify(flavour.slice(0, 64))}`, 'unsupported');
  }
  const memoryKiB = lines.count('Argon2-Memory');
  const passes = lines.count('Argon2-Passes');
  const parallelism = lines.count('Argon2-Parallelism');
  const salt = lines.hex('Argon2-Salt', 1, 1024);
  return { flavour, memoryKiB, passes, parallelism, salt };
}

function parsePpk(file: Uint8Array, passphrase: Uint8Array | undefined): PpkPrivateKey {
  if (file.length > MAX_KEY_FILE_BYTES) throw new KeyFileError('not a private key file (larger than 1 MiB)', 'not-a-private-key');
  const lines = new Lines(splitLines(file));
  if (lines.atEnd || (!lines.peekHeader(`${PPK_MAGIC}3`) && !lines.peekHeader(`${PPK_MAGIC}2`))) {
    const m = /^PuTTY-User-Key-File-(\d{1,6}):/.exec(splitLines(file.subarray(0, 64))[0] ?? '');
    if (m) throw new KeyFileError(`unsupported PuTTY key file version ${m[1]} (versions 2 and 3 are supported)`, 'unsupported');
    throw new KeyFileError('not a PuTTY key file (no PuTTY-User-Key-File line)', 'not-a-private-key');
  }
  const version: PpkVersion = lines.peekHeader(`${PPK_MAGIC}3`) ? 3 : 2;
  const type = lines.header(`${PPK_MAGIC}${version}`);
  if (!SUPPORTED_TYPES.has(type)) throw new KeyFileError(`unsupported key type ${JSON.stringify(type.slice(0, 64))}`, 'unsupported');
  const encryption = lines.header('Encryption');
  if (encryption !== 'none' && encryption !== 'aes256-cbc') {
    throw new KeyFileError(`unsupported PuTTY key encryption ${JSON.stringify(encryption.slice(0, 64))}`, 'unsupported');
  }
  const encrypted = encryption !== 'none';
  const comment = new Uint8Array(Buffer.from(lines.header('Comment'), 'latin1'));
  const publicBlob = lines.base64Block('Public-Lines');
  const argon2 = version === 3 && encrypted ? readArgon2Params(lines) : undefined;
  const sealed = lines.base64Block('Private-Lines');
  const storedMac = lines.hex('Private-MAC', version === 2 ? 20 : 32, version === 2 ? 20 : 32);
  if (!lines.atEnd) throw malformed('corrupt key file: lines after Private-MAC');

  let parsedPublic: ParsedPublicKey;
  try {
    parsedPublic = parsePublicKey(publicBlob);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    // an RSA key too small or too large to use is a key we do not take, not a damaged file
    const problem = /^RSA (modulus|exponent) of \d+ bits/.test(message) ? 'unsupported' : 'malformed';
    throw new KeyFileError(`${problem === 'malformed' ? 'corrupt key file: the public key is not valid' : 'unsupported key'} (${message})`, problem, { cause: err });
  }
  if (parsedPublic.type !== type) throw malformed(`corrupt key file: the header says ${type} but the public key is ${parsedPublic.type}`);
  if (encrypted && sealed.length % IV_BYTES !== 0) throw malformed('corrupt key file: the private blob is not a multiple of the cipher block size');

  let keys: PpkKeys;
  let privateBlob = sealed;
  if (encrypted) {
    if (passphrase === undefined || passphrase.length === 0) throw new KeyFileError('encrypted key: a passphrase is required', 'passphrase-required');
    keys = version === 2 ? v2Keys(passphrase) : v3Keys(passphrase, argon2!);
    const d = createDecipheriv('aes-256-cbc', keys.cipherKey, keys.iv).setAutoPadding(false);
    privateBlob = new Uint8Array(Buffer.concat([d.update(sealed), d.final()]));
  } else {
    keys = plainKeys(version);
  }
  const mac = ppkMac(version, keys.macKey, { type, encryption, comment, publicBlob, privateBlob });
  if (!constantTimeEqual(mac, storedMac)) {
    throw encrypted
      ? new KeyFileError('wrong passphrase (the PPK MAC does not match; or the file is corrupt)', 'wrong-passphrase')
      : malformed('corrupt key file: the PPK MAC does not match');
  }
  const { keyObject, used } = readPrivateBlob(parsedPublic.type, parsedPublic.keyObject, privateBlob);
  // what follows the key is cipher padding, less than one block
  if (privateBlob.length - used >= (encrypted ? IV_BYTES : 1)) throw malformed('corrupt key file: data after the private key');
  checkKey(keyObject, parsedPublic.type, publicBlob);
  return {
    keyObject,
    comment: Buffer.from(comment).toString('utf8'),
    keyType: parsedPublic.type,
    publicBlob,
    format: 'ppk',
    encrypted,
    ppkVersion: version,
    argon2,
  };
}

/**
 * Parses a PuTTY `.ppk` private key file (version 2 or 3), checking its MAC
 * and decrypting it with `passphrase` when it is encrypted. A passphrase given
 * for an unencrypted file is ignored. Every failure is a KeyFileError; a wrong
 * passphrase is `wrong-passphrase`, an Argon2 cost over the caps `kdf-too-costly`.
 */
export function parsePpkPrivateKey(file: string | Uint8Array, passphrase?: string | Uint8Array): PpkPrivateKey {
  try {
    return parsePpk(toBytes(file), passphraseBytes(passphrase));
  } catch (err) {
    if (err instanceof KeyFileError) throw err;
    const message = err instanceof Error ? err.message : String(err);
    if (err instanceof ProtocolError && /runs past the end/.test(message)) throw new KeyFileError(`truncated key file (${message})`, 'malformed', { cause: err });
    throw new KeyFileError(`corrupt key file (${message})`, 'malformed', { cause: err });
  }
}

// ------------------------------------------------------------------ writing

/** Argon2 settings for writing; puttygen's defaults except for passes (see DEFAULT_PPK_ARGON2). */
export interface PpkArgon2Options {
  readonly flavour?: Argon2Flavour;
  readonly memoryKiB?: number;
  readonly passes?: number;
  readonly parallelism?: number;
  /** 16 random bytes when absent. */
  readonly salt?: Uint8Array;
}

export interface PpkWriteOptions {
  /** 3 (the default, PuTTY 0.75 and later) or 2 (every PuTTY since 0.52). */
  readonly version?: PpkVersion;
  /** Encrypts with aes256-cbc when given and not empty. */
  readonly passphrase?: string | Uint8Array;
  /** Any text without CR or LF. */
  readonly comment?: string;
  /** Version 3 only. */
  readonly argon2?: PpkArgon2Options;
}

/**
 * puttygen 0.78 writes Argon2id with 8192 KiB and parallelism 1, choosing the
 * passes that take it 100 ms (13 to 21 on the machine Nacre's tests ran on).
 * 13 is fixed here so a file does not depend on the speed or load of the
 * machine that wrote it; the pure-JS Argon2 takes about half a second for it.
 */
export const DEFAULT_PPK_ARGON2: Readonly<Required<Omit<PpkArgon2Options, 'salt'>>> = Object.freeze({
  flavour: 'Argon2id',
  memoryKiB: 8192,
  passes: 13,
  parallelism: 1,
});

function base64Lines(b: Uint8Array): string[] {
  const text = Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');
  const out: string[] = [];
  for (let i = 0; i < text.length; i += 64) out.push(text.slice(i, i + 64));
  return out;
}

function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

/**
 * Writes a private KeyObject as a PuTTY `.ppk` file (version 3 by default),
 * encrypted with aes256-cbc when a passphrase is given. Options out of range
 * are a RangeError; a key type SSH cannot carry here is a KeyFileError.
 */
export function formatPpkPrivateKey(key: KeyObject, options: PpkWriteOptions = {}): string {
  if (key.type !== 'private') throw new RangeError('a PPK file needs a private key');
  const version = options.version ?? 3;
  if (version !== 2 && version !== 3) throw new RangeError(`PPK version ${String(version)} is not 2 or 3`);
  const comment = options.comment ?? '';
  if (/[\r\n]/.test(comment)) throw new RangeError('a PPK comment cannot contain CR or LF');
  let type: PublicKeyType;
  try {
    type = sshKeyType(key);
  } catch (err) {
    throw new KeyFileError(`unsupported key type (${err instanceof Error ? err.message : String(err)})`, 'unsupported', { cause: err });
  }
  const passphrase = passphraseBytes(options.passphrase);
  const encrypted = passphrase !== undefined && passphrase.length > 0;
  const encryption = encrypted ? 'aes256-cbc' : 'none';
  const publicBlob = encodePublicKey(key);
  const plain = writePrivateBlob(key, type);
  const commentBytes = new Uint8Array(Buffer.from(comment, 'utf8'));

  let argon2: PpkArgon2Params | undefined;
  let keys: PpkKeys;
  let privateBlob = plain;
  if (encrypted) {
    // pad to whole cipher blocks with random bytes (the MAC covers them)
    const padded = new Uint8Array(Math.ceil(plain.length / IV_BYTES) * IV_BYTES);
    padded.set(plain);
    padded.set(randomBytes(padded.length - plain.length), plain.length);
    privateBlob = padded;
    if (version === 3) {
      const a = options.argon2 ?? {};
      argon2 = {
        flavour: a.flavour ?? DEFAULT_PPK_ARGON2.flavour,
        memoryKiB: a.memoryKiB ?? DEFAULT_PPK_ARGON2.memoryKiB,
        passes: a.passes ?? DEFAULT_PPK_ARGON2.passes,
        parallelism: a.parallelism ?? DEFAULT_PPK_ARGON2.parallelism,
        salt: a.salt ?? new Uint8Array(randomBytes(16)),
      };
      if (!(argon2.flavour in ARGON2)) throw new RangeError(`unknown Argon2 flavour ${String(argon2.flavour)}`);
      for (const n of [argon2.memoryKiB, argon2.passes, argon2.parallelism]) {
        if (!Number.isSafeInteger(n) || n < 1) throw new RangeError('Argon2 memory, passes and parallelism must be positive integers');
      }
      // a file this writer made must be one its reader takes
      try {
        checkArgon2Cost(argon2);
      } catch (err) {
        throw new RangeError(err instanceof KeyFileError ? err.detail : String(err));
      }
      keys = v3Keys(passphrase, argon2);
    } else {
      keys = v2Keys(passphrase);
    }
  } else {
    keys = plainKeys(version);
  }
  const mac = ppkMac(version, keys.macKey, { type, encryption, comment: commentBytes, publicBlob, privateBlob });
  let stored = privateBlob;
  if (encrypted) {
    const c = createCipheriv('aes-256-cbc', keys.cipherKey, keys.iv).setAutoPadding(false);
    stored = new Uint8Array(Buffer.concat([c.update(privateBlob), c.final()]));
  }

  const publicLines = base64Lines(publicBlob);
  const privateLines = base64Lines(stored);
  const out = [`${PPK_MAGIC}${version}: ${type}`, `Encryption: ${encryption}`, `Comment: ${comment}`, `Public-Lines: ${publicLines.length}`, ...publicLines];
  if (argon2) {
    out.push(
      `Key-Derivation: ${argon2.flavour}`,
      `Argon2-Memory: ${argon2.memoryKiB}`,
      `Argon2-Passes: ${argon2.passes}`,
      `Argon2-Parallelism: ${argon2.parallelism}`,
      `Argon2-Salt: ${hex(argon2.salt)}`,
    );
  }
  out.push(`Private-Lines: ${privateLines.length}`, ...privateLines, `Private-MAC: ${hex(mac)}`);
  return out.join('\n') + '\n';
}
