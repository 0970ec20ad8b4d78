// The error every bad key file raises, the sniffing that decides which reader
// a file needs, and the PEM/PKCS#8 reader, which leaves the parsing and the
// decryption to node:crypto (OpenSSL) and only translates its failures.
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { DisconnectReason, ProtocolError } from '../errors.js';
import { excessiveKdf, MAX_KDF_ITERATIONS, MAX_SCRYPT_WORK } from './pkcs8-kdf.js';

/**
 * What went wrong, for callers that react differently: a CLI prompts for a
 * passphrase on `passphrase-required` and asks again on `wrong-passphrase`.
 *
 * - `passphrase-required`, `wrong-passphrase`: the file is encrypted and the
 *   passphrase is missing or does not open it.
 * - `truncated`: the file or a field in it ends early.
 * - `malformed`: the file is corrupt (fields that do not parse or do not agree).
 * - `unsupported-cipher`, `unsupported-kdf`: encrypted with a cipher or a key
 *   derivation Nacre does not implement, or a KDF costing more work than it
 *   allows (the message gives the cap).
 * - `unknown-key-type`: a key type SSH (or Nacre) cannot use (DSA, X25519, secp256k1...).
 * - `too-large`: larger than any key file (MAX_KEY_FILE_BYTES).
 * - `unsupported`: anything else Nacre does not do (several keys in one file,
 *   an RSA size out of range, a foreign format such as a PGP key).
 * - `not-a-private-key`: a public key, a certificate, or no key at all.
 * - `io`, `unsafe-permissions`: reading or writing the file failed, or its
 *   permissions are too open.
 */
export type KeyFileProblem =
  | 'passphrase-required'
  | 'wrong-passphrase'
  | 'truncated'
  | 'malformed'
  | 'unsupported-cipher'
  | 'unsupported-kdf'
  /** The file asks its key derivation for more work than the caps allow. */
  | 'kdf-too-costly'
  | 'unknown-key-type'
  | 'too-large'
  | 'unsupported'
  | 'not-a-private-key'
  | 'io'
  | 'unsafe-permissions';

/**
 * A key file that cannot be used. It extends ProtocolError so code written
 * against the earlier loader (which threw ProtocolError) keeps catching it.
 */
export class KeyFileError extends ProtocolError {
  readonly problem: KeyFileProblem;
  /** The file the key came from, when it was read from disk. */
  readonly path: string | undefined;
  /** The message without the path. */
  readonly detail: string;
  constructor(detail: string, problem: KeyFileProblem, options?: { path?: string | undefined; cause?: unknown }) {
    super(options?.path === undefined ? detail : `${options.path}: ${detail}`, DisconnectReason.BY_APPLICATION, { cause: options?.cause });
    this.problem = problem;
    this.path = options?.path;
    this.detail = detail;
  }

  /** The same error, with the file it came from named in the message. */
  withPath(path: string): KeyFileError {
    return new KeyFileError(this.detail, this.problem, { path, cause: this.cause });
  }
}

/** Files this large are not key files; refusing early bounds every allocation after. */
export const MAX_KEY_FILE_BYTES = 1 << 20;

export type KeyFileFormat = 'openssh' | 'pkcs1' | 'sec1' | 'pkcs8' | 'ppk';

export interface SniffedKeyFile {
  readonly format: KeyFileFormat;
  /** The PEM label (`RSA PRIVATE KEY`); `PuTTY-User-Key-File` for a .ppk file. */
  readonly label: string;
}

const PRIVATE_LABELS: Readonly<Record<string, KeyFileFormat>> = {
  'OPENSSH PRIVATE KEY': 'openssh',
  'RSA PRIVATE KEY': 'pkcs1',
  'EC PRIVATE KEY': 'sec1',
  'PRIVATE KEY': 'pkcs8',
  'ENCRYPTED PRIVATE KEY': 'pkcs8',
  // node:crypto reads these; the key type check refuses them with a clear message
  'DSA PRIVATE KEY': 'pkcs1',
};

