// How much work decrypting an `ENCRYPTED PRIVATE KEY` (PKCS#8) would take,
// read from the file before OpenSSL is asked to do it. The iteration count
// (PBKDF2, PKCS#12 PBE) or the scrypt parameters come from the file, and
// OpenSSL would run whatever they say on the event loop: a file claiming two
// billion iterations blocks the process for minutes. Only the few DER
// elements on the way to those numbers are read, each bounds-checked.
import { derChildren, type DerElement } from '../wire/der.js';

/** PBKDF2 / PBE iterations allowed: a few seconds at most on a slow machine. */
export const MAX_KDF_ITERATIONS = 10_000_000;
/** scrypt N·r·p allowed (N = 2^20, r = 8, p = 4 is at the limit). */
export const MAX_SCRYPT_WORK = 2 ** 25;

const OID_PBES2 = '1.2.840.113549.1.5.13';
const OID_PBKDF2 = '1.2.840.113549.1.5.12';
const OID_SCRYPT = '1.3.6.1.4.1.11591.4.11';

function oid(e: DerElement | undefined): string | null {
  if (!e || e.tag !== 0x06 || e.body.length === 0) return null;
  const b = e.body;
  const parts = [Math.floor(b[0]! / 40), b[0]! % 40];
  let v = 0;
  for (let i = 1; i < b.length; i++) {
    v = v * 128 + (b[i]! & 0x7f);
    if (!(b[i]! & 0x80)) {
      parts.push(v);
      v = 0;
    }
  }
  return parts.join('.');
}

/** A non-negative INTEGER, as a number (Infinity when it does not fit 2^53). */
function integer(e: DerElement | undefined): number | null {
  if (!e || e.tag !== 0x02 || e.body.length === 0) return null;
  if (e.body[0]! & 0x80) return null;
  let v = 0;
  for (const byte of e.body) v = v * 256 + byte;
  return Number.isSafeInteger(v) ? v : Infinity;
}

const SEQUENCE = 0x30;

/**
 * Why decrypting this PKCS#8 DER would cost too much, or null when it is
 * within the limits (or not a shape this reads: OpenSSL then judges it).
 */
export function excessiveKdf(der: Uint8Array): string | null {
  const top = derChildren(der);
  const info = top?.[0];
  if (!info || info.tag !== SEQUENCE) return null;
  const [algorithm] = derChildren(info.body) ?? [];
  if (!algorithm || algorithm.tag !== SEQUENCE) return null;
  const [algOid, params] = derChildren(algorithm.body) ?? [];
  const name = oid(algOid);
  if (!params || params.tag !== SEQUENCE) return null;
  const p = derChildren(params.body) ?? [];
  if (name !== OID_PBES2) {
    // PKCS#5 v1 / PKCS#12 PBE: { salt, iterations }
    const iterations = integer(p[1]);
    return iterations !== null && iterations > MAX_KDF_ITERATIONS ? `${iterations} key derivation iterations` : null;
  }
  const kdf = p[0];
  if (!kdf || kdf.tag !== SEQUENCE) return null;
  const [kdfOid, kdfParams] = derChildren(kdf.body) ?? [];
  if (!kdfParams || kdfParams.tag !== SEQUENCE) return null;
  const k = derChildren(kdfParams.body) ?? [];
  const kdfName = oid(kdfOid);
  if (kdfName === OID_PBKDF2) {
    const iterations = integer(k[1]);
    return iterations !== null && iterations > MAX_KDF_ITERATIONS ? `${iterations} PBKDF2 iterations` : null;
  }
  if (kdfName === OID_SCRYPT) {
    const [n, r, par] = [integer(k[1]), integer(k[2]), integer(k[3])];
    if (n === null || r === null || par === null) return null;
    return n * r * par > MAX_SCRYPT_WORK ? `scrypt with N=${n}, r=${r}, p=${par}` : null;
  }
  return null;
}
