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
export { signerFromKeyObject, generateHostKey, type HostKeyType, type KeySigner } from './signer.js';
export { signerFromOpenSshPrivateKey, loadPrivateKey, parseOpenSshPrivateKey, type LoadedPrivateKey } from './openssh.js';
