// Building a node:crypto private key from the values a key file stores,
// shared by the openssh-key-v1 and PuTTY readers.
import { createPrivateKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { b64url } from '../crypto/base64url.js';
import { bigintToBytes, bytesToBigint } from '../crypto/dh.js';
import { KeyFileError } from './pem.js';

/** Imports a private key from its JWK; values OpenSSL finds inconsistent are a `malformed` KeyFileError naming `what`. */
export function importPrivateJwk(jwk: JsonWebKey, what: string): KeyObject {
  try {
    return createPrivateKey({ key: jwk, format: 'jwk' });
  } catch (err) {
    throw new KeyFileError(`${what}: the key values are inconsistent`, 'malformed', { cause: err });
  }
}

/**
 * An RSA private key from what SSH formats store (n and e as base64url, d, p,
 * q and iqmp as big-endian bytes); d mod (p-1) and d mod (q-1), which they
 * leave out, are computed. The caller has checked p and q are at least 3.
 */
export function importRsaPrivateKey(parts: { n: string; e: string; d: Uint8Array; p: Uint8Array; q: Uint8Array; iqmp: Uint8Array }): KeyObject {
  const D = bytesToBigint(parts.d);
  const P = bytesToBigint(parts.p);
  const Q = bytesToBigint(parts.q);
  return importPrivateJwk(
    {
      kty: 'RSA',
      n: parts.n,
      e: parts.e,
      d: b64url(parts.d),
      p: b64url(parts.p),
      q: b64url(parts.q),
      dp: b64url(bigintToBytes(D % (P - 1n))),
      dq: b64url(bigintToBytes(D % (Q - 1n))),
      qi: b64url(parts.iqmp),
    },
    'RSA key',
  );
}
