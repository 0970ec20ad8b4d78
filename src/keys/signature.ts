// SSH signature blobs: `string algorithm || string signature` (RFC 4253 §6.6).
// ECDSA puts `mpint r || mpint s` inside (RFC 5656 §3.1.2), Ed25519 the 64 raw
// bytes (RFC 8709 §6), RSA the PKCS#1 v1.5 signature (RFC 8332 §3).
import { sign as nodeSign, verify as nodeVerify, constants, type KeyObject } from 'node:crypto';
import { ProtocolError } from '../errors.js';
import { Reader } from '../wire/reader.js';
import { Writer } from '../wire/writer.js';
import { ECDSA_CURVES, parsePublicKey, type ParsedPublicKey, type PublicKeyType } from './blob.js';

export interface SignatureAlgorithmInfo {
  readonly name: string;
  readonly keyType: PublicKeyType;
  /** Digest handed to node:crypto; null for Ed25519, which hashes internally. */
  readonly hash: 'sha1' | 'sha256' | 'sha384' | 'sha512' | null;
}

export const SIGNATURE_ALGORITHMS: Readonly<Record<string, SignatureAlgorithmInfo>> = {
  'ssh-ed25519': { name: 'ssh-ed25519', keyType: 'ssh-ed25519', hash: null },
  'ecdsa-sha2-nistp256': { name: 'ecdsa-sha2-nistp256', keyType: 'ecdsa-sha2-nistp256', hash: 'sha256' },
  'ecdsa-sha2-nistp384': { name: 'ecdsa-sha2-nistp384', keyType: 'ecdsa-sha2-nistp384', hash: 'sha384' },
  'ecdsa-sha2-nistp521': { name: 'ecdsa-sha2-nistp521', keyType: 'ecdsa-sha2-nistp521', hash: 'sha512' },
  'rsa-sha2-512': { name: 'rsa-sha2-512', keyType: 'ssh-rsa', hash: 'sha512' },
  'rsa-sha2-256': { name: 'rsa-sha2-256', keyType: 'ssh-rsa', hash: 'sha256' },
  'ssh-rsa': { name: 'ssh-rsa', keyType: 'ssh-rsa', hash: 'sha1' },
};

/** Signature algorithms a key type can sign with, best first. */
export function signatureAlgorithmsFor(keyType: string): string[] {
  if (keyType === 'ssh-rsa') return ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'];
  return SIGNATURE_ALGORITHMS[keyType] ? [keyType] : [];
}

/** Makes the signature blob for `data`; the caller has checked the key type fits. */
export function signWithKey(privateKey: KeyObject, keyType: PublicKeyType, algorithm: string, data: Uint8Array): Uint8Array {
  const info = SIGNATURE_ALGORITHMS[algorithm];
  if (!info || info.keyType !== keyType) throw new ProtocolError(`a ${keyType} key cannot sign with ${algorithm}`);
  const w = new Writer(600).string(algorithm);
  if (keyType === 'ssh-ed25519') {
    w.string(nodeSign(null, data, privateKey));
  } else if (keyType === 'ssh-rsa') {
    w.string(nodeSign(info.hash, data, { key: privateKey, padding: constants.RSA_PKCS1_PADDING }));
  } else {
    const curve = ECDSA_CURVES[keyType]!;
    const rs = nodeSign(info.hash, data, { key: privateKey, dsaEncoding: 'ieee-p1363' });
    const inner = new Writer(160)
      .mpintFromBytes(rs.subarray(0, curve.fieldBytes))
      .mpintFromBytes(rs.subarray(curve.fieldBytes))
      .finish();
    w.string(inner);
  }
  return w.finish().slice();
}

function leftPad(b: Uint8Array, n: number): Uint8Array | null {
  if (b.length > n) return null;
  const out = new Uint8Array(n);
  out.set(b, n - b.length);
  return out;
}

/**
 * True when `signatureBlob` is a valid `algorithm` signature of `data` by the
 * key in `publicBlob`. The blob must name exactly `algorithm`. Never throws.
 */
export function verifySignature(publicBlob: Uint8Array, algorithm: string, data: Uint8Array, signatureBlob: Uint8Array): boolean {
  try {
    if (!SIGNATURE_ALGORITHMS[algorithm]) return false;
    return verifyParsedSignature(parsePublicKey(publicBlob), algorithm, data, signatureBlob);
  } catch {
    return false;
  }
}

/**
 * verifySignature for a key parsed already (`parsePublicKey`): a server that
 * checked the user's key when the request came in verifies with that import
 * rather than a second one. Never throws.
 */
export function verifyParsedSignature(key: ParsedPublicKey, algorithm: string, data: Uint8Array, signatureBlob: Uint8Array): boolean {
  try {
    const info = SIGNATURE_ALGORITHMS[algorithm];
    if (!info) return false;
    if (key.type !== info.keyType) return false;
    const r = new Reader(signatureBlob, 0, 'signature');
    const name = r.text('signature algorithm', 256);
    const sig = r.string('signature', 4096);
    r.end();
    if (name !== algorithm) return false;
    if (info.keyType === 'ssh-ed25519') {
      return sig.length === 64 && nodeVerify(null, data, key.keyObject, sig);
    }
    if (info.keyType === 'ssh-rsa') {
      const modulusBytes = Math.ceil((key.keyObject.asymmetricKeyDetails?.modulusLength ?? 0) / 8);
      // some signers drop leading zero bytes; OpenSSH pads them back, and so do we
      const padded = leftPad(sig, modulusBytes);
      if (!padded || sig.length === 0) return false;
      return nodeVerify(info.hash, data, { key: key.keyObject, padding: constants.RSA_PKCS1_PADDING }, padded);
    }
    const curve = ECDSA_CURVES[info.keyType]!;
    const inner = new Reader(sig, 0, 'ECDSA signature');
    const rBytes = inner.mpintBytes('r', curve.fieldBytes + 1);
    const sBytes = inner.mpintBytes('s', curve.fieldBytes + 1);
    inner.end();
    const rp = leftPad(rBytes, curve.fieldBytes);
    const sp = leftPad(sBytes, curve.fieldBytes);
    if (!rp || !sp || rBytes.length === 0 || sBytes.length === 0) return false;
    const p1363 = new Uint8Array(2 * curve.fieldBytes);
    p1363.set(rp, 0);
    p1363.set(sp, curve.fieldBytes);
    return nodeVerify(info.hash, data, { key: key.keyObject, dsaEncoding: 'ieee-p1363' }, p1363);
  } catch {
    return false;
  }
}
