// The cipher registry. Its order is the default preference (OpenSSH 10's
// client and server default), secure entries first; legacy CBC comes last
// and is only used when named (see ../preferences.ts).
import type { CipherAlgorithm } from '../types.js';
import { chacha20Poly1305 } from './chacha20-poly1305.js';
import { aes128Gcm, aes256Gcm } from './aes-gcm.js';
import { aes128Ctr, aes192Ctr, aes256Ctr } from './aes-ctr.js';
import { aes128Cbc, aes256Cbc } from './aes-cbc.js';

export const cipherAlgorithms: readonly CipherAlgorithm[] = Object.freeze([
  chacha20Poly1305,
  aes128Gcm,
  aes256Gcm,
  aes128Ctr,
  aes192Ctr,
  aes256Ctr,
  aes128Cbc,
  aes256Cbc,
]);

const byName = new Map(cipherAlgorithms.map((c) => [c.name, c] as const));

/** The cipher with this wire name, or undefined when Nacre does not implement it. */
export function findCipher(name: string): CipherAlgorithm | undefined {
  return byName.get(name);
}

export { aes128Gcm, aes256Gcm, aes128Ctr, aes192Ctr, aes256Ctr, aes128Cbc, aes256Cbc, chacha20Poly1305 };
