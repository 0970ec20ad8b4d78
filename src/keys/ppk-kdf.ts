// Key derivation and MAC of PuTTY key files (ppk.ts). Version 2 derives its
// keys from the passphrase with SHA-1; version 3 with Argon2 (from
// @noble/hashes, pure JS), whose cost comes from the file and so is capped
// here. The MAC (HMAC-SHA-1 in version 2, HMAC-SHA-256 in version 3) covers
// the clear header fields as well as the private blob.
import { createHash, createHmac } from 'node:crypto';
import { argon2d, argon2i, argon2id } from '@noble/hashes/argon2.js';
import { Writer } from '../wire/writer.js';
import { KeyFileError } from './pem.js';

/**
 * Caps on the Argon2 cost a file may ask for. The JS Argon2 fills about
 * 200 MiB a second here, and the parameters come from the file, so a hostile
 * one could otherwise stall the process for minutes or exhaust memory.
 * puttygen's default is 8192 KiB with the passes it can do in 100 ms.
 */
export const MAX_ARGON2_MEMORY_KIB = 64 * 1024;
export const MAX_ARGON2_PASSES = 256;
export const MAX_ARGON2_PARALLELISM = 16;
/** Memory times passes: the amount of memory Argon2 fills, in KiB (1 GiB, a few seconds). */
export const MAX_ARGON2_WORK_KIB = 1024 * 1024;

export type PpkVersion = 2 | 3;
export type Argon2Flavour = 'Argon2id' | 'Argon2i' | 'Argon2d';

export interface PpkArgon2Params {
  readonly flavour: Argon2Flavour;
  /** Memory in KiB. */
  readonly memoryKiB: number;
  readonly passes: number;
  readonly parallelism: number;
  readonly salt: Uint8Array;
}

export const ARGON2 = { Argon2id: argon2id, Argon2i: argon2i, Argon2d: argon2d } as const;
export const CIPHER_KEY_BYTES = 32;
export const IV_BYTES = 16;
const V3_MAC_KEY_BYTES = 32;

export interface PpkKeys {
  readonly cipherKey: Uint8Array;
  readonly iv: Uint8Array;
  readonly macKey: Uint8Array;
}

function sha1(...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha1');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

/** Version 2: SHA-1 over a counter and the passphrase for the cipher key, a zero IV, a SHA-1-derived MAC key. */
export function v2Keys(passphrase: Uint8Array): PpkKeys {
  const cipherKey = new Uint8Array(40);
  cipherKey.set(sha1(new Uint8Array([0, 0, 0, 0]), passphrase), 0);
  cipherKey.set(sha1(new Uint8Array([0, 0, 0, 1]), passphrase), 20);
  const macKey = sha1(new TextEncoder().encode('putty-private-key-file-mac-key'), passphrase);
  return { cipherKey: cipherKey.subarray(0, CIPHER_KEY_BYTES), iv: new Uint8Array(IV_BYTES), macKey };
}

/** An unencrypted file has no cipher key; its MAC key is that of the empty passphrase in version 2, empty in version 3. */
export function plainKeys(version: PpkVersion): PpkKeys {
  return version === 2 ? v2Keys(new Uint8Array(0)) : { cipherKey: new Uint8Array(0), iv: new Uint8Array(0), macKey: new Uint8Array(0) };
}

export function checkArgon2Cost(p: PpkArgon2Params): void {
  const refuse = (what: string): KeyFileError => new KeyFileError(`Argon2 ${what}, more than Nacre will spend on a key file`, 'kdf-too-costly');
  if (p.memoryKiB > MAX_ARGON2_MEMORY_KIB) throw refuse(`memory ${p.memoryKiB} KiB is over the cap of ${MAX_ARGON2_MEMORY_KIB} KiB`);
  if (p.passes > MAX_ARGON2_PASSES) throw refuse(`passes ${p.passes} are over the cap of ${MAX_ARGON2_PASSES}`);
  if (p.parallelism > MAX_ARGON2_PARALLELISM) throw refuse(`parallelism ${p.parallelism} is over the cap of ${MAX_ARGON2_PARALLELISM}`);
  if (p.memoryKiB * p.passes > MAX_ARGON2_WORK_KIB) {
    throw refuse(`memory × passes of ${p.memoryKiB * p.passes} KiB is over the cap of ${MAX_ARGON2_WORK_KIB} KiB`);
  }
  if (p.passes < 1 || p.parallelism < 1 || p.memoryKiB < 8 * p.parallelism) {
    throw new KeyFileError(`corrupt key file: Argon2 parameters out of range (memory ${p.memoryKiB} KiB, passes ${p.passes}, parallelism ${p.parallelism})`, 'malformed');
  }
  if (p.salt.length < 8 || p.salt.length > 64) throw new KeyFileError(`corrupt key file: Argon2 salt of ${p.salt.length} bytes is outside 8..64`, 'malformed');
}

/** Version 3: one Argon2 run gives cipher key, IV and MAC key, in that order. */
export function v3Keys(passphrase: Uint8Array, p: PpkArgon2Params): PpkKeys {
  checkArgon2Cost(p);
  let out: Uint8Array;
  try {
    out = ARGON2[p.flavour](passphrase, p.salt, { m: p.memoryKiB, t: p.passes, p: p.parallelism, dkLen: CIPHER_KEY_BYTES + IV_BYTES + V3_MAC_KEY_BYTES });
  } catch (err) {
    throw new KeyFileError(`corrupt key file: Argon2 refused its parameters (${err instanceof Error ? err.message : String(err)})`, 'malformed');
  }
  return {
    cipherKey: out.subarray(0, CIPHER_KEY_BYTES),
    iv: out.subarray(CIPHER_KEY_BYTES, CIPHER_KEY_BYTES + IV_BYTES),
    macKey: out.subarray(CIPHER_KEY_BYTES + IV_BYTES),
  };
}

/** The MAC covers the clear header fields as well as the (padded, decrypted) private blob. */
export function ppkMac(version: PpkVersion, macKey: Uint8Array, fields: { type: string; encryption: string; comment: Uint8Array; publicBlob: Uint8Array; privateBlob: Uint8Array }): Uint8Array {
  const data = new Writer(fields.publicBlob.length + fields.privateBlob.length + 256)
    .string(fields.type)
    .string(fields.encryption)
    .string(fields.comment)
    .string(fields.publicBlob)
    .string(fields.privateBlob)
    .finish();
  return new Uint8Array(createHmac(version === 2 ? 'sha1' : 'sha256', macKey).update(data).digest());
}
