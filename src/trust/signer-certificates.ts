// SSHSIG signatures made with an OpenSSH user certificate, as ssh-keygen -Y
// treats them: the SSHSIG publickey field holds the certificate, the
// signature is made by the certified key with its plain algorithm, and an
// allowed_signers `cert-authority` line trusts the certificate when its CA
// is the line's key, the CA's signature on it checks, it is a user
// certificate, valid at the verification time, and lists the principal
// asked for (sshkey_cert_check_authority with a required principal; critical
// options are not consulted: they concern logins, not signatures).
import { blobKeyType } from '../keys/blob.js';
import { isCertificateType, parseCertificate, type OpenSshCertificate } from '../keys/certificate.js';
import { DEFAULT_CA_SIGNATURE_ALGORITHMS } from '../keys/certificate-verify.js';
import { verifySignature } from '../keys/signature.js';
import type { SshSigKeyVerifier } from '../keys/sshsig.js';
import type { SignerCertificateSupport } from './allowed-signers.js';

/** The certificate in `blob` when it is one whose CA signature checks; undefined otherwise. */
function soundCertificate(blob: Uint8Array): OpenSshCertificate | undefined {
  try {
    if (!isCertificateType(blobKeyType(blob))) return undefined;
    const cert = parseCertificate(blob);
    if (!DEFAULT_CA_SIGNATURE_ALGORITHMS.includes(cert.signatureAlgorithm)) return undefined;
    return verifySignature(cert.signatureKey, cert.signatureAlgorithm, cert.signedData, cert.signature) ? cert : undefined;
  } catch {
    return undefined;
  }
}

/** The allowed_signers certificate checks (`cert-authority` lines), as ssh-keygen -Y verify and find-principals make them. */
export const signerCertificates: SignerCertificateSupport = Object.freeze({
  signatureKey(blob: Uint8Array): Uint8Array | undefined {
    return soundCertificate(blob)?.signatureKey;
  },
  refusal(blob: Uint8Array, time: Date, principal: string | undefined): string | undefined {
    const cert = soundCertificate(blob);
    if (!cert) return 'not a valid certificate';
    if (cert.kind !== 'user') return 'Certificate invalid: not a user certificate';
    const seconds = BigInt(Math.floor(time.getTime() / 1000));
    if (seconds < cert.validAfter) return 'Certificate invalid: not yet valid';
    if (seconds >= cert.validBefore) return 'Certificate invalid: expired';
    if (cert.principals.length === 0) return 'Certificate lacks principal list';
    if (principal !== undefined && !cert.principals.includes(principal)) return 'Certificate invalid: name is not a listed principal';
    return undefined;
  },
  principals(blob: Uint8Array): readonly string[] {
    return soundCertificate(blob)?.principals ?? [];
  },
});

/**
 * Verifies SSHSIG signatures by plain keys and by certificates (the
 * certified key's signature with the plain algorithm, on a certificate whose
 * CA signature checks), for verifySshSignature's `verifier`.
 */
export const sshSigCertificateVerifier: SshSigKeyVerifier = (publicKey, algorithm, data, signature) => {
  let keyType: string;
  try {
    keyType = blobKeyType(publicKey);
  } catch {
    return false;
  }
  if (!isCertificateType(keyType)) return verifySignature(publicKey, algorithm, data, signature);
  const cert = soundCertificate(publicKey);
  return cert !== undefined && verifySignature(cert.publicKey, algorithm, data, signature);
};
