// Public keys in the text forms `ssh-keygen -e` writes and `ssh-keygen -i`
// reads: the one-line OpenSSH form, RFC 4716 (`---- BEGIN SSH2 PUBLIC KEY
// ----`), PKCS#8 SubjectPublicKeyInfo (`BEGIN PUBLIC KEY`) and PKCS#1 RSA
// (`BEGIN RSA PUBLIC KEY`). Everything is converted to and from the SSH blob.
// The DER side is left to node:crypto (OpenSSL), whose failures become
// KeyFileErrors.
import { createPublicKey, type KeyObject } from 'node:crypto';
import { ProtocolError } from '../errors.js';
import { KeyFileError } from './pem.js';
import { ECDSA_CURVES, blobKeyType, checkPublicKey, encodePublicKey, formatOpenSshPublicKeyLine, parseOpenSshPublicKeyLine, parsePublicKey } from './blob.js';
import { certificateBase, certifiedKey, describePublicKey } from './fingerprint.js';
import { isSecurityKeyType, parseSecurityKeyBlob } from './security-key.js';

export type PublicKeyFormat = 'openssh' | 'rfc4716' | 'pkcs8' | 'pkcs1';

export interface ParsedPublicKeyText {
  readonly format: PublicKeyFormat;
  readonly blob: Uint8Array;
  /** The OpenSSH line's comment or the RFC 4716 `Comment` header; empty when there is none. */
  readonly comment: string;
  /** RFC 4716 headers other than Comment, in order (tags as written). */
  readonly headers: readonly { readonly tag: string; readonly value: string }[];
}

/** Public key files are small; this bounds the work on anything handed in. */
export const MAX_PUBLIC_KEY_TEXT = 64 * 1024;

const RFC4716_BEGIN = '---- BEGIN SSH2 PUBLIC KEY ----';
const RFC4716_END = '---- END SSH2 PUBLIC KEY ----';
/** ssh-keygen wraps the base64 body at 70 columns (RFC 4716 allows 72). */
const RFC4716_WIDTH = 70;
// RFC 4716 §3.3-3.4: header tags up to 64 bytes, values up to 1024 bytes
const MAX_TAG = 64;
const MAX_VALUE = 1024;

function toBase64(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');
}

/** Strict base64 (whitespace already removed) to bytes, or a KeyFileError. */
function fromBase64(s: string, what: string): Uint8Array {
  if (s.length === 0 || s.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(s)) {
    throw new KeyFileError(`${what}: the body is not valid base64`, 'malformed');
  }
  return new Uint8Array(Buffer.from(s, 'base64'));
}

/** Checks a plain or security-key blob; throws ProtocolError. */
function checkKeyBlob(blob: Uint8Array, type: string): void {
  if (isSecurityKeyType(type)) parseSecurityKeyBlob(blob);
  else checkPublicKey(blob);
}

/**
 * Checks a blob as a key Nacre can use (plain or security key, or a
 * certificate of one, judged by the key it certifies: its signature is the
 * certificate reader's business), turning the ProtocolError into a
 * KeyFileError; unknown types are `unsupported`.
 */
function checkBlob(blob: Uint8Array, what: string): void {
  let type: string;
  try {
    type = blobKeyType(blob);
  } catch (err) {
    throw new KeyFileError(`${what}: malformed key blob`, 'malformed', { cause: err });
  }
  const base = certificateBase(type);
  if (base !== undefined) type = base;
  try {
    checkKeyBlob(base !== undefined ? certifiedKey(blob)! : blob, type);
  } catch (err) {
    const known = isSecurityKeyType(type) || type === 'ssh-ed25519' || type === 'ssh-rsa' || ECDSA_CURVES[type] !== undefined;
    const detail = err instanceof ProtocolError ? err.message : String(err);
    throw new KeyFileError(`${what}: ${detail}`, known ? 'malformed' : 'unsupported', { cause: err });
  }
}

// ------------------------------------------------------------------ RFC 4716

