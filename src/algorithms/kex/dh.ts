// Finite-field Diffie-Hellman over fixed groups (RFC 4253 §8, RFC 8268):
// e and f travel and are hashed as mpints, and so is K. Range checks on the
// peer's value (including negative or oversized mpints) happen in crypto/dh.ts.
import { KexDhInit, KexDhReply } from '../../messages/transport.js';
import { bytesToBigint, checkDhPublic, dhKeyPair } from '../../crypto/dh.js';
import type { HashName, KexAlgorithm } from '../types.js';
import { mpintSecret } from './hash.js';
import type { ModpGroup } from './groups.js';
import { singleRoundAlgorithm } from './single.js';

export function fixedGroupKex(name: string, group: ModpGroup, hash: HashName, secure: boolean): KexAlgorithm {
  const p = bytesToBigint(group.prime);
  const g = BigInt(group.generator);
  return singleRoundAlgorithm<bigint>(name, hash, secure, {
    encodeInit: (e) => KexDhInit.encode({ e }),
    decodeInit: (payload) => KexDhInit.decode(payload).e,
    encodeReply: (r) => KexDhReply.encode({ hostKey: r.hostKey, f: r.value, signature: r.signature }),
    decodeReply: (payload) => {
      const m = KexDhReply.decode(payload);
      return { hostKey: m.hostKey, value: m.f, signature: m.signature };
    },
    hashValue: (w, v) => void w.mpint(v),
    client(random) {
      const key = dhKeyPair(group.prime, g, random, true);
      return { value: key.publicValue, finish: (f) => mpintSecret(key.computeShared(f)) };
    },
    server(e, random) {
      checkDhPublic(e, p, 'client');
      const key = dhKeyPair(group.prime, g, random, true);
      return { value: key.publicValue, sharedSecret: mpintSecret(key.computeShared(e)) };
    },
  });
}
