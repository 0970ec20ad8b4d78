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
// Fingerprints and randomart, public key text formats, security-key (sk-) keys.
export {
  fingerprint,
  fingerprintMd5,
  randomart,
  certifiedKey,
  randomartFromDigest,
  describePublicKey,
  type FingerprintHash,
  type KeyDescription,
} from './fingerprint.js';
export {
  parsePublicKeyText,
  formatPublicKeyText,
  formatRfc4716PublicKey,
  formatPkcs8PublicKey,
  formatPkcs1PublicKey,
  formatPemPublicKey,
  rfc4716ConversionComment,
  MAX_PUBLIC_KEY_TEXT,
  type PublicKeyFormat,
  type ParsedPublicKeyText,
} from './public-formats.js';
export {
  parseSecurityKeyBlob,
  parseSecurityKeySignature,
  securityKeySignedData,
  verifySecurityKeySignature,
  isSecurityKeyType,
  SECURITY_KEY_TYPES,
  SK_USER_PRESENT,
  SK_USER_VERIFIED,
  type SecurityKeyType,
  type SecurityKeyPublicKey,
  type SecurityKeySignature,
  type SecurityKeyPolicy,
  type SecurityKeyVerdict,
} from './security-key.js';
// PuTTY .ppk private key files, versions 2 and 3 (ppk.ts, ppk-kdf.ts).
export {
  parsePpkPrivateKey,
  formatPpkPrivateKey,
  DEFAULT_PPK_ARGON2,
  type PpkPrivateKey,
  type PpkWriteOptions,
  type PpkArgon2Options,
} from './ppk.js';
export {
  MAX_ARGON2_MEMORY_KIB,
  MAX_ARGON2_PASSES,
  MAX_ARGON2_PARALLELISM,
  MAX_ARGON2_WORK_KIB,
  type PpkArgon2Params,
  type PpkVersion,
  type Argon2Flavour,
} from './ppk-kdf.js';
// Key revocation lists (PROTOCOL.krl): read, check, write, and ssh-keygen -k's text.
export {
  parseKrl,
  encodeKrl,
  isKrl,
  KrlError,
  KRL_MAGIC,
  KRL_FORMAT_VERSION,
  MAX_KRL_BYTES,
  MAX_KRL_BITMAP_BYTES,
  type Krl,
  type KrlSection,
  type KrlCertificateRule,
  type KrlExtension,
  type KrlProblem,
} from './krl.js';
export {
  isRevoked,
  revokedKeys,
  verifyKrlSignatures,
  DEFAULT_KRL_SIGNATURE_ALGORITHMS,
  type KrlMatch,
  type KrlRule,
  type RevocationCheck,
} from './krl-check.js';
export { parseKrlSpec, buildKrl, type KrlRevocation, type KrlSpecOptions, type BuildKrlOptions } from './krl-spec.js';
export {
  hostCertificateSigner,
  verifyCertifiedKeySignature,
  toCertificate,
  type CertificateInput,
} from './host-certificate.js';

// Writing private key files (openssh-key-v1, PEM, PKCS#8) and generating keys.
export { writePrivateKey, rewritePrivateKey, PEM_CIPHERS, type PrivateKeyFileFormat, type WritePrivateKeyOptions, type RewritePrivateKeyChanges } from './key-writer.js';
export { DEFAULT_KDF_ROUNDS, DEFAULT_KEY_FILE_CIPHER, KEY_FILE_CIPHER_NAMES } from './key-ciphers.js';
export { generatePrivateKey, DEFAULT_RSA_BITS, MIN_GENERATED_RSA_BITS, type GenerateKeyOptions } from './signer.js';

// k10 (issue 10's rest): the public key of an encrypted openssh-key-v1 file
// without its passphrase, a KRL listed as ssh-keygen -Q -l prints it,
// WebAuthn signatures by sk-ecdsa keys, and SSH.com private key files.
export { openSshPublicKeyFromPrivate } from './openssh.js';
export { formatKrl } from './krl-dump.js';
export { WEBAUTHN_SK_ECDSA, webAuthnMessageHash, webAuthnSignedData, type WebAuthnSignatureFields } from './security-key.js';
export { parseSshComPrivateKey, isSshComPrivateKey, SSHCOM_PRIVATE_BEGIN } from './sshcom.js';
