// The error every bad key file raises, the sniffing that decides which reader
// a file needs, and the PEM/PKCS#8 reader, which leaves the parsing and the
// decryption to node:crypto (OpenSSL) and only translates its failures.
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { DisconnectReason, ProtocolError } from '../errors.js';
import { excessiveKdf } from './pkcs8-kdf.js';

/**
 * What went wrong, for callers that react differently: a CLI prompts for a
 * passphrase on `passphrase-required` and asks again on `wrong-passphrase`.
 */
export type KeyFileProblem =
  | 'passphrase-required'
  | 'wrong-passphrase'
  | 'unsupported'
  | 'malformed'
  | 'not-a-private-key'
  | 'io'
  | 'unsafe-permissions'
  /** The file asks its key derivation for more work than the caps allow. */
  | 'kdf-too-costly';

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
  if (!text.includes(end)) throw new KeyFileError(`truncated key file (no "${end}" line)`, 'malformed');
  if (label === 'ENCRYPTED PRIVATE KEY') {
    // The work factor is the file's to choose; OpenSSL would spend it on the event loop.
    const begin = `-----BEGIN ${label}-----`;
    const body = text.slice(text.indexOf(begin) + begin.length, text.indexOf(end)).replace(/\s+/g, '');
    const tooCostly = excessiveKdf(new Uint8Array(Buffer.from(body, 'base64')));
    if (tooCostly) throw new KeyFileError(`the key is encrypted with ${tooCostly}, more than Nacre will spend on a key file`, 'unsupported');
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
    if (code === 'ERR_OSSL_EVP_UNSUPPORTED' || /unsupported (cipher|algorithm)/i.test(opensslMessage(err))) {
      throw new KeyFileError(`unsupported PEM encryption or key (${opensslMessage(err)})`, 'unsupported', { cause: err });
    }
    // a wrong passphrase can also decrypt to well-padded garbage that then fails to parse
    const hint = encrypted ? 'wrong passphrase, or a corrupt or truncated key file' : 'corrupt or truncated key file';
    throw new KeyFileError(`${hint} (OpenSSL: ${opensslMessage(err)})`, encrypted ? 'wrong-passphrase' : 'malformed', { cause: err });
  }
  if (keyObject.type !== 'private') throw new KeyFileError('not a private key file', 'not-a-private-key');
  return { keyObject, encrypted };
}
