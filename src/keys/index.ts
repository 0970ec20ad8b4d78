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
