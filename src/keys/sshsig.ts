// OpenSSH's SSHSIG detached signatures (openssh-portable PROTOCOL.sshsig), the
// format behind `ssh-keygen -Y sign/verify` and git's `gpg.format=ssh`.
//
// Blob:   byte[6] "SSHSIG" || uint32 version || string publickey ||
//         string namespace || string reserved || string hash_algorithm ||
//         string signature
// Signed: byte[6] "SSHSIG" || string namespace || string reserved ||
//         string hash_algorithm || string H(message)
// Armor:  "-----BEGIN SSH SIGNATURE-----\n", base64 of the blob in lines of 70
//         characters, "-----END SSH SIGNATURE-----\n" (as ssh-keygen writes it).
import { createHash } from 'node:crypto';
import { DisconnectReason, ProtocolError } from '../errors.js';
import { f, struct } from '../messages/schema.js';
import { Reader } from '../wire/reader.js';
import { blobKeyType, fingerprintSha256 } from './blob.js';
import { verifySignature } from './signature.js';
import type { AuthSigner } from './signer.js';

export const SSHSIG_MAGIC = 'SSHSIG';
/** The only version there is; verifiers must refuse larger ones. */
export const SSHSIG_VERSION = 1;
export const SSHSIG_BEGIN = '-----BEGIN SSH SIGNATURE-----';
export const SSHSIG_END = '-----END SSH SIGNATURE-----';
/** ssh-keygen's default (`-O hashalg=` picks the other). */
export const SSHSIG_DEFAULT_HASH = 'sha512';
/** An armored signature larger than this is not one (an RSA-16384 signature armors to under 6 KiB). */
export const MAX_SSHSIG_ARMOR_BYTES = 64 * 1024;

export type SshSigHashAlgorithm = 'sha256' | 'sha512';
const HASH_BYTES: Readonly<Record<SshSigHashAlgorithm, number>> = { sha256: 32, sha512: 64 };
/** RSA signature algorithms SSHSIG allows: never the SHA-1 `ssh-rsa`. */
const RSA_SSHSIG_ALGORITHMS: ReadonlySet<string> = new Set(['rsa-sha2-512', 'rsa-sha2-256']);
const ARMOR_LINE = 70;
const MAGIC_BYTES = new TextEncoder().encode(SSHSIG_MAGIC);

/**
 * Why a signature was refused: `malformed` (not SSHSIG, bad armor, base64 or
 * blob), `unsupported` (newer version, unknown hash, key or signature
 * algorithm this build cannot check), `namespace-mismatch`, `bad-signature`
 * (well formed, but the signature does not verify for that message),
 * `signer-not-allowed` (sound, but no allowed_signers entry accepts that key
 * for that principal, namespace and time).
 */
export type SshSignatureProblem = 'malformed' | 'unsupported' | 'namespace-mismatch' | 'bad-signature' | 'signer-not-allowed';

/** Every failure of this module. Extends ProtocolError, as KeyFileError does. */
export class SshSignatureError extends ProtocolError {
  readonly problem: SshSignatureProblem;
  constructor(message: string, problem: SshSignatureProblem, options?: { cause?: unknown }) {
    super(message, DisconnectReason.BY_APPLICATION, options);
    this.problem = problem;
  }
}

/** The decoded blob. `signature` is the SSH signature blob (`string alg || string sig [|| sk fields]`). */
export interface SshSignature {
  readonly version: number;
  /** The signer's public key blob (a plain key or a certificate). */
  readonly publicKey: Uint8Array;
  readonly namespace: string;
  /** Reserved for future use; written empty, ignored when read (as OpenSSH does). */
  readonly reserved: Uint8Array;
  readonly hashAlgorithm: SshSigHashAlgorithm;
  readonly signature: Uint8Array;
}

const blobSchema = struct(
  {
    magic: f.fixed(MAGIC_BYTES.length),
    version: f.uint32(),
    publicKey: f.bytes(64 * 1024),
    namespace: f.text(4096),
    reserved: f.bytes(4096),
    hashAlgorithm: f.text(64),
    signature: f.bytes(64 * 1024),
  },
  'SSHSIG',
);

