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
