// The ssh-keygen binary, the key types the key tests make with it, and where
// the private section of the files it writes begins.
import { existsSync } from 'node:fs';
import type { HostKeyType } from '../../src/keys/index.js';
import { Reader } from '../../src/wire/reader.js';

export const SSH_KEYGEN = '/usr/bin/ssh-keygen';
export const haveKeygen = existsSync(SSH_KEYGEN);

/** Warns loudly (once per test file) when ssh-keygen is missing; returns the `skip` value for tests. */
export function keygenSkip(file: string): false | string {
  if (!haveKeygen) console.warn(`!!! ${file}: ssh-keygen not found at ${SSH_KEYGEN}, SKIPPING every ssh-keygen test`);
  return !haveKeygen && 'ssh-keygen missing';
}

/** [label, ssh-keygen arguments, Nacre key type]. */
export const KEYGEN_CASES: readonly [string, readonly string[], HostKeyType][] = [
  ['ed25519', ['-t', 'ed25519'], 'ssh-ed25519'],
  ['ecdsa256', ['-t', 'ecdsa', '-b', '256'], 'ecdsa-sha2-nistp256'],
  ['ecdsa384', ['-t', 'ecdsa', '-b', '384'], 'ecdsa-sha2-nistp384'],
  ['ecdsa521', ['-t', 'ecdsa', '-b', '521'], 'ecdsa-sha2-nistp521'],
  ['rsa', ['-t', 'rsa', '-b', '2048'], 'ssh-rsa'],
];

/**
 * Offset of the private section (its first check word) in the decoded body of
 * an unencrypted OpenSSH private key file: after the magic, cipher "none", KDF
 * "none", empty KDF options, the key count and the public key, then the
 * section's own length.
 */
export function opensshPrivateSectionStart(body: Uint8Array): number {
  const r = new Reader(body);
  r.raw(15);
  r.string();
  r.string();
  r.string();
  r.uint32();
  r.string();
  return r.position + 4;
}