const signedDataSchema = struct(
  {
    magic: f.fixed(MAGIC_BYTES.length),
    namespace: f.text(),
    reserved: f.bytes(),
    hashAlgorithm: f.text(),
    hash: f.bytes(),
  },
  'SSHSIG signed data',
);

function isHashAlgorithm(s: string): s is SshSigHashAlgorithm {
  return s === 'sha256' || s === 'sha512';
}

function checkNamespace(namespace: string): void {
  if (namespace === '') throw new SshSignatureError('the SSHSIG namespace must not be empty', 'malformed');
}

/** The blob's bytes. */
export function encodeSshSignature(sig: SshSignature): Uint8Array {
  checkNamespace(sig.namespace);
  return blobSchema.encode({ magic: MAGIC_BYTES, ...sig });
}

/** Decodes a blob; anything malformed or of a later version is an SshSignatureError. */
export function decodeSshSignature(blob: Uint8Array): SshSignature {
  // The version comes before everything else, so a later format (whose layout
  // may differ) is refused as unsupported rather than reported as malformed.
  const head = new Reader(blob, 0, 'SSHSIG');
  let version: number;
  try {
    const magic = head.raw(MAGIC_BYTES.length, 'magic');
    if (!magic.every((b, i) => b === MAGIC_BYTES[i])) throw new SshSignatureError('not an SSHSIG signature (no "SSHSIG" preamble)', 'malformed');
    version = head.uint32('version');
  } catch (e) {
    if (e instanceof SshSignatureError) throw e;
    throw new SshSignatureError('not an SSHSIG signature (too short)', 'malformed', { cause: e });
  }
  if (version > SSHSIG_VERSION) throw new SshSignatureError(`SSHSIG version ${version} is newer than the supported ${SSHSIG_VERSION}`, 'unsupported');
  let v;
  try {
    v = blobSchema.decode(blob);
  } catch (e) {
    throw new SshSignatureError(e instanceof Error ? e.message : 'malformed SSHSIG blob', 'malformed', { cause: e });
  }
  checkNamespace(v.namespace);
  if (!isHashAlgorithm(v.hashAlgorithm)) throw new SshSignatureError(`unsupported SSHSIG hash algorithm ${JSON.stringify(v.hashAlgorithm)}`, 'unsupported');
  return { version, publicKey: v.publicKey, namespace: v.namespace, reserved: v.reserved, hashAlgorithm: v.hashAlgorithm, signature: v.signature };
}

/** The armored text, byte for byte as ssh-keygen writes it (70-column base64, final newline). */
export function armorSshSignature(blob: Uint8Array): string {
  const b64 = Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength).toString('base64');
  const lines = [SSHSIG_BEGIN];
  for (let i = 0; i < b64.length; i += ARMOR_LINE) lines.push(b64.slice(i, i + ARMOR_LINE));
  lines.push(SSHSIG_END);
  return lines.join('\n') + '\n';
}

/**
 * The blob inside armored text. Follows ssh-keygen's reader: the text must
 * start with the header line (LF or CRLF), the body runs to the first
 * "\n-----END SSH SIGNATURE-----", whitespace in the body is ignored and
 * anything after the footer is too.
 */
export function dearmorSshSignature(text: string | Uint8Array): Uint8Array {
  if (text.length > MAX_SSHSIG_ARMOR_BYTES) throw new SshSignatureError(`an SSH signature is at most ${MAX_SSHSIG_ARMOR_BYTES} bytes`, 'malformed');
  const s = typeof text === 'string' ? text : Buffer.from(text.buffer, text.byteOffset, text.byteLength).toString('latin1');
  if (!s.startsWith(SSHSIG_BEGIN)) throw new SshSignatureError(`missing "${SSHSIG_BEGIN}" header`, 'malformed');
  let start = SSHSIG_BEGIN.length;
  if (s.startsWith('\r\n', start)) start += 2;
  else if (s.startsWith('\n', start)) start += 1;
  else throw new SshSignatureError('no line end after the SSH signature header', 'malformed');
  const end = s.indexOf('\n' + SSHSIG_END, start);
  if (end < 0) throw new SshSignatureError(`missing "${SSHSIG_END}" footer`, 'malformed');
  const body = s.slice(start, end).replace(/[ \t\r\n]+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body) || body.length % 4 !== 0) throw new SshSignatureError('the SSH signature body is not valid base64', 'malformed');
  return new Uint8Array(Buffer.from(body, 'base64'));
}

