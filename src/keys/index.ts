// The key model: SSH public blobs, fingerprints, signers and key files.
export {
  encodePublicKey,
  parsePublicKey,
  blobKeyType,
  fingerprintSha256,
  parseOpenSshPublicKeyLine,
  formatOpenSshPublicKeyLine,
  sshKeyType,
  type PublicKeyType,
  type ParsedPublicKey,
  type PublicKeyLine,
} from './blob.js';
export { signatureAlgorithmsFor, verifySignature, SIGNATURE_ALGORITHMS, type SignatureAlgorithmInfo } from './signature.js';
export { signerFromKeyObject, generateHostKey, type HostKeyType, type KeySigner, type AuthSigner } from './signer.js';
export {
  signerFromOpenSshPrivateKey,
  signerFromPrivateKeyFile,
  loadPrivateKey,
  parseOpenSshPrivateKey,
  MAX_KDF_ROUNDS,
  type LoadedPrivateKey,
} from './openssh.js';
export { KeyFileError, sniffKeyFile, MAX_KEY_FILE_BYTES, type KeyFileProblem, type KeyFileFormat, type SniffedKeyFile } from './pem.js';
// SSHSIG: ssh-keygen -Y sign / verify signatures (PROTOCOL.sshsig).
export {
  signSshSignature,
  verifySshSignature,
  parseSshSignature,
  formatSshSignature,
  encodeSshSignature,
  decodeSshSignature,
  armorSshSignature,
  dearmorSshSignature,
  sshSigSignedData,
  sshSigSignatureAlgorithm,
  SshSignatureError,
  SSHSIG_MAGIC,
  SSHSIG_VERSION,
  SSHSIG_DEFAULT_HASH,
  MAX_SSHSIG_ARMOR_BYTES,
  type SshSignature,
  type SshSignatureProblem,
  type SshSigHashAlgorithm,
  type SshSigDigest,
  type SshSigMessage,
  type SshSigKeyVerifier,
  type SignSshSignatureOptions,
  type VerifySshSignatureOptions,
  type VerifiedSshSignature,
} from './sshsig.js';
// OpenSSH certificates (*-cert-v01@openssh.com): parse, sign, verify.
export {
  parseCertificate,
  parseCertificateLine,
  formatCertificateLine,
  signCertificate,
  certificateSigner,
  certificateOptionValue,
  certificateTypeFor,
  isCertificateType,
  certificateSignatureAlgorithms,
  plainSignatureAlgorithm,
  CertificateError,
  CERTIFICATE_KEY_TYPES,
  DEFAULT_USER_EXTENSIONS,
  MAX_CERTIFICATE_BYTES,
  MAX_CERTIFICATE_PRINCIPALS,
  VALID_FOREVER,
  type CertificateProblem,
  type CertificateKind,
  type CertificateOption,
  type CertificateOptionValues,
  type CertificateRequest,
  type CertificateLine,
  type OpenSshCertificate,
} from './certificate.js';
export {
  verifyCertificate,
  DEFAULT_CA_SIGNATURE_ALGORITHMS,
  type CertificateCheck,
  type CertificateAuthorization,
} from './certificate-verify.js';
export { addressInCidrList } from './address-match.js';
export {
  hostCertificateSigner,
  verifyCertifiedKeySignature,
  toCertificate,
  type CertificateInput,
} from './host-certificate.js';
