// Private keys read from disk: the file is read here, with the size bound
// the key parser applies to bytes, and parsed by the pure src/keys.
import { loadPrivateKey, type LoadedPrivateKey } from '../../keys/openssh.js';
import { KeyFileError, MAX_KEY_FILE_BYTES } from '../../keys/pem.js';
import { signerFromKeyObject, type KeySigner } from '../../keys/signer.js';
import { writePrivateKey, type WritePrivateKeyOptions } from '../../keys/key-writer.js';
import type { KeyObject } from 'node:crypto';
import { readBounded, writeFileAtomic } from './files.js';

/** Reads and loads a key file; the path is named in any KeyFileError's message and `path`. */
export function loadPrivateKeyFile(path: string, passphrase?: string | Uint8Array): LoadedPrivateKey {
  const data = readBounded(path, MAX_KEY_FILE_BYTES, 'key file', { problem: 'not-a-private-key', tooLargeProblem: 'too-large' });
  try {
    return loadPrivateKey(data, passphrase);
  } catch (err) {
    throw (err as KeyFileError).withPath(path);
  }
}

/** Reads a key file from disk (as loadPrivateKeyFile does) and wraps it as a signer. */
export function signerFromPrivateKeyPath(path: string, passphrase?: string | Uint8Array): KeySigner {
  return signerFromKeyObject(loadPrivateKeyFile(path, passphrase).keyObject);
}

/**
 * Writes a private key file (see writePrivateKey) atomically (a temporary
 * file renamed over the old one), with mode 0600 as ssh-keygen does unless
 * `mode` says otherwise. Failures are KeyFileError naming the path (`io`);
 * what cannot be written (see writePrivateKey) is refused before the file is touched.
 */
export function writePrivateKeyFile(path: string, key: KeyObject | LoadedPrivateKey, options: WritePrivateKeyFileOptions = {}): void {
  writeFileAtomic(path, writePrivateKey(key, options), options.mode ?? 0o600, { what: 'key file', exclusive: options.exclusive ?? false });
}

export interface WritePrivateKeyFileOptions extends WritePrivateKeyOptions {
  /** Default 0600. */
  readonly mode?: number | undefined;
  /** Refuse (KeyFileError `io`, cause code EEXIST) rather than replace a file already there, as ssh-keygen asks before overwriting. */
  readonly exclusive?: boolean | undefined;
}
