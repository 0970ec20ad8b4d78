// Signers: a private KeyObject wrapped so that only SSH signature blobs come out.
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { ProtocolError } from '../errors.js';
import type { Signer } from '../algorithms/types.js';
import { ECDSA_CURVES, encodePublicKey, sshKeyType, type PublicKeyType } from './blob.js';
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

/** Makes a fresh key. RSA defaults to 3072 bits, as ssh-keygen does. */
export function generateHostKey(type: HostKeyType, bits?: number): KeySigner {
  if (type === 'ssh-ed25519') return signerFromKeyObject(generateKeyPairSync('ed25519').privateKey);
  if (type === 'ssh-rsa') {
    const modulusLength = bits ?? 3072;
    if (!Number.isInteger(modulusLength) || modulusLength < 1024 || modulusLength > 16384) {
      throw new RangeError(`RSA key size ${modulusLength} is outside 1024..16384`);
    }
    return signerFromKeyObject(generateKeyPairSync('rsa', { modulusLength }).privateKey);
  }
  const curve = ECDSA_CURVES[type];
  if (!curve) throw new RangeError(`cannot generate keys of type ${String(type)}`);
  return signerFromKeyObject(generateKeyPairSync('ec', { namedCurve: curve.openssl }).privateKey);
}