/** Armored text (or its bytes) to the decoded signature. */
export function parseSshSignature(text: string | Uint8Array): SshSignature {
  return decodeSshSignature(dearmorSshSignature(text));
}

/** The decoded signature to armored text. */
export function formatSshSignature(sig: SshSignature): string {
  return armorSshSignature(encodeSshSignature(sig));
}

/**
 * A message already hashed with `hashAlgorithm`, for callers that stream a
 * large file through node:crypto's createHash instead of holding it in memory.
 */
export interface SshSigDigest {
  readonly hashAlgorithm: SshSigHashAlgorithm;
  readonly digest: Uint8Array;
}

/** What is signed: the whole message, or its digest. */
export type SshSigMessage = Uint8Array | SshSigDigest;

function messageHash(message: SshSigMessage, hashAlgorithm: SshSigHashAlgorithm): Uint8Array {
  if (message instanceof Uint8Array) return new Uint8Array(createHash(hashAlgorithm).update(message).digest());
  // A caller's mistake (read `hashAlgorithm` from the signature before hashing), not a bad signature.
  if (message.hashAlgorithm !== hashAlgorithm) throw new RangeError(`the message was hashed with ${message.hashAlgorithm} but the signature uses ${hashAlgorithm}`);
  if (message.digest.length !== HASH_BYTES[hashAlgorithm]) throw new RangeError(`a ${hashAlgorithm} digest is ${HASH_BYTES[hashAlgorithm]} bytes, not ${message.digest.length}`);
  return message.digest;
}

/** The bytes the key signs (PROTOCOL.sshsig §3). The reserved field is always empty, as OpenSSH builds it. */
export function sshSigSignedData(namespace: string, hashAlgorithm: SshSigHashAlgorithm, hash: Uint8Array): Uint8Array {
  return signedDataSchema.encode({ magic: MAGIC_BYTES, namespace, reserved: new Uint8Array(0), hashAlgorithm, hash });
}

const CERT_SUFFIX = '-cert-v01@openssh.com';

/**
 * The signature algorithm ssh-keygen uses for a key type: for RSA the SHA-2
 * one matching the message hash (so rsa-sha2-512 by default), otherwise the
 * key's own. A certificate signs as its plain key type.
 */
export function sshSigSignatureAlgorithm(keyType: string, hashAlgorithm: SshSigHashAlgorithm): string {
  const plain = keyType.endsWith(CERT_SUFFIX) ? keyType.slice(0, -CERT_SUFFIX.length) : keyType;
  if (plain === 'ssh-rsa') return hashAlgorithm === 'sha256' ? 'rsa-sha2-256' : 'rsa-sha2-512';
  return plain;
}

export interface SignSshSignatureOptions {
  /** The interpretation domain, e.g. `file` or `git`; must not be empty. */
  readonly namespace: string;
  /** Default: a digest's own algorithm, else sha512 as ssh-keygen. */
  readonly hashAlgorithm?: SshSigHashAlgorithm;
}

/**
 * Signs `message` as `ssh-keygen -Y sign -n <namespace>` does. Any AuthSigner
 * works (a KeySigner, an agent key, a certificate signer); format the result
 * with `formatSshSignature`.
 */
