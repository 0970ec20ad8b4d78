// Key fingerprints as `ssh-keygen -l` prints them (SHA256 base64, MD5 hex
// pairs) and the "randomart" picture of `ssh-keygen -lv`: the drunken-bishop
// walk OpenSSH draws from the fingerprint's raw digest.
import { createHash } from 'node:crypto';
import { ProtocolError } from '../errors.js';
import { Reader } from '../wire/reader.js';
import { Writer } from '../wire/writer.js';

export type FingerprintHash = 'sha256' | 'md5';

/** `SHA256:` and unpadded base64 of SHA-256(blob), as `ssh-keygen -l` prints. */
export function fingerprintSha256(blob: Uint8Array): string {
  return 'SHA256:' + createHash('sha256').update(blob).digest('base64').replace(/=+$/, '');
}

/** `MD5:` and the MD5 of the blob as colon-separated hex pairs (`ssh-keygen -l -E md5`). */
export function fingerprintMd5(blob: Uint8Array): string {
  const hex = createHash('md5').update(blob).digest('hex');
  return 'MD5:' + hex.replace(/(..)(?!$)/g, '$1:');
}

/**
 * The fingerprint `ssh-keygen -l -E <hash>` prints for a blob (default
 * SHA256): for a certificate, that of the key it certifies, as OpenSSH
 * fingerprints certificates by their plain key.
 */
export function fingerprint(blob: Uint8Array, hash: FingerprintHash = 'sha256'): string {
  const key = certifiedKey(blob) ?? blob;
  return hash === 'md5' ? fingerprintMd5(key) : fingerprintSha256(key);
}

/** What follows the nonce in a certificate of each base type, up to the end of the key (draft-ietf-sshm-cert). */
const CERT_KEY_FIELDS: Readonly<Record<string, readonly ('string' | 'mpint')[]>> = {
  'ssh-ed25519': ['string'],
  'ecdsa-sha2-nistp256': ['string', 'string'],
  'ecdsa-sha2-nistp384': ['string', 'string'],
  'ecdsa-sha2-nistp521': ['string', 'string'],
  'ssh-rsa': ['mpint', 'mpint'],
  'sk-ssh-ed25519@openssh.com': ['string', 'string'],
  'sk-ecdsa-sha2-nistp256@openssh.com': ['string', 'string', 'string'],
};

/** The base key type of a certificate type, or undefined when `type` is not one. */
export function certificateBase(type: string): string | undefined {
  if (!type.endsWith('-cert-v01@openssh.com')) return undefined;
  const base = type.replace('-cert-v01@openssh.com', type.startsWith('sk-') ? '@openssh.com' : '');
  return CERT_KEY_FIELDS[base] ? base : undefined;
}

/**
 * For a certificate blob, the plain public key blob it certifies (the base
 * type and the key fields after the nonce); undefined for any other blob.
 * Throws ProtocolError when a certificate's key fields are cut short.
 */
export function certifiedKey(blob: Uint8Array): Uint8Array | undefined {
  const r = new Reader(blob, 0, 'certificate');
  let type: string;
  try {
    type = r.text('key type', 256);
  } catch {
    return undefined;
  }
  const base = certificateBase(type);
  if (base === undefined) return undefined;
  r.string('certificate nonce', 1024);
  const w = new Writer(600).string(base);
  for (const field of CERT_KEY_FIELDS[base]!) {
    if (field === 'mpint') w.mpintFromBytes(r.mpintBytes('RSA parameter', 16 * 1024 + 1));
    else w.string(r.string('key field', 16 * 1024));
  }
  return w.finish().slice();
}

/** The short names `ssh-keygen` shows in brackets, by blob key type. */
const SHORT_NAMES: Readonly<Record<string, string>> = {
  'ssh-ed25519': 'ED25519',
  'ecdsa-sha2-nistp256': 'ECDSA',
  'ecdsa-sha2-nistp384': 'ECDSA',
  'ecdsa-sha2-nistp521': 'ECDSA',
  'ssh-rsa': 'RSA',
  'sk-ssh-ed25519@openssh.com': 'ED25519-SK',
  'sk-ecdsa-sha2-nistp256@openssh.com': 'ECDSA-SK',
  'ssh-ed25519-cert-v01@openssh.com': 'ED25519-CERT',
  'ecdsa-sha2-nistp256-cert-v01@openssh.com': 'ECDSA-CERT',
  'ecdsa-sha2-nistp384-cert-v01@openssh.com': 'ECDSA-CERT',
  'ecdsa-sha2-nistp521-cert-v01@openssh.com': 'ECDSA-CERT',
  'ssh-rsa-cert-v01@openssh.com': 'RSA-CERT',
  'sk-ssh-ed25519-cert-v01@openssh.com': 'ED25519-SK-CERT',
  'sk-ecdsa-sha2-nistp256-cert-v01@openssh.com': 'ECDSA-SK-CERT',
};

const FIXED_BITS: Readonly<Record<string, number>> = {
  'ssh-ed25519': 256,
  'ecdsa-sha2-nistp256': 256,
  'ecdsa-sha2-nistp384': 384,
  'ecdsa-sha2-nistp521': 521,
  'sk-ssh-ed25519@openssh.com': 256,
  'sk-ecdsa-sha2-nistp256@openssh.com': 256,
};

