// The keys connect() authenticates with: `privateKey` as given, then the
// `privateKeyFile` files read from disk, each preceded by the certificate
// ssh would find next to it (`<file>-cert.pub`).
import type { AuthSigner } from '../keys/index.js';
import { describePublicKey } from '../keys/fingerprint.js';
import { KeyFileError } from '../keys/pem.js';
import { signerFromPrivateKeyPath } from '../io/node/key-files.js';
import { expandHome, isMissingFile, readBounded } from '../io/node/files.js';
import { loadSigners, withCertificate, type ConnectOptions } from './options.js';

/** A `-cert.pub` line is one base64 blob; certificates are bounded at 256 KiB. */
const MAX_CERTIFICATE_FILE_BYTES = 512 * 1024;

/** The `-cert.pub` text next to `keyPath`, or null when there is none. */
function readCertificateFile(keyPath: string): { path: string; text: string } | null {
  const path = `${keyPath}-cert.pub`;
  try {
    return { path, text: readBounded(path, MAX_CERTIFICATE_FILE_BYTES, 'certificate file').toString('utf8').trim() };
  } catch (err) {
    if (isMissingFile(err)) return null;
    throw err;
  }
}

/** The signers to offer, in order; a KeyFileError naming the file when one cannot be used. */
export function loadIdentities(options: Pick<ConnectOptions, 'privateKey' | 'privateKeyFile' | 'passphrase'>): AuthSigner[] {
  const signers = loadSigners(options.privateKey, options.passphrase);
  const files = options.privateKeyFile === undefined ? [] : typeof options.privateKeyFile === 'string' ? [options.privateKeyFile] : options.privateKeyFile;
  for (const file of files) {
    if (typeof file !== 'string') throw new KeyFileError('privateKeyFile must be a path or a list of paths', 'unsupported');
    const path = expandHome(file);
    const key = signerFromPrivateKeyPath(path, options.passphrase);
    const cert = readCertificateFile(path);
    if (cert) signers.push(withCertificate(key, cert.text, 'certificate file', cert.path));
    signers.push(key);
  }
  return signers;
}

/**
 * The signers RequiredRSASize leaves (`requiredRsaSize`): an RSA key or RSA
 * certificate shorter than `minBits` is not offered, as ssh skips such keys
 * (files and agent keys alike); `skipped` hears of each one left out.
 */
export function withoutShortRsaKeys(signers: readonly AuthSigner[], minBits: number, skipped?: (signer: AuthSigner, bits: number) => void): AuthSigner[] {
  return signers.filter((s) => {
    if (s.keyType !== 'ssh-rsa' && s.keyType !== 'ssh-rsa-cert-v01@openssh.com') return true;
    let bits: number;
    try {
      bits = describePublicKey(s.publicBlob).bits;
    } catch {
      return true; // not readable as an RSA key: the server judges it
    }
    if (bits >= minBits) return true;
    skipped?.(s, bits);
    return false;
  });
}
