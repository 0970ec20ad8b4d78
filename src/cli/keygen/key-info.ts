// How ssh-keygen names keys in its output: the short type (`ED25519`,
// `ECDSA`, `RSA`, `-SK` and `-CERT` variants, as sshkey_type) and the size
// in bits (as sshkey_size).
import { parsePublicKey } from '../../keys-entry.js';

const SHORT_NAMES: ReadonlyMap<string, string> = new Map([
  ['ssh-ed25519', 'ED25519'],
  ['ecdsa-sha2-nistp256', 'ECDSA'],
  ['ecdsa-sha2-nistp384', 'ECDSA'],
  ['ecdsa-sha2-nistp521', 'ECDSA'],
  ['ssh-rsa', 'RSA'],
  ['ssh-dss', 'DSA'],
  ['sk-ssh-ed25519@openssh.com', 'ED25519-SK'],
  ['sk-ecdsa-sha2-nistp256@openssh.com', 'ECDSA-SK'],
]);

const CERT_SUFFIX = '-cert-v01@openssh.com';

/** `ED25519`, `ECDSA-SK`, `RSA-CERT`...; `unknown` for a type ssh-keygen would not know. */
export function shortKeyType(keyType: string): string {
  if (keyType.endsWith(CERT_SUFFIX)) {
    const plain = keyType.slice(0, -CERT_SUFFIX.length).replace(/^sk-(ssh-ed25519|ecdsa-sha2-nistp256)$/, 'sk-$1@openssh.com');
    return `${SHORT_NAMES.get(plain) ?? 'unknown'}-CERT`;
  }
  return SHORT_NAMES.get(keyType) ?? 'unknown';
}

const FIXED_BITS: ReadonlyMap<string, number> = new Map([
  ['ssh-ed25519', 256],
  ['ecdsa-sha2-nistp256', 256],
  ['ecdsa-sha2-nistp384', 384],
  ['ecdsa-sha2-nistp521', 521],
  ['sk-ssh-ed25519@openssh.com', 256],
  ['sk-ecdsa-sha2-nistp256@openssh.com', 256],
]);

/** The key size ssh-keygen -l prints: the curve size, or the RSA modulus length. */
export function keyBits(keyType: string, blob: Uint8Array): number {
  const fixed = FIXED_BITS.get(keyType);
  if (fixed !== undefined) return fixed;
  if (keyType === 'ssh-rsa') return parsePublicKey(blob).keyObject.asymmetricKeyDetails?.modulusLength ?? 0;
  return 0;
}