export interface KeyDescription {
  /** The blob's key type (`ssh-ed25519`). */
  readonly type: string;
  /** The name `ssh-keygen -l` prints in parentheses and the randomart header (`ED25519`). */
  readonly shortName: string;
  /** The key size in bits as `ssh-keygen -l` prints it (RSA: modulus bits). */
  readonly bits: number;
}

function bitLength(b: Uint8Array): number {
  let i = 0;
  while (i < b.length && b[i] === 0) i++;
  if (i === b.length) return 0;
  return (b.length - i - 1) * 8 + (32 - Math.clz32(b[i]!));
}

/**
 * The type, short name and size of a public key blob (plain or security-key;
 * certificates by their type name, with the size of the key they carry).
 * Reads only what it needs (the type; an RSA modulus): it does not validate
 * the key. Throws ProtocolError for a type it does not know or a blob cut short.
 */
export function describePublicKey(blob: Uint8Array): KeyDescription {
  const r = new Reader(blob, 0, 'public key');
  const type = r.text('key type', 256);
  const shortName = SHORT_NAMES[type];
  if (shortName === undefined) throw new ProtocolError(`unsupported public key type ${JSON.stringify(type)}`);
  const base = certificateBase(type) ?? type;
  const fixed = FIXED_BITS[base];
  if (fixed !== undefined) return { type, shortName, bits: fixed };
  // RSA: `e, n` in a plain key; a certificate has a nonce first and `e, n` after
  if (type !== 'ssh-rsa') r.string('certificate nonce', 1024);
  r.mpintBytes('RSA exponent', 16 * 1024 + 1);
  const n = r.mpintBytes('RSA modulus', 16 * 1024 + 1);
  return { type, shortName, bits: bitLength(n) };
}

// The field OpenSSH walks: 17 columns by 9 rows, the bishop starting in the middle.
const WIDTH = 17;
const HEIGHT = 9;
/** Symbols by visit count; the last two mark the start (S) and end (E) squares. */
const SYMBOLS = ' .o+=*BOX@%&#/^SE';
const MAX_COUNT = SYMBOLS.length - 1;

/** A border line with `label` centred as OpenSSH places it (extra dashes go right). */
function border(label: string): string {
  const left = Math.floor((WIDTH - label.length) / 2);
  return '+' + '-'.repeat(left) + label + '-'.repeat(Math.max(0, WIDTH - left - label.length)) + '+';
}

/**
 * The randomart picture of a raw digest, framed with `title` above (such as
 * `ED25519 256`) and `hashName` below (`SHA256`), lines joined with `\n` and
 * no final newline: the lines `ssh-keygen -lv` prints after the fingerprint.
 */
export function randomartFromDigest(digest: Uint8Array, title: string, hashName: string): string {
  const field = new Uint8Array(WIDTH * HEIGHT);
  let x = WIDTH >> 1;
  let y = HEIGHT >> 1;
  for (const byte of digest) {
    let input = byte;
    // each byte gives four moves, low bits first: bit 0 picks right/left, bit 1 down/up
    for (let step = 0; step < 4; step++) {
      x = Math.min(Math.max(x + (input & 1 ? 1 : -1), 0), WIDTH - 1);
      y = Math.min(Math.max(y + (input & 2 ? 1 : -1), 0), HEIGHT - 1);
      const at = y * WIDTH + x;
      if (field[at]! < MAX_COUNT - 2) field[at]!++;
      input >>= 2;
    }
  }
  field[(HEIGHT >> 1) * WIDTH + (WIDTH >> 1)] = MAX_COUNT - 1;
  field[y * WIDTH + x] = MAX_COUNT;
  // OpenSSH formats the title into a 17-byte buffer: when `[type bits]` does
  // not fit it falls back to `[type]`, which snprintf may still cut short.
  let head = `[${title}]`;
  if (head.length > WIDTH) head = `[${title.split(' ')[0] ?? ''}]`;
  head = head.slice(0, WIDTH - 1);
  const foot = `[${hashName}]`.slice(0, WIDTH - 1);
  const lines = [border(head)];
  for (let row = 0; row < HEIGHT; row++) {
    let line = '|';
    for (let col = 0; col < WIDTH; col++) line += SYMBOLS[Math.min(field[row * WIDTH + col]!, MAX_COUNT)];
    lines.push(line + '|');
  }
  lines.push(border(foot));
  return lines.join('\n');
}

/**
 * The randomart of a public key blob, byte for byte as `ssh-keygen -lv -E
 * <hash>` draws it; a certificate's picture is its key's, under a `-CERT` title.
 */
export function randomart(blob: Uint8Array, hash: FingerprintHash = 'sha256'): string {
  const { shortName, bits } = describePublicKey(blob);
  const digest = createHash(hash).update(certifiedKey(blob) ?? blob).digest();
  return randomartFromDigest(digest, `${shortName} ${bits}`, hash === 'md5' ? 'MD5' : 'SHA256');
}