const PUBLIC_LABELS = new Set(['PUBLIC KEY', 'RSA PUBLIC KEY', 'SSH2 PUBLIC KEY', 'CERTIFICATE', 'OPENSSH PUBLIC KEY']);

/** Decides which reader a file needs, or says plainly why it is not a private key file. */
export function sniffKeyFile(text: string): SniffedKeyFile {
  const m = /-----BEGIN ([A-Z0-9 ]{1,64})-----/.exec(text);
  if (!m) {
    // say what the file is when it is a common mix-up, so the user knows what to pick instead
    // PuTTY's format has no BEGIN line; ppk.ts reads it
    if (text.startsWith('PuTTY-User-Key-File-')) return { format: 'ppk', label: 'PuTTY-User-Key-File' };
    if (/^\s*(ssh-|ecdsa-|sk-)\S*\s+AAAA/.test(text)) {
      throw new KeyFileError('not a private key file: this is an OpenSSH public key (the private key is the file without .pub)', 'not-a-private-key');
    }
    // callers sometimes hand over a path where the contents are expected
    const hint = text.length < 4096 && !text.includes('\n') && /[\\/]/.test(text) ? '; to read a file from disk use loadPrivateKeyFile' : '';
    throw new KeyFileError(`not a private key file (no BEGIN line)${hint}`, 'not-a-private-key');
  }
  const label = m[1]!;
  const format = PRIVATE_LABELS[label];
  if (format) return { format, label };
  if (PUBLIC_LABELS.has(label)) throw new KeyFileError(`not a private key file: it holds a ${label}`, 'not-a-private-key');
  throw new KeyFileError(`unsupported key file: PEM block ${label}`, 'unsupported');
}

/** The legacy `DEK-Info` ciphers read: what ssh-keygen (AES-128-CBC) and `openssl` (-aes*, -des3) write. */
const LEGACY_PEM_CIPHERS: ReadonlySet<string> = new Set(['AES-128-CBC', 'AES-192-CBC', 'AES-256-CBC', 'DES-EDE3-CBC']);

export interface PemKey {
  readonly keyObject: KeyObject;
  readonly encrypted: boolean;
}

function opensslCode(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : '';
}

function opensslMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Reads a PKCS#1, SEC1 or PKCS#8 PEM key, decrypting it when it is encrypted
 * (legacy `Proc-Type: 4,ENCRYPTED` or `ENCRYPTED PRIVATE KEY`). A passphrase
 * given for an unencrypted file is ignored, as ssh-keygen does.
 */
