// Host key (server signature) algorithms, in OpenSSH 10's default order.
// ssh-rsa signs with SHA-1 and is only offered when configured. User keys may
// also be security keys (sk-), whose algorithms only userKeyAlgorithms lists.
import type { HostKeyAlgorithm } from './types.js';
import { ProtocolError } from '../errors.js';
import { SIGNATURE_ALGORITHMS, verifySignature } from '../keys/signature.js';
import { checkPublicKey } from '../keys/blob.js';
import { SECURITY_KEY_TYPES, WEBAUTHN_SK_ECDSA, parseSecurityKeyBlob, verifySecurityKeySignature, type SecurityKeyType } from '../keys/security-key.js';
import { CERTIFICATE_KEY_TYPES, parseCertificate, plainSignatureAlgorithm } from '../keys/certificate.js';
import { verifyCertifiedKeySignature } from '../keys/host-certificate.js';

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

/**
 * A host certificate algorithm (PROTOCOL.certkeys): the blob is a certificate
 * of `certType`, the signature is made by the certified key with the plain
 * algorithm. The certificate's CA and validity are the client's policy, not
 * the exchange's: checkKey looks at its structure only.
 */
function certEntry(name: string, certType: string, secure: boolean): HostKeyAlgorithm {
  const plain = plainSignatureAlgorithm(name);
  const plainAlg = plain === null ? undefined : hostKeyAlgorithms.find((a) => a.name === plain);
  if (!plainAlg || CERTIFICATE_KEY_TYPES[certType] !== plainAlg.keyType) throw new Error(`no certificate algorithm ${name}`);
  return Object.freeze({
    name,
    secure,
    keyType: certType,
    checkKey: (publicBlob: Uint8Array) => {
      // a CertificateError (a ProtocolError) names what is wrong with it
      const cert = parseCertificate(publicBlob);
      if (cert.certType !== certType) throw new ProtocolError(`a ${cert.certType} certificate cannot sign with ${name}`);
      plainAlg.checkKey(cert.publicKey);
    },
    verify: (publicBlob: Uint8Array, data: Uint8Array, signatureBlob: Uint8Array) => verifyCertifiedKeySignature(publicBlob, name, data, signatureBlob),
  });
}

/**
 * Host certificate algorithms, in OpenSSH 10's default order (it lists them
 * before the plain ones). `ssh-rsa-cert-v01@openssh.com` signs with SHA-1.
 */
export const hostCertificateAlgorithms: readonly HostKeyAlgorithm[] = Object.freeze([
  certEntry('ssh-ed25519-cert-v01@openssh.com', 'ssh-ed25519-cert-v01@openssh.com', true),
  certEntry('ecdsa-sha2-nistp256-cert-v01@openssh.com', 'ecdsa-sha2-nistp256-cert-v01@openssh.com', true),
  certEntry('ecdsa-sha2-nistp384-cert-v01@openssh.com', 'ecdsa-sha2-nistp384-cert-v01@openssh.com', true),
  certEntry('ecdsa-sha2-nistp521-cert-v01@openssh.com', 'ecdsa-sha2-nistp521-cert-v01@openssh.com', true),
  certEntry('rsa-sha2-512-cert-v01@openssh.com', 'ssh-rsa-cert-v01@openssh.com', true),
  certEntry('rsa-sha2-256-cert-v01@openssh.com', 'ssh-rsa-cert-v01@openssh.com', true),
  certEntry('ssh-rsa-cert-v01@openssh.com', 'ssh-rsa-cert-v01@openssh.com', false),
]);

/** Every host key algorithm a KEXINIT may name, certificates first as in OpenSSH's default list. */
export const allHostKeyAlgorithms: readonly HostKeyAlgorithm[] = Object.freeze([...hostCertificateAlgorithms, ...hostKeyAlgorithms]);

/** True for the `*-cert-v01@openssh.com` host key algorithms. */
export function isHostCertificateAlgorithm(name: string): boolean {
  return hostCertificateAlgorithms.some((a) => a.name === name);
}

const byName = new Map(allHostKeyAlgorithms.map((a) => [a.name, a]));

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
function securityKeyEntry(keyType: SecurityKeyType, name: string = keyType): HostKeyAlgorithm {
  return Object.freeze({
    name,
    secure: true,
    keyType,
    checkKey: (publicBlob: Uint8Array) => {
      const type = parseSecurityKeyBlob(publicBlob).type;
      if (type !== keyType) throw new ProtocolError(`a ${type} key cannot sign with ${name}`);
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
  ...SECURITY_KEY_TYPES.map((t) => securityKeyEntry(t)),
  // an sk-ecdsa key used through a browser: the same key, a WebAuthn signature (sshd accepts it by default)
  securityKeyEntry('sk-ecdsa-sha2-nistp256@openssh.com', WEBAUTHN_SK_ECDSA),
]);

const userByName = new Map(userKeyAlgorithms.map((a) => [a.name, a]));

export function findUserKeyAlgorithm(name: string): HostKeyAlgorithm | undefined {
  return userByName.get(name);
}

/** Signature algorithms a server accepts for user keys by default, security keys included (as sshd's PubkeyAcceptedAlgorithms). */
export function secureUserKeyAlgorithms(): string[] {
  return userKeyAlgorithms.filter((a) => a.secure).map((a) => a.name);
}
