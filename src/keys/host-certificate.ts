// Host certificates in the key exchange (PROTOCOL.certkeys): the server sends
// the certificate blob as its host key K_S and signs the exchange hash with the
// certified key under the plain algorithm name (an
// `rsa-sha2-512-cert-v01@openssh.com` exchange carries an `rsa-sha2-512`
// signature), as sshd does with HostCertificate. Whether the client trusts the
// certificate (its CA, principals, validity) is decided after the exchange.
import type { Signer } from '../algorithms/types.js';
import { constantTimeEqual } from '../wire/bytes.js';
import {
  CertificateError,
  certificateSignatureAlgorithms,
  parseCertificate,
  parseCertificateLine,
  plainSignatureAlgorithm,
  type OpenSshCertificate,
} from './certificate.js';
import { verifySignature } from './signature.js';

/** A certificate as the API takes it: parsed, its blob, or its `-cert.pub` line. */
export type CertificateInput = OpenSshCertificate | Uint8Array | string;

/** Parses a certificate given in any of the accepted forms (CertificateError when it is not one). */
export function toCertificate(input: CertificateInput): OpenSshCertificate {
  if (typeof input === 'string') return parseCertificateLine(input).certificate;
  if (input instanceof Uint8Array) return parseCertificate(input);
  return parseCertificate(input.blob);
}

/** True when `certificate` certifies the key whose public blob is `publicBlob`. */
export function certifies(certificate: OpenSshCertificate, publicBlob: Uint8Array): boolean {
  return certificate.publicKey.length === publicBlob.length && constantTimeEqual(certificate.publicKey, publicBlob);
}

/**
 * A host key signer that presents `certificate` in the key exchange: its
 * `keyType` is the certificate type, so the server offers the
 * `*-cert-v01@openssh.com` host key algorithms for it, and it signs with `key`.
 * CertificateError (`wrong-type`, `malformed`) when the certificate is not a
 * host certificate for `key`.
 */
export function hostCertificateSigner(key: Signer, certificate: CertificateInput): Signer {
  const cert = toCertificate(certificate);
  if (cert.kind !== 'host') throw new CertificateError(`a ${cert.kind} certificate cannot be a host certificate`, 'wrong-type');
  if (!certifies(cert, key.publicBlob)) throw new CertificateError('the host certificate is for another key than the host key given', 'malformed');
  const accepted = certificateSignatureAlgorithms(cert.certType);
  return Object.freeze({
    keyType: cert.certType,
    publicBlob: cert.blob,
    sign(algorithm: string, data: Uint8Array): Uint8Array {
      const plain = plainSignatureAlgorithm(algorithm);
      if (plain === null || !accepted.includes(algorithm)) throw new RangeError(`a ${cert.certType} certificate cannot sign with ${algorithm}`);
      return key.sign(plain, data);
    },
  });
}

/**
 * True when `signatureBlob` is a signature of `data` by the key certified in
 * `certificateBlob`, made with the plain algorithm behind the certificate
 * algorithm `algorithm`. Says nothing about the CA; never throws.
 */
export function verifyCertifiedKeySignature(certificateBlob: Uint8Array, algorithm: string, data: Uint8Array, signatureBlob: Uint8Array): boolean {
  try {
    const cert = parseCertificate(certificateBlob);
    const plain = plainSignatureAlgorithm(algorithm);
    if (plain === null || !certificateSignatureAlgorithms(cert.certType).includes(algorithm)) return false;
    return verifySignature(cert.publicKey, plain, data, signatureBlob);
  } catch {
    return false;
  }
}
