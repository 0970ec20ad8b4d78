// base64url for JWK fields: node:crypto imports raw key material fastest (and
// with OpenSSL's own validation) as JWK, whose numbers and keys are base64url.
import { ProtocolError } from '../errors.js';

export function b64url(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64url');
}

export function fromB64url(s: string | undefined, what: string): Uint8Array {
  if (typeof s !== 'string') throw new ProtocolError(`${what} is missing`);
  return new Uint8Array(Buffer.from(s, 'base64url'));
}
