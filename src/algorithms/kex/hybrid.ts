// Post-quantum hybrids: a KEM combined with X25519 (OpenSSH PROTOCOL §1.9 for
// sntrup761x25519-sha512, draft-ietf-sshm-mlkem-hybrid-kex for
// mlkem768x25519-sha256). The client sends its KEM public key followed by its
// X25519 public key; the server answers with the KEM ciphertext followed by its
// X25519 public key; K = HASH(kem_secret || x25519_secret), hashed as a string.
import { ml_kem768 } from '@noble/post-quantum/ml-kem.js';
import { KeyExchangeError } from '../../errors.js';
import { x25519KeyPair, X25519_KEY_BYTES } from '../../crypto/ecdh.js';
import {
  sntrup761Decap,
  sntrup761Encap,
  sntrup761KeyPair,
  SNTRUP761_CIPHERTEXT_BYTES,
  SNTRUP761_PUBLIC_KEY_BYTES,
} from '../../crypto/sntrup761.js';
import { concat } from '../../wire/writer.js';
import type { HashName, KexAlgorithm, RandomSource } from '../types.js';
import { binaryCodec } from './ecdh.js';
import { stringSecret } from './hash.js';
import { singleRoundAlgorithm } from './single.js';

/** The KEM half of a hybrid, with every peer-supplied length already checked by the caller. */
export interface Kem {
  readonly name: string;
  readonly publicKeyBytes: number;
  readonly ciphertextBytes: number;
  keyPair(random: RandomSource): { readonly publicKey: Uint8Array; decapsulate(ciphertext: Uint8Array): Uint8Array };
  encapsulate(publicKey: Uint8Array, random: RandomSource): { readonly ciphertext: Uint8Array; readonly sharedSecret: Uint8Array };
}

function random(r: RandomSource, n: number): Uint8Array {
  const b = r(n);
  if (b.length !== n) throw new KeyExchangeError('random source returned the wrong number of bytes');
  return b;
}

// Library throws (a public key failing the FIPS 203 modulus check, say) become KeyExchangeError.
function guarded<T>(what: string, f: () => T): T {
  try {
    return f();
  } catch (err) {
    if (err instanceof KeyExchangeError) throw err;
    throw new KeyExchangeError(`${what} failed`, undefined, { cause: err });
  }
}

export const mlkem768: Kem = {
  name: 'ML-KEM-768',
  publicKeyBytes: 1184,
  ciphertextBytes: 1088,
  keyPair(r) {
    // FIPS 203 ML-KEM.KeyGen_internal takes d || z (64 bytes)
    const { publicKey, secretKey } = guarded('ML-KEM-768 key generation', () => ml_kem768.keygen(random(r, 64)));
    return {
      publicKey,
      decapsulate: (ct) => guarded('ML-KEM-768 decapsulation', () => ml_kem768.decapsulate(ct, secretKey)),
    };
  },
  encapsulate(publicKey, r) {
    const { cipherText, sharedSecret } = guarded('ML-KEM-768 encapsulation (bad client public key?)', () =>
      ml_kem768.encapsulate(publicKey, random(r, 32)),
    );
    return { ciphertext: cipherText, sharedSecret };
  },
};

export const sntrup761: Kem = {
  name: 'sntrup761',
  publicKeyBytes: SNTRUP761_PUBLIC_KEY_BYTES,
  ciphertextBytes: SNTRUP761_CIPHERTEXT_BYTES,
  keyPair(r) {
    const pair = guarded('sntrup761 key generation', () => sntrup761KeyPair(r));
    return {
      publicKey: pair.publicKey,
      decapsulate: (ct) => guarded('sntrup761 decapsulation', () => sntrup761Decap(ct, pair.secretKey)),
    };
  },
  encapsulate(publicKey, r) {
    const out = guarded('sntrup761 encapsulation', () => sntrup761Encap(publicKey, r));
    return { ciphertext: out.ciphertext, sharedSecret: out.sharedSecret };
  },
};

export function hybridKex(name: string, kem: Kem, hash: HashName): KexAlgorithm {
  const clientBytes = kem.publicKeyBytes + X25519_KEY_BYTES;
  const serverBytes = kem.ciphertextBytes + X25519_KEY_BYTES;
  return singleRoundAlgorithm<Uint8Array>(name, hash, true, {
    ...binaryCodec,
    client(r, digest) {
      const kemKey = kem.keyPair(r);
      const ecKey = x25519KeyPair(r);
      return {
        value: concat([kemKey.publicKey, ecKey.publicKey]),
        finish(serverValue) {
          if (serverValue.length !== serverBytes) {
            throw new KeyExchangeError(`${name}: server reply is ${serverValue.length} bytes, expected ${serverBytes}`);
          }
          const kemSecret = kemKey.decapsulate(serverValue.subarray(0, kem.ciphertextBytes));
          const ecSecret = ecKey.computeShared(serverValue.subarray(kem.ciphertextBytes));
          return stringSecret(digest([kemSecret, ecSecret]));
        },
      };
    },
    server(clientValue, r, digest) {
      if (clientValue.length !== clientBytes) {
        throw new KeyExchangeError(`${name}: client public value is ${clientValue.length} bytes, expected ${clientBytes}`);
      }
      const enc = kem.encapsulate(clientValue.subarray(0, kem.publicKeyBytes), r);
      const ecKey = x25519KeyPair(r);
      const ecSecret = ecKey.computeShared(clientValue.subarray(kem.publicKeyBytes));
      return {
        value: concat([enc.ciphertext, ecKey.publicKey]),
        sharedSecret: stringSecret(digest([enc.sharedSecret, ecSecret])),
      };
    },
  });
}