export function loadPemPrivateKey(text: string, label: string, passphrase?: Uint8Array): PemKey {
  const encrypted = label === 'ENCRYPTED PRIVATE KEY' || /Proc-Type:\s*4,ENCRYPTED/.test(text);
  if (encrypted && (passphrase === undefined || passphrase.length === 0)) {
    throw new KeyFileError('encrypted key: a passphrase is required', 'passphrase-required');
  }
  const end = `-----END ${label}-----`;
  if (!text.includes(end)) throw new KeyFileError(`truncated key file (no "${end}" line)`, 'truncated');
  const legacyEncrypted = encrypted && label !== 'ENCRYPTED PRIVATE KEY';
  if (legacyEncrypted) {
    const dek = /DEK-Info:\s*([A-Za-z0-9-]+)/.exec(text)?.[1]?.toUpperCase();
    if (dek === undefined || !LEGACY_PEM_CIPHERS.has(dek)) {
      throw new KeyFileError(`unsupported cipher ${JSON.stringify(dek ?? '(no DEK-Info)')} in an encrypted PEM file (Nacre reads ${[...LEGACY_PEM_CIPHERS].join(', ')})`, 'unsupported-cipher');
    }
    // The body is ciphertext in whole cipher blocks; a cut one would only
    // fail to decrypt, which looks like a wrong passphrase.
    const blockSize = dek.startsWith('AES-') ? 16 : 8;
    if (pemBody(text, label).length % blockSize !== 0) {
      throw new KeyFileError('truncated key file (the encrypted data is not a whole number of cipher blocks)', 'truncated');
    }
  } else {
    // The body is DER (the legacy format's is ciphertext): a first element
    // longer than the data is a cut file, which OpenSSL would call corrupt.
    const der = pemBody(text, label);
    if (derCut(der)) throw new KeyFileError('truncated key file (the DER data ends inside the key)', 'truncated');
    if (label === 'ENCRYPTED PRIVATE KEY') {
      // The work factor is the file's to choose; OpenSSL would spend it on the event loop.
      const tooCostly = excessiveKdf(der);
      if (tooCostly) {
        throw new KeyFileError(
          `the key is encrypted with ${tooCostly}, more than Nacre will spend on a key file (at most ${MAX_KDF_ITERATIONS} iterations or scrypt N·r·p ${MAX_SCRYPT_WORK})`,
          'kdf-too-costly',
        );
      }
    }
  }
  let keyObject: KeyObject;
  try {
    keyObject = createPrivateKey(
      encrypted ? { key: text, format: 'pem', passphrase: Buffer.from(passphrase!) } : { key: text, format: 'pem' },
    );
  } catch (err) {
    const code = opensslCode(err);
    if (encrypted && code === 'ERR_OSSL_BAD_DECRYPT') {
      throw new KeyFileError('wrong passphrase (decryption failed; or the file is corrupt)', 'wrong-passphrase', { cause: err });
    }
    if (code === 'ERR_OSSL_CRYPTO_INTERRUPTED_OR_CANCELLED' || code === 'ERR_MISSING_PASSPHRASE') {
      throw new KeyFileError('encrypted key: a passphrase is required', 'passphrase-required', { cause: err });
    }
    if (encrypted && (code === 'ERR_OSSL_EVP_UNSUPPORTED' || /unsupported (cipher|algorithm)/i.test(opensslMessage(err)))) {
      throw new KeyFileError(`unsupported PEM encryption (${opensslMessage(err)})`, 'unsupported-cipher', { cause: err });
    }
    if (code === 'ERR_OSSL_EVP_UNSUPPORTED' || /unsupported (cipher|algorithm)/i.test(opensslMessage(err))) {
      throw new KeyFileError(`unknown key type (${opensslMessage(err)})`, 'unknown-key-type', { cause: err });
    }
    // a wrong passphrase can also decrypt to well-padded garbage that then fails to parse
    const hint = encrypted ? 'wrong passphrase, or a corrupt or truncated key file' : 'corrupt or truncated key file';
    throw new KeyFileError(`${hint} (OpenSSL: ${opensslMessage(err)})`, encrypted ? 'wrong-passphrase' : 'malformed', { cause: err });
  }
  if (keyObject.type !== 'private') throw new KeyFileError('not a private key file', 'not-a-private-key');
  return { keyObject, encrypted };
}

/**
 * True when the first DER element's header or declared length runs past the
 * data: the file was cut. (Only the outermost element is looked at; damage
 * inside is OpenSSL's to find.)
 */
function derCut(der: Uint8Array): boolean {
  if (der.length < 2) return true;
  let len = der[1]!;
  let i = 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4) return false;
    if (i + n > der.length) return true;
    len = 0;
    for (let k = 0; k < n; k++) len = len * 256 + der[i++]!;
  }
  return i + len > der.length;
}

/** The base64 between a PEM block's BEGIN and END lines, decoded, without RFC 1421 headers (Proc-Type, DEK-Info). */
function pemBody(text: string, label: string): Uint8Array {
  const begin = `-----BEGIN ${label}-----`;
  const inner = text.slice(text.indexOf(begin) + begin.length, text.indexOf(`-----END ${label}-----`));
  return new Uint8Array(Buffer.from(inner.replace(/^[A-Za-z-]+:.*$/gm, '').replace(/\s+/g, ''), 'base64'));
}
