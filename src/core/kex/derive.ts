// Session key derivation (RFC 4253 §7.2).
import { utf8 } from '../../wire/bytes.js';

export interface DirectionKeys {
  readonly iv: Uint8Array;
  readonly key: Uint8Array;
  readonly macKey: Uint8Array;
}

/**
 * HASH(K || H || letter || session_id), extended with HASH(K || H || K1 || ...)
 * until `length` bytes are there. K arrives already encoded (mpint or string).
 */
export function deriveKey(
  digest: (parts: readonly Uint8Array[]) => Uint8Array,
  sharedSecret: Uint8Array,
  exchangeHash: Uint8Array,
  letter: 'A' | 'B' | 'C' | 'D' | 'E' | 'F',
  sessionId: Uint8Array,
  length: number,
): Uint8Array {
  if (length === 0) return new Uint8Array(0);
  const blocks: Uint8Array[] = [digest([sharedSecret, exchangeHash, utf8(letter), sessionId])];
  let have = blocks[0]!.length;
  while (have < length) {
    const next = digest([sharedSecret, exchangeHash, ...blocks]);
    blocks.push(next);
    have += next.length;
  }
  const out = new Uint8Array(have);
  let o = 0;
  for (const b of blocks) {
    out.set(b, o);
    o += b.length;
  }
  return out.subarray(0, length);
}

export interface KeySizes {
  readonly ivLength: number;
  readonly keyLength: number;
  readonly macKeyLength: number;
}

/** Keys for both directions: A/C/E client to server, B/D/F server to client. */
export function deriveSessionKeys(
  digest: (parts: readonly Uint8Array[]) => Uint8Array,
  sharedSecret: Uint8Array,
  exchangeHash: Uint8Array,
  sessionId: Uint8Array,
  c2s: KeySizes,
  s2c: KeySizes,
): { clientToServer: DirectionKeys; serverToClient: DirectionKeys } {
  const d = (letter: 'A' | 'B' | 'C' | 'D' | 'E' | 'F', n: number) =>
    deriveKey(digest, sharedSecret, exchangeHash, letter, sessionId, n);
  return {
    clientToServer: { iv: d('A', c2s.ivLength), key: d('C', c2s.keyLength), macKey: d('E', c2s.macKeyLength) },
    serverToClient: { iv: d('B', s2c.ivLength), key: d('D', s2c.keyLength), macKey: d('F', s2c.macKeyLength) },
  };
}