/**
 * The RFC 4716 form as `ssh-keygen -e` writes it: BEGIN line, a quoted
 * `Comment` header when `comment` is given, the base64 blob in lines of 70,
 * END line, each line ending in `\n`. ssh-keygen's own comment reads
 * `256-bit ED25519, converted by user@host from OpenSSH`.
 */
export function formatRfc4716PublicKey(blob: Uint8Array, comment?: string): string {
  const lines = [RFC4716_BEGIN];
  if (comment !== undefined && comment !== '') {
    if (/[\r\n]/.test(comment)) throw new RangeError('an RFC 4716 comment cannot hold a line break');
    lines.push(`Comment: "${comment}"`);
  }
  const b64 = toBase64(blob);
  for (let i = 0; i < b64.length; i += RFC4716_WIDTH) lines.push(b64.slice(i, i + RFC4716_WIDTH));
  lines.push(RFC4716_END);
  return lines.join('\n') + '\n';
}

/** The comment ssh-keygen -e puts in an RFC 4716 key it converts (`256-bit ED25519, converted by user@host from OpenSSH`). */
export function rfc4716ConversionComment(blob: Uint8Array, user: string, host: string): string {
  const { bits, shortName } = describePublicKey(blob);
  return `${bits}-bit ${shortName}, converted by ${user}@${host} from OpenSSH`;
}

function parseRfc4716(text: string): ParsedPublicKeyText {
  const what = 'RFC 4716 public key';
  const lines = text.split(/\r?\n/);
  let i = lines.findIndex((l) => l.trim() === RFC4716_BEGIN);
  if (i < 0) throw new KeyFileError(`${what}: no "${RFC4716_BEGIN}" line`, 'malformed');
  const headers: { tag: string; value: string }[] = [];
  let comment = '';
  i++;
  // headers: `Tag: value`, a value ending in `\` continues on the next line
  while (i < lines.length && /^[^:\s]{1,64}:/.test(lines[i]!)) {
    const line = lines[i]!;
    const colon = line.indexOf(':');
    const tag = line.slice(0, colon);
    let value = line.slice(colon + 1).replace(/^ /, '');
    i++;
    while (value.endsWith('\\')) {
      if (i >= lines.length) throw new KeyFileError(`${what}: header ${tag} continues past the end`, 'malformed');
      value = value.slice(0, -1) + lines[i]!;
      i++;
      if (value.length > MAX_VALUE) break;
    }
    if (tag.length > MAX_TAG || value.length > MAX_VALUE) throw new KeyFileError(`${what}: header ${tag.slice(0, MAX_TAG)} is too long`, 'malformed');
    if (tag.toLowerCase() === 'comment') {
      comment = value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;
    } else {
      headers.push({ tag, value });
    }
  }
  const body: string[] = [];
  for (; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === RFC4716_END) break;
    if (line.includes(':')) throw new KeyFileError(`${what}: header line after the key body`, 'malformed');
    body.push(line);
  }
  if (i >= lines.length) throw new KeyFileError(`${what}: truncated (no "${RFC4716_END}" line)`, 'malformed');
  const blob = fromBase64(body.join(''), what);
  checkBlob(blob, what);
  return { format: 'rfc4716', blob, comment, headers };
}

// ------------------------------------------------------------- PEM / DER

/** The key of a blob (a certificate's: the key it certifies) as a KeyObject, for the DER encodings; sk keys have none. */
function keyObjectOf(blob: Uint8Array): KeyObject {
  try {
    return parsePublicKey(certifiedKey(blob) ?? blob).keyObject;
  } catch (err) {
    throw new KeyFileError(`cannot convert this key to PEM: ${err instanceof Error ? err.message : String(err)}`, 'unsupported', { cause: err });
  }
}

/** `-----BEGIN PUBLIC KEY-----` (SubjectPublicKeyInfo), as `ssh-keygen -e -m PKCS8` writes it. */
export function formatPkcs8PublicKey(blob: Uint8Array): string {
  return keyObjectOf(blob).export({ type: 'spki', format: 'pem' }).toString();
}

