// Host key (server signature) algorithms, in OpenSSH 10's default order.
// ssh-rsa signs with SHA-1 and is only offered when configured. User keys may
// also be security keys (sk-), whose algorithms only userKeyAlgorithms lists.
import type { HostKeyAlgorithm } from './types.js';
import { ProtocolError } from '../errors.js';
import { SIGNATURE_ALGORITHMS, verifySignature } from '../keys/signature.js';
import { checkPublicKey } from '../keys/blob.js';
import { SECURITY_KEY_TYPES, parseSecurityKeyBlob, verifySecurityKeySignature, type SecurityKeyType } from '../keys/security-key.js';

function entry(name: string, secure: boolean): HostKeyAlgorithm {
  const info = SIGNATURE_ALGORITHMS[name];
  if (!info) throw new Error(`no signature algorithm ${name}`);
  return Object.freeze({
    name,
    secure,
    keyType: info.keyType,
    checkKey: (publicBlob: Uint8Array) => {
      const type = checkPublicKey(publicBlob);
      if (type !== info.keyType) throw new ProtocolError(`a ${type} key cannot sign with ${name}`);
    },
    verify: (publicBlob: Uint8Array, data: Uint8Array, signatureBlob: Uint8Array) => verifySignature(publicBlob, name, data, signatureBlob),
  });
}

export const hostKeyAlgorithms: readonly HostKeyAlgorithm[] = Object.freeze([
  entry('ssh-ed25519', true),
  entry('ecdsa-sha2-nistp256', true),
  entry('ecdsa-sha2-nistp384', true),
  entry('ecdsa-sha2-nistp521', true),
  entry('rsa-sha2-512', true),
  entry('rsa-sha2-256', true),
  entry('ssh-rsa', false),
]);

const byName = new Map(hostKeyAlgorithms.map((a) => [a.name, a]));

export function findHostKeyAlgorithm(name: string): HostKeyAlgorithm | undefined {
  return byName.get(name);
}

/** Signature algorithms Nacre accepts for user keys by default: the secure host key algorithms. */
export function secureSignatureAlgorithms(): string[] {
  return hostKeyAlgorithms.filter((a) => a.secure).map((a) => a.name);
}

/**
 * A security-key algorithm: its signatures verify with user presence
 * required. The server's publickey check calls verifySecurityKeySignature
 * itself when a key's policy allows no touch.
 */
function securityKeyEntry(name: SecurityKeyType): HostKeyAlgorithm {
  return Object.freeze({
    name,
    secure: true,
    keyType: name,
    checkKey: (publicBlob: Uint8Array) => {
      const type = parseSecurityKeyBlob(publicBlob).type;
      if (type !== name) throw new ProtocolError(`a ${type} key cannot sign with ${name}`);
    },
    verify: (publicBlob: Uint8Array, data: Uint8Array, signatureBlob: Uint8Array) =>
      verifySecurityKeySignature(publicBlob, data, signatureBlob).valid,
  });
}

/**
 * Algorithms a user key may sign with: the host key algorithms and the
 * security-key (`sk-`) ones, which only a user's FIDO token signs with.
 */
export const userKeyAlgorithms: readonly HostKeyAlgorithm[] = Object.freeze([
  ...hostKeyAlgorithms,
  ...SECURITY_KEY_TYPES.map(securityKeyEntry),
]);

const userByName = new Map(userKeyAlgorithms.map((a) => [a.name, a]));

export function findUserKeyAlgorithm(name: string): HostKeyAlgorithm | undefined {
  return userByName.get(name);
}

/** Signature algorithms a server accepts for user keys by default, security keys included (as sshd's PubkeyAcceptedAlgorithms). */
export function secureUserKeyAlgorithms(): string[] {
  return userKeyAlgorithms.filter((a) => a.secure).map((a) => a.name);
}
