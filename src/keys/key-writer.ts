// Writing private key files in each format ssh-keygen writes: its own
// openssh-key-v1 (openssh-writer.ts), and PEM through node:crypto: PKCS#1
// RSA and SEC1 EC (`ssh-keygen -m PEM`; with a passphrase, the legacy
// `Proc-Type: 4,ENCRYPTED` / `DEK-Info` encryption it writes) and PKCS#8
// (`-m PKCS8`; encrypted as PBES2 `ENCRYPTED PRIVATE KEY`).
import type { KeyObject } from 'node:crypto';
import { sshKeyType, type PublicKeyType } from './blob.js';
import { KeyFileError } from './pem.js';
import { writeOpenSshPrivateKey } from './openssh-writer.js';
import { loadPrivateKey, passphraseBytes, type LoadedPrivateKey } from './openssh.js';
import { formatPpkPrivateKey } from './ppk.js';

/**
 * `openssh` (the default), `pem` (PKCS#1 for RSA, SEC1 for ECDSA; as
 * `ssh-keygen -m PEM`), `pkcs8`. `pkcs1` and `sec1` name the PEM form
 * explicitly, so a LoadedPrivateKey's `format` can be written back as it was.
 */
export type PrivateKeyFileFormat = 'openssh' | 'pem' | 'pkcs1' | 'sec1' | 'pkcs8' | 'ppk';

/** The ciphers PEM files are written with (OpenSSL names); ssh-keygen uses aes-128-cbc. */
export const PEM_CIPHERS: readonly string[] = Object.freeze(['aes-128-cbc', 'aes-192-cbc', 'aes-256-cbc']);
const DEFAULT_PEM_CIPHER = 'aes-128-cbc';

export interface WritePrivateKeyOptions {
  /** Default `openssh`. */
  readonly format?: PrivateKeyFileFormat | undefined;
  /** Encrypts the file when non-empty; an empty or absent passphrase writes it in the clear. */
  readonly passphrase?: string | Uint8Array | undefined;
  /**
   * openssh: a cipher `ssh-keygen -Z` takes (default aes256-ctr, see
   * KEY_FILE_CIPHER_NAMES). PEM and PKCS#8: one of PEM_CIPHERS (default
   * aes-128-cbc, as ssh-keygen).
   */
  readonly cipher?: string | undefined;
  /** openssh only: bcrypt_pbkdf rounds (`ssh-keygen -a`), 1..MAX_KDF_ROUNDS; default DEFAULT_KDF_ROUNDS. */
  readonly rounds?: number | undefined;
  /**
   * openssh only (PEM has no place for one, as ssh-keygen says too). Default:
   * the loaded key's comment when a LoadedPrivateKey is given, else empty.
   */
  readonly comment?: string | undefined;
}

function keyType(key: KeyObject): PublicKeyType {
  if (key.type !== 'private') throw new KeyFileError('only a private key can be written to a private key file', 'not-a-private-key');
  try {
    return sshKeyType(key);
  } catch (err) {
    throw new KeyFileError(`unknown key type (${err instanceof Error ? err.message : String(err)})`, 'unknown-key-type', { cause: err });
  }
}

function writePem(key: KeyObject, type: PublicKeyType, format: Exclude<PrivateKeyFileFormat, 'openssh' | 'ppk'>, options: WritePrivateKeyOptions): string {
  let pemType: 'pkcs1' | 'sec1' | 'pkcs8';
  if (format === 'pkcs8') pemType = 'pkcs8';
  else {
    pemType = type === 'ssh-rsa' ? 'pkcs1' : type === 'ssh-ed25519' ? 'pkcs8' : 'sec1';
    if (type === 'ssh-ed25519' || (format !== 'pem' && format !== pemType)) {
      throw new KeyFileError(`a ${type} key cannot be written as ${format === 'pem' ? 'PEM (PKCS#1 or SEC1)' : format.toUpperCase()}; use openssh or pkcs8`, 'unsupported');
    }
  }
  const passphrase = passphraseBytes(options.passphrase);
  if (passphrase === undefined || passphrase.length === 0) return key.export({ format: 'pem', type: pemType }) as string;
  const cipher = options.cipher ?? DEFAULT_PEM_CIPHER;
  if (!PEM_CIPHERS.includes(cipher)) {
    throw new KeyFileError(`unsupported cipher ${JSON.stringify(cipher)} for a PEM key file (one of ${PEM_CIPHERS.join(', ')})`, 'unsupported-cipher');
  }
  return key.export({ format: 'pem', type: pemType, cipher, passphrase: Buffer.from(passphrase) }) as string;
}

/**
 * A private key as the text of a key file. Throws KeyFileError for a key
 * type the format cannot hold (`unknown-key-type`, `unsupported`), a cipher
 * it does not offer (`unsupported-cipher`) or rounds outside
 * 1..MAX_KDF_ROUNDS (`unsupported-kdf`).
 */
export function writePrivateKey(key: KeyObject | LoadedPrivateKey, options: WritePrivateKeyOptions = {}): string {
  const keyObject = 'keyObject' in key ? key.keyObject : key;
  const type = keyType(keyObject);
  const format = options.format ?? 'openssh';
  if (format === 'openssh') {
    return writeOpenSshPrivateKey(keyObject, {
      passphrase: passphraseBytes(options.passphrase),
      cipher: options.cipher,
      rounds: options.rounds,
      comment: options.comment ?? ('keyObject' in key ? key.comment : ''),
    });
  }
  if (format === 'ppk') {
    // PuTTY's format (version 3, Argon2id) as `ssh-keygen -e -m PPK` would, had it one.
    const passphrase = passphraseBytes(options.passphrase);
    return formatPpkPrivateKey(keyObject, {
      ...(passphrase && passphrase.length > 0 ? { passphrase } : {}),
      comment: options.comment ?? ('keyObject' in key ? key.comment : ''),
    });
  }
  if (format !== 'pem' && format !== 'pkcs1' && format !== 'sec1' && format !== 'pkcs8') {
    throw new KeyFileError(`unknown private key file format ${JSON.stringify(format)}`, 'unsupported');
  }
  return writePem(keyObject, type, format, options);
}

export interface RewritePrivateKeyChanges extends Omit<WritePrivateKeyOptions, 'passphrase' | 'format'> {
  /** The new passphrase; `''` removes it; absent keeps the old one. */
  readonly passphrase?: string | Uint8Array | undefined;
  /** Default: the format the file is in (`ssh-keygen -p` without `-m` writes openssh). */
  readonly format?: PrivateKeyFileFormat | undefined;
}

/**
 * Opens a key file with its passphrase and writes it again with some things
 * changed: what `ssh-keygen -p` (passphrase) and `-c` (comment) do. The
 * comment is kept unless changed; PEM files have none.
 */
export function rewritePrivateKey(file: string | Uint8Array, passphrase: string | Uint8Array | undefined, changes: RewritePrivateKeyChanges): string {
  const loaded = loadPrivateKey(file, passphrase);
  return writePrivateKey(loaded, {
    format: changes.format ?? loaded.format,
    passphrase: changes.passphrase ?? (loaded.encrypted ? passphrase : undefined),
    cipher: changes.cipher,
    rounds: changes.rounds,
    comment: changes.comment ?? loaded.comment,
  });
}