/** `-----BEGIN RSA PUBLIC KEY-----` (PKCS#1), as `ssh-keygen -e -m PEM` writes an RSA key. RSA only. */
export function formatPkcs1PublicKey(blob: Uint8Array): string {
  const key = keyObjectOf(blob);
  if (key.asymmetricKeyType !== 'rsa') throw new KeyFileError('PKCS#1 holds only RSA keys', 'unsupported');
  return key.export({ type: 'pkcs1', format: 'pem' }).toString();
}

const PEM_PUBLIC = /-----BEGIN (PUBLIC KEY|RSA PUBLIC KEY)-----\r?\n([A-Za-z0-9+/=\r\n]*?)-----END \1-----/;

function parsePem(text: string): ParsedPublicKeyText {
  const m = PEM_PUBLIC.exec(text);
  if (!m) throw new KeyFileError('PEM public key: no matching BEGIN and END lines', 'malformed');
  const pkcs1 = m[1] === 'RSA PUBLIC KEY';
  const what = pkcs1 ? 'PKCS#1 RSA public key' : 'PKCS#8 public key';
  const der = fromBase64(m[2]!.replace(/\s+/g, ''), what);
  let key: KeyObject;
  try {
    key = createPublicKey({ key: Buffer.from(der), format: 'der', type: pkcs1 ? 'pkcs1' : 'spki' });
  } catch (err) {
    throw new KeyFileError(`${what}: corrupt DER (OpenSSL: ${err instanceof Error ? err.message : String(err)})`, 'malformed', { cause: err });
  }
  let blob: Uint8Array;
  try {
    blob = encodePublicKey(key);
  } catch (err) {
    throw new KeyFileError(`${what}: ${err instanceof Error ? err.message : String(err)}`, 'unsupported', { cause: err });
  }
  checkBlob(blob, what);
  return { format: pkcs1 ? 'pkcs1' : 'pkcs8', blob, comment: '', headers: [] };
}

// ------------------------------------------------------------------ both ways

/**
 * Reads a public key in any of the forms above, deciding by its first
 * line. Anything malformed, unsupported or too large is a KeyFileError.
 */
export function parsePublicKeyText(text: string): ParsedPublicKeyText {
  if (text.length > MAX_PUBLIC_KEY_TEXT) throw new KeyFileError(`a public key file is at most ${MAX_PUBLIC_KEY_TEXT} bytes`, 'malformed');
  const start = text.replace(/^\uFEFF/, '').trimStart();
  if (start.startsWith(RFC4716_BEGIN)) return parseRfc4716(start);
  if (start.startsWith('-----BEGIN ')) {
    if (/^-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(start)) throw new KeyFileError('this is a private key, not a public key', 'malformed');
    return parsePem(start);
  }
  const firstLine = start.split(/\r?\n/, 1)[0] ?? '';
  let line;
  try {
    line = parseOpenSshPublicKeyLine(firstLine);
  } catch (err) {
    throw new KeyFileError(`not a public key: ${err instanceof Error ? err.message : String(err)}`, 'malformed', { cause: err });
  }
  checkBlob(line.blob, 'OpenSSH public key');
  return { format: 'openssh', blob: line.blob, comment: line.comment, headers: [] };
}

/**
 * Writes a blob in a chosen form. `comment` goes into the OpenSSH line and
 * the RFC 4716 `Comment` header; the PEM forms have no place for it, and
 * hold only the key of a certificate, as with ssh-keygen.
 */
export function formatPublicKeyText(blob: Uint8Array, format: PublicKeyFormat, comment = ''): string {
  switch (format) {
    case 'openssh':
      return formatOpenSshPublicKeyLine(blob, comment) + '\n';
    case 'rfc4716':
      return formatRfc4716PublicKey(blob, comment);
    case 'pkcs8':
      return formatPkcs8PublicKey(blob);
    case 'pkcs1':
      return formatPkcs1PublicKey(blob);
  }
}

/** What `ssh-keygen -e -m PEM` writes: PKCS#1 for RSA, SubjectPublicKeyInfo for ECDSA. */
export function formatPemPublicKey(blob: Uint8Array): string {
  return blobKeyType(certifiedKey(blob) ?? blob) === 'ssh-rsa' ? formatPkcs1PublicKey(blob) : formatPkcs8PublicKey(blob);
}