export async function signSshSignature(signer: AuthSigner, message: SshSigMessage, options: SignSshSignatureOptions): Promise<SshSignature> {
  const hashAlgorithm = options.hashAlgorithm ?? (message instanceof Uint8Array ? SSHSIG_DEFAULT_HASH : message.hashAlgorithm);
  if (!isHashAlgorithm(hashAlgorithm)) throw new SshSignatureError(`unsupported SSHSIG hash algorithm ${JSON.stringify(hashAlgorithm)}`, 'unsupported');
  checkNamespace(options.namespace);
  const data = sshSigSignedData(options.namespace, hashAlgorithm, messageHash(message, hashAlgorithm));
  const signature = await signer.sign(sshSigSignatureAlgorithm(signer.keyType, hashAlgorithm), data);
  return { version: SSHSIG_VERSION, publicKey: signer.publicBlob, namespace: options.namespace, reserved: new Uint8Array(0), hashAlgorithm, signature };
}

/**
 * Checks an SSH signature blob made by `publicKey` over `data` with
 * `algorithm`; true when it verifies. The default handles ed25519, ECDSA and
 * RSA keys. Security-key (`sk-`) keys and certificates need a verifier from
 * the module that understands them, passed in `VerifySshSignatureOptions`.
 */
export type SshSigKeyVerifier = (publicKey: Uint8Array, algorithm: string, data: Uint8Array, signature: Uint8Array) => boolean;

export interface VerifySshSignatureOptions {
  /** Replaces the built-in verifier (for `sk-` keys and certificates); return false to refuse. */
  readonly verifier?: SshSigKeyVerifier;
}

/** What `ssh-keygen -Y check-novalidate` establishes: a sound signature, by this key, in this namespace. */
export interface VerifiedSshSignature {
  readonly signature: SshSignature;
  /** The signing key's type as in its blob (may be a certificate type). */
  readonly keyType: string;
  /** The signature algorithm inside the signature blob. */
  readonly signatureAlgorithm: string;
  /** `SHA256:...` of the signing key blob, as ssh-keygen prints after "Good ... signature". */
  readonly fingerprint: string;
}

const BUILT_IN_KEY_TYPES: ReadonlySet<string> = new Set(['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'ssh-rsa']);

/**
 * Verifies that `sig` signs `message` in `namespace`, as ssh-keygen's
 * sshsig_verify does: the namespace must be equal, RSA must use a SHA-2
 * algorithm, and the signature must check. Whether the key is trusted is a
 * separate question (`checkAllowedSigner` in src/trust). Throws an
 * SshSignatureError naming the problem.
 */
export function verifySshSignature(sig: SshSignature, message: SshSigMessage, namespace: string, options: VerifySshSignatureOptions = {}): VerifiedSshSignature {
  if (sig.namespace !== namespace) {
    throw new SshSignatureError(`the signature is for namespace "${sig.namespace}", not "${namespace}"`, 'namespace-mismatch');
  }
  let keyType: string;
  let signatureAlgorithm: string;
  try {
    keyType = blobKeyType(sig.publicKey);
    signatureAlgorithm = new Reader(sig.signature, 0, 'signature').text('signature algorithm', 256);
  } catch (e) {
    throw new SshSignatureError('the SSHSIG key or signature blob is malformed', 'malformed', { cause: e });
  }
  const plainType = keyType.endsWith(CERT_SUFFIX) ? keyType.slice(0, -CERT_SUFFIX.length) : keyType;
  if (plainType === 'ssh-rsa' && !RSA_SSHSIG_ALGORITHMS.has(signatureAlgorithm)) {
    throw new SshSignatureError(`RSA signatures must use rsa-sha2-512 or rsa-sha2-256, not ${signatureAlgorithm}`, 'unsupported');
  }
  const verifier = options.verifier;
  if (!verifier && !BUILT_IN_KEY_TYPES.has(keyType)) {
    throw new SshSignatureError(`cannot verify SSHSIG signatures by ${keyType} keys without a verifier for that key type`, 'unsupported');
  }
  const data = sshSigSignedData(namespace, sig.hashAlgorithm, messageHash(message, sig.hashAlgorithm));
  const ok = (verifier ?? verifySignature)(sig.publicKey, signatureAlgorithm, data, sig.signature);
  if (!ok) throw new SshSignatureError('the signature does not verify for this message', 'bad-signature');
  return { signature: sig, keyType, signatureAlgorithm, fingerprint: fingerprintSha256(sig.publicKey) };
}
