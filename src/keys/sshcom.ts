// SSH Communications Security's private key files (`---- BEGIN SSH2
// ENCRYPTED PRIVATE KEY ----`, also written by PuTTYgen's "export ssh.com
// key"), read as `ssh-keygen -i` reads them: RSA keys stored without a
// cipher. The body is base64 of
//   uint32 magic 0x3f6ff9eb, uint32 total length, string key type,
//   string cipher ("none"), three uint32 (lengths), then for RSA:
//   e as one byte (or, below 30, three), and d, n, iqmp, q, p each as
//   uint32 bit count + big-endian bytes.
// Pure and bounds-checked: every length is checked against what is left.
import { createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { b64url } from '../crypto/base64url.js';
import { bigintToBytes } from '../crypto/dh.js';
import { Reader } from '../wire/reader.js';
import { ProtocolError } from '../errors.js';
import { KeyFileError } from './pem.js';
import { importRsaPrivateKey } from './private-parts.js';

export const SSHCOM_PRIVATE_BEGIN = '---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----';
const SSHCOM_MAGIC = 0x3f6ff9eb;
/** RSA keys OpenSSH accepts are at most 16384 bits. */
const MAX_NUMBER_BITS = 16384;
/** Far above any real key file: bounds the work on garbage. */
const MAX_SSHCOM_TEXT = 64 * 1024;

/** True when `text` starts (after blank lines) as an SSH.com private key file. */
export function isSshComPrivateKey(text: string): boolean {
  return text.trimStart().startsWith(SSHCOM_PRIVATE_BEGIN);
}

/**
 * The base64 body as ssh-keygen's do_convert_from_ssh2 collects it: header
 * lines (`Name: value`, continued by a trailing backslash) and the armor
 * lines are skipped, up to the END line.
 */
function body(text: string): Uint8Array {
  let encoded = '';
  let continued = 0;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (line.endsWith('\\')) continued++;
    if (line.startsWith('----') || line.includes(': ')) {
      if (line.includes(' END ')) break;
      continue;
    }
    if (continued > 0) {
      continued--;
      continue;
    }
    encoded += line.trim();
  }
  // A stray "===" some writers leave is ignored, as ssh-keygen does.
  if (encoded.length % 4 === 3 && encoded.endsWith('===')) encoded = encoded.slice(0, -3);
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(encoded) || encoded.length % 4 !== 0) throw new KeyFileError('corrupt SSH.com key file: the body is not base64', 'malformed');
  return new Uint8Array(Buffer.from(encoded, 'base64'));
}

/** SSH.com's multiple-precision number: a 32-bit bit count, then the bytes. */
function readBits(r: Reader, what: string): Uint8Array {
  const bits = r.uint32(`${what} bit count`);
  if (bits > MAX_NUMBER_BITS) throw new KeyFileError(`SSH.com key: ${what} has ${bits} bits, more than ${MAX_NUMBER_BITS}`, 'unsupported');
  return r.raw(Math.ceil(bits / 8), what);
}

function strip(b: Uint8Array): Uint8Array {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  return b.subarray(i);
}

/**
 * The private key in an SSH.com private key file. KeyFileError problems:
 * `unsupported-cipher` (an encrypted file: ssh-keygen reads none either),
 * `unknown-key-type` (not RSA), `truncated`, `malformed`, `too-large`.
 */
export function parseSshComPrivateKey(text: string): KeyObject {
  if (text.length > MAX_SSHCOM_TEXT) throw new KeyFileError('not an SSH.com key file (larger than 64 KiB)', 'too-large');
  try {
    const data = body(text);
    const r = new Reader(data, 0, 'SSH.com private key');
    const magic = r.uint32('magic');
    if (magic !== SSHCOM_MAGIC) throw new KeyFileError(`corrupt SSH.com key file: bad magic 0x${magic.toString(16)}`, 'malformed');
    r.uint32('total length');
    const type = r.text('key type', 1024);
    const cipher = r.text('cipher', 256);
    // the key data's length, then two more words ssh-keygen skips too (an inner length and e's bit count)
    r.uint32('key data length');
    r.uint32('key data field');
    r.uint32('key data field');
    if (cipher !== 'none') throw new KeyFileError(`SSH.com key encrypted with ${cipher.slice(0, 64)}: only unencrypted ones can be read`, 'unsupported-cipher');
    if (!type.includes('rsa')) throw new KeyFileError(`SSH.com key of type ${type.slice(0, 80)}: only RSA keys can be read`, 'unknown-key-type');
    let e = r.byte('e');
    if (e < 30) e = (e << 16) | (r.byte('e') << 8) | r.byte('e');
    const d = strip(readBits(r, 'd'));
    const n = strip(readBits(r, 'n'));
    const iqmp = strip(readBits(r, 'iqmp'));
    const q = strip(readBits(r, 'q'));
    const p = strip(readBits(r, 'p'));
    if (e < 3 || p.length === 0 || q.length === 0 || (p.length === 1 && p[0]! < 3) || (q.length === 1 && q[0]! < 3)) {
      throw new KeyFileError('corrupt SSH.com key file: impossible RSA values', 'malformed');
    }
    const key = importRsaPrivateKey({ n: b64url(n), e: b64url(bigintToBytes(BigInt(e))), d, p, q, iqmp });
    // as ssh-keygen "tries the key": OpenSSL imports values that do not belong together
    const probe = new TextEncoder().encode('abcde12345');
    if (!verify('sha256', probe, createPublicKey(key), sign('sha256', probe, key))) throw new KeyFileError('corrupt SSH.com key file: the RSA values do not belong together', 'malformed');
    return key;
  } catch (err) {
    if (err instanceof KeyFileError) throw err;
    const message = err instanceof Error ? err.message : String(err);
    if (err instanceof ProtocolError && /runs past the end/.test(message)) throw new KeyFileError(`truncated SSH.com key file (${message})`, 'truncated', { cause: err });
    throw new KeyFileError(`corrupt SSH.com key file (${message})`, 'malformed', { cause: err });
  }
}
