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

// Writing private key files (openssh-key-v1, PEM, PKCS#8) and generating keys.
export { writePrivateKey, rewritePrivateKey, PEM_CIPHERS, type PrivateKeyFileFormat, type WritePrivateKeyOptions, type RewritePrivateKeyChanges } from './key-writer.js';
export { DEFAULT_KDF_ROUNDS, DEFAULT_KEY_FILE_CIPHER, KEY_FILE_CIPHER_NAMES } from './key-ciphers.js';
export { generatePrivateKey, DEFAULT_RSA_BITS, MIN_GENERATED_RSA_BITS, type GenerateKeyOptions } from './signer.js';
