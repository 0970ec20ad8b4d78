// Writing OpenSSH's own private key format (PROTOCOL.key), as ssh-keygen
// does: the header (cipher, KDF, KDF options, one public key), then the
// private section (two equal random check words, the key, its comment,
// padding 1, 2, 3... to the cipher's block size), encrypted when a
// passphrase is given, with the AEAD tag after it.
import { randomBytes, type KeyObject } from 'node:crypto';
import { Writer } from '../wire/writer.js';
import { fromB64url } from '../crypto/base64url.js';
import { ECDSA_CURVES, encodePublicKey, sshKeyType, type PublicKeyType } from './blob.js';
import { KeyFileError } from './pem.js';
import { DEFAULT_KDF_ROUNDS, DEFAULT_KEY_FILE_CIPHER, encryptSection, KDF_SALT_BYTES, keyFileCipher, newKdf } from './key-ciphers.js';

const MAGIC = 'openssh-key-v1\0';
const LINE = 70; // ssh-keygen's base64 line length

export interface OpenSshWriteOptions {
  /** Encrypts the file when non-empty (an empty passphrase writes a plain file, as `ssh-keygen -N ''`). */
  readonly passphrase?: Uint8Array | undefined;
  /** Cipher name as `ssh-keygen -Z` takes it; default aes256-ctr. Ignored without a passphrase. */
  readonly cipher?: string | undefined;
  /** bcrypt_pbkdf rounds (`ssh-keygen -a`); default 24 as ssh-keygen 10, at most MAX_KDF_ROUNDS. */
  readonly rounds?: number | undefined;
  readonly comment?: string | undefined;
}

/** The key's private fields after its type name, as sshkey_private_serialize writes them. */
export function writePrivateFields(w: Writer, key: KeyObject, type: PublicKeyType): void {
  const jwk = key.export({ format: 'jwk' });
  if (type === 'ssh-ed25519') {
    const seed = fromB64url(jwk.d, 'Ed25519 seed');
    const pub = fromB64url(jwk.x, 'Ed25519 public key');
    const secret = new Uint8Array(64);
    secret.set(seed, 0);
    secret.set(pub, 32);
    w.string(pub).string(secret);
    return;
  }
  if (type === 'ssh-rsa') {
    for (const [field, what] of [['n', 'RSA n'], ['e', 'RSA e'], ['d', 'RSA d'], ['qi', 'RSA iqmp'], ['p', 'RSA p'], ['q', 'RSA q']] as const) {
      w.mpintFromBytes(fromB64url(jwk[field], what));
    }
    return;
  }
  const curve = ECDSA_CURVES[type]!;
  const point = new Uint8Array(1 + 2 * curve.fieldBytes);
  point[0] = 0x04;
  const x = fromB64url(jwk.x, 'EC x');
  const y = fromB64url(jwk.y, 'EC y');
  point.set(x, 1 + curve.fieldBytes - x.length);
  point.set(y, 1 + 2 * curve.fieldBytes - y.length);
  w.string(curve.id).string(point).mpintFromBytes(fromB64url(jwk.d, 'EC private scalar'));
}

function armor(data: Uint8Array): string {
  const b64 = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += LINE) lines.push(b64.slice(i, i + LINE));
  return `-----BEGIN OPENSSH PRIVATE KEY-----\n${lines.join('\n')}\n-----END OPENSSH PRIVATE KEY-----\n`;
}

/** A private KeyObject as an `openssh-key-v1` file, text as ssh-keygen writes it. */
export function writeOpenSshPrivateKey(key: KeyObject, options: OpenSshWriteOptions = {}): string {
  if (key.type !== 'private') throw new KeyFileError('only a private key can be written to a private key file', 'not-a-private-key');
  let type: PublicKeyType;
  try {
    type = sshKeyType(key);
  } catch (err) {
    throw new KeyFileError(`unknown key type (${err instanceof Error ? err.message : String(err)})`, 'unknown-key-type', { cause: err });
  }
  const encrypt = options.passphrase !== undefined && options.passphrase.length > 0;
  const cipherName = encrypt ? (options.cipher ?? DEFAULT_KEY_FILE_CIPHER) : 'none';
  const cipher = keyFileCipher(cipherName);
  if (!cipher || (encrypt && cipherName === 'none')) {
    throw new KeyFileError(`unsupported cipher ${JSON.stringify(cipherName)} for a key file`, 'unsupported-cipher');
  }

  const check = randomBytes(4);
  const section = new Writer(1024).raw(check).raw(check).string(type);
  writePrivateFields(section, key, type);
  section.string(options.comment ?? '');
  for (let pad = 1; section.size % cipher.blockSize !== 0; pad++) section.byte(pad);
  const plain = section.finish();

  let kdfName = 'none';
  let kdfOptions: Uint8Array = new Uint8Array(0);
  let sealed = plain;
  let tag: Uint8Array = new Uint8Array(0);
  if (encrypt) {
    const kdf = newKdf(options.passphrase!, randomBytes(KDF_SALT_BYTES), options.rounds ?? DEFAULT_KDF_ROUNDS, cipher.keyLength + cipher.ivLength);
    kdfName = 'bcrypt';
    kdfOptions = kdf.options;
    ({ sealed, tag } = encryptSection(cipher, kdf.derived, plain));
    plain.fill(0);
    kdf.derived.fill(0);
  }

  const file = new Writer(2048)
    .raw(new TextEncoder().encode(MAGIC))
    .string(cipherName)
    .string(kdfName)
    .string(kdfOptions)
    .uint32(1)
    .string(encodePublicKey(key))
    .string(sealed)
    .raw(tag)
    .finish();
  return armor(file);
}
