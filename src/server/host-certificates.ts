// sshd's HostCertificate: each certificate is paired with the host key it
// certifies and becomes one more host key signer, offered under the
// `*-cert-v01@openssh.com` algorithms.
import type { Signer } from '../algorithms/types.js';
import { CertificateError } from '../keys/certificate.js';
import { certifies, hostCertificateSigner, toCertificate, type CertificateInput } from '../keys/host-certificate.js';

/** `hostKeys` followed by a signer per certificate; CertificateError when one certifies none of the keys. */
export function hostKeySigners(hostKeys: readonly Signer[], certificates: readonly CertificateInput[]): Signer[] {
  const signers = [...hostKeys];
  const types = new Set<string>();
  for (const input of certificates) {
    const cert = toCertificate(input);
    const key = hostKeys.find((k) => certifies(cert, k.publicBlob));
    if (!key) throw new CertificateError(`createServer: host certificate ${JSON.stringify(cert.keyId.slice(0, 80))} certifies none of the host keys`, 'malformed');
    // the exchange picks a host key by type: a second certificate of a type would never be shown
    if (types.has(cert.certType)) throw new CertificateError(`createServer: more than one ${cert.certType} host certificate`, 'malformed');
    types.add(cert.certType);
    signers.push(hostCertificateSigner(key, cert));
  }
  return signers;
}
