// Signers: a private KeyObject wrapped so that only SSH signature blobs come out.
import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { ProtocolError } from '../errors.js';
import type { Signer } from '../algorithms/types.js';
import { ECDSA_CURVES, encodePublicKey, RSA_MAX_BITS, RSA_MIN_BITS, sshKeyType, type PublicKeyType } from './blob.js';
import { signatureAlgorithmsFor, signWithKey } from './signature.js';

export type HostKeyType = PublicKeyType;

/** A Signer that also says which signature algorithms it supports, best first. */
export interface KeySigner extends Signer {
  readonly keyType: PublicKeyType;
  readonly algorithms: readonly string[];
}

/**
 * A user key for client authentication. Unlike a host key's `Signer` (which
 * signs inside the synchronous key exchange), `sign` may answer with a
 * promise, so the private half can live in an agent, a hardware token or a
 * remote service. Every `KeySigner` is one.
 */
export interface AuthSigner {
  /** Key type as in the public key blob, e.g. `ssh-ed25519`, `ssh-rsa`. */
  readonly keyType: string;
  /** The SSH public key blob (RFC 4253 §6.6). */
  readonly publicBlob: Uint8Array;
  /** Signs with the given signature algorithm; the signature blob `string alg || string sig`, now or later. */
  sign(algorithm: string, data: Uint8Array): Uint8Array | Promise<Uint8Array>;
}

export function signerFromKeyObject(privateKey: KeyObject): KeySigner {
  if (privateKey.type !== 'private') throw new ProtocolError('a signer needs a private key');
  const keyType = sshKeyType(privateKey);
  const publicBlob = encodePublicKey(privateKey);
  const algorithms = Object.freeze(signatureAlgorithmsFor(keyType));
  return Object.freeze({
    keyType,
    publicBlob,
    algorithms,
    sign(algorithm: string, data: Uint8Array): Uint8Array {
      return signWithKey(privateKey, keyType, algorithm, data);
    },
  });
}

/** ssh-keygen's default RSA size. */
export const DEFAULT_RSA_BITS = 3072;
/** Smallest RSA key generatePrivateKey makes unless forced (OpenSSH itself refuses below 1024). */
export const MIN_GENERATED_RSA_BITS = 2048;

export interface GenerateKeyOptions {
  /** RSA modulus size; default 3072. ECDSA keys take their size from the type (or `bits` 256/384/521 must agree). */
  readonly bits?: number | undefined;
  /** Allows RSA keys of 1024..2047 bits, which are weak. */
  readonly force?: boolean | undefined;
}

/** Key generation's output as DER, for ownKey. */
const PKCS8_DER = { format: 'der', type: 'pkcs8' } as const;
const SPKI_DER = { format: 'der', type: 'spki' } as const;

/**
 * A new key as a KeyObject whose key data is its own. generateKeyPairSync's
 * KeyObjects share their data with the generation job, and Node 20 can
 * deadlock when the garbage collector finalizes that job while an export of
 * the same key (export({ format: 'jwk' }) of a new RSA key, seen in the test
 * suite) holds the data's lock: the job's destructor waits for that lock on
 * the same thread. Generating into DER and importing it leaves no job
 * holding what the returned key uses.
 */
function ownKey(pkcs8: Buffer): KeyObject {
  return createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' });
}

/**
 * Makes a fresh private key of an SSH key type, as `ssh-keygen -t` would:
 * RSA 3072 bits by default, refusing under 2048 unless `force` (never under
 * 1024 or over 16384). Throws RangeError for sizes or types it cannot make.
 */
export function generatePrivateKey(type: HostKeyType, options: GenerateKeyOptions = {}): KeyObject {
  if (type === 'ssh-ed25519') return ownKey(generateKeyPairSync('ed25519', { privateKeyEncoding: PKCS8_DER, publicKeyEncoding: SPKI_DER }).privateKey);
  if (type === 'ssh-rsa') {
    const modulusLength = options.bits ?? DEFAULT_RSA_BITS;
    const min = options.force ? RSA_MIN_BITS : MIN_GENERATED_RSA_BITS;
    if (!Number.isInteger(modulusLength) || modulusLength < min || modulusLength > RSA_MAX_BITS) {
      const hint = modulusLength >= RSA_MIN_BITS && modulusLength < MIN_GENERATED_RSA_BITS ? ' (smaller keys are weak; force allows them)' : '';
      throw new RangeError(`RSA key size ${modulusLength} is outside ${min}..${RSA_MAX_BITS}${hint}`);
    }
    return ownKey(generateKeyPairSync('rsa', { modulusLength, privateKeyEncoding: PKCS8_DER, publicKeyEncoding: SPKI_DER }).privateKey);
  }
  const curve = ECDSA_CURVES[type];
  if (!curve) throw new RangeError(`cannot generate keys of type ${String(type)}`);
  if (options.bits !== undefined && options.bits !== Number(curve.id.slice('nistp'.length))) {
    throw new RangeError(`a ${type} key has ${curve.id.slice('nistp'.length)} bits, not ${options.bits}`);
  }
  return ownKey(generateKeyPairSync('ec', { namedCurve: curve.openssl, privateKeyEncoding: PKCS8_DER, publicKeyEncoding: SPKI_DER }).privateKey);
}

/** Makes a fresh key and wraps it as a signer. RSA defaults to 3072 bits, as ssh-keygen does; 1024..16384 are allowed here. */
export function generateHostKey(type: HostKeyType, bits?: number): KeySigner {
  // bits has always been ignored for ECDSA here
  return signerFromKeyObject(generatePrivateKey(type, { bits: type === 'ssh-rsa' ? bits : undefined, force: true }));
}
