// A private key as an agent's ADD_IDENTITY carries it (PROTOCOL.agent): the
// fields of the key file's private section, or for a certificate, the
// certificate blob and then only the private parts it does not hold.
import type { KeyObject } from 'node:crypto';
import { Writer } from '../wire/writer.js';
import { fromB64url } from '../crypto/base64url.js';
import { encodePublicKey, sshKeyType } from './blob.js';
import { parseCertificate } from './certificate.js';
import { writePrivateFields } from './openssh-writer.js';
import { KeyFileError } from './pem.js';

export interface AgentKeyFields {
  /** `ssh-ed25519`, or the certificate's type (`ssh-ed25519-cert-v01@openssh.com`). */
  readonly keyType: string;
  readonly fields: Uint8Array;
}

/** `key`'s fields for an agent, presented with `certificate` (a certificate blob of that key) when given. */
export function agentKeyFields(key: KeyObject, certificate?: Uint8Array): AgentKeyFields {
  if (key.type !== 'private') throw new KeyFileError('an agent needs the private key', 'unsupported');
  const type = sshKeyType(key);
  const w = new Writer(1024);
  if (!certificate) {
    writePrivateFields(w, key, type);
    return { keyType: type, fields: w.finish() };
  }
  const cert = parseCertificate(certificate);
  const pub = encodePublicKey(key);
  if (cert.publicKey.length !== pub.length || cert.publicKey.some((b, i) => b !== pub[i])) {
    throw new KeyFileError('the certificate is for another key', 'malformed');
  }
  w.string(certificate);
  const jwk = key.export({ format: 'jwk' });
  if (type === 'ssh-ed25519') {
    // the Ed25519 fields hold the public half too, certificate or not
    writePrivateFields(w, key, type);
  } else if (type === 'ssh-rsa') {
    for (const [field, what] of [['d', 'RSA d'], ['qi', 'RSA iqmp'], ['p', 'RSA p'], ['q', 'RSA q']] as const) w.mpintFromBytes(fromB64url(jwk[field], what));
  } else {
    w.mpintFromBytes(fromB64url(jwk.d, 'EC private scalar'));
  }
  return { keyType: cert.certType, fields: w.finish() };
}
