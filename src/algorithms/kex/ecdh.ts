// ECDH key exchange: curve25519-sha256 (RFC 8731) and ecdh-sha2-nistp* (RFC 5656 §4).
// Public values travel as binary strings; K is the raw shared secret read as an
// unsigned big-endian number and hashed as an mpint.
import { KexEcdhInit, KexEcdhReply } from '../../messages/transport.js';
import { nistKeyPair, x25519KeyPair, type EcdhKeyPair, type NistCurve } from '../../crypto/ecdh.js';
import type { Writer } from '../../wire/writer.js';
import type { HashName, KexAlgorithm, RandomSource } from '../types.js';
import { mpintSecret } from './hash.js';
import { singleRoundAlgorithm, type SingleRoundFamily } from './single.js';

/** Codec pieces shared by every method that sends its values as binary strings (ECDH and the hybrids). */
export const binaryCodec = {
  encodeInit: (value: Uint8Array) => KexEcdhInit.encode({ clientPublic: value }),
  decodeInit: (payload: Uint8Array) => KexEcdhInit.decode(payload).clientPublic,
  encodeReply: (r: { hostKey: Uint8Array; value: Uint8Array; signature: Uint8Array }) =>
    KexEcdhReply.encode({ hostKey: r.hostKey, serverPublic: r.value, signature: r.signature }),
  decodeReply: (payload: Uint8Array) => {
    const m = KexEcdhReply.decode(payload);
    return { hostKey: m.hostKey, value: m.serverPublic, signature: m.signature };
  },
  hashValue: (w: Writer, value: Uint8Array) => void w.string(value),
} as const;

function ecdhFamily(makeKey: (random: RandomSource) => EcdhKeyPair): SingleRoundFamily<Uint8Array> {
  return {
    ...binaryCodec,
    client(random) {
      const key = makeKey(random);
      return { value: key.publicKey, finish: (serverValue) => mpintSecret(key.computeShared(serverValue)) };
    },
    server(clientValue, random) {
      const key = makeKey(random);
      // the peer's value is checked before we commit to anything
      const shared = key.computeShared(clientValue);
      return { value: key.publicKey, sharedSecret: mpintSecret(shared) };
    },
  };
}

export function curve25519Kex(name: string): KexAlgorithm {
  return singleRoundAlgorithm(name, 'sha256', true, ecdhFamily(x25519KeyPair));
}

export function nistKex(curve: NistCurve): KexAlgorithm {
  // RFC 5656 §6.2.1: the hash follows the curve size
  const hash: HashName = curve === 'nistp256' ? 'sha256' : curve === 'nistp384' ? 'sha384' : 'sha512';
  return singleRoundAlgorithm(`ecdh-sha2-${curve}`, hash, true, ecdhFamily((random) => nistKeyPair(curve, random)));
}
