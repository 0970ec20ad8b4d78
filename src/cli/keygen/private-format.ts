// -m, -Z and -a as they apply to a private key file ssh-keygen writes
// (generation, -p, -c): -m PEM or PKCS8 picks the PEM forms, -m RFC4716
// (or no -m) the openssh-key-v1 format; -Z and -a its cipher and bcrypt
// rounds. ed25519 keys have no PEM form in ssh-keygen: they are written as
// openssh-key-v1 whatever -m says, as it does.
import { KEY_FILE_CIPHER_NAMES, type PrivateKeyFileFormat, type WritePrivateKeyOptions } from '../../keys-entry.js';
import { fatal } from '../common/exit.js';
import { lastValue } from '../common/getopt.js';
import type { KeygenOptions } from './options.js';

/** The -m value as ssh-keygen reads it: rfc4716 (also `ssh2`), pkcs8, pem, and our ppk; else fatal. */
export type ConversionFormat = 'rfc4716' | 'pkcs8' | 'pem' | 'ppk';

export function conversionFormat(opts: KeygenOptions): ConversionFormat | undefined {
  const m = lastValue(opts.parsed, 'm');
  if (m === undefined) return undefined;
  const lower = m.toLowerCase();
  if (lower === 'rfc4716' || lower === 'ssh2') return 'rfc4716';
  if (lower === 'pkcs8' || lower === 'pem' || lower === 'ppk') return lower;
  return fatal(`Unsupported conversion format "${m}"`);
}

/** Checks -m, -Z and -a up front (ssh-keygen does so while reading flags); the write options per key type. */
export function privateKeyWriteOptions(opts: KeygenOptions): (keyType: string) => Pick<WritePrivateKeyOptions, 'format' | 'cipher' | 'rounds'> {
  const m = conversionFormat(opts);
  const cipher = lastValue(opts.parsed, 'Z');
  if (cipher !== undefined && !KEY_FILE_CIPHER_NAMES.includes(cipher)) fatal(`Invalid OpenSSH-format cipher '${cipher}'`);
  const roundsText = lastValue(opts.parsed, 'a');
  let rounds: number | undefined;
  if (roundsText !== undefined) {
    rounds = /^-?[0-9]+$/.test(roundsText) ? Number(roundsText) : NaN;
    if (Number.isNaN(rounds)) fatal(`Invalid number: ${roundsText} (invalid)`);
    if (rounds < 1) fatal(`Invalid number: ${roundsText} (too small)`);
    if (rounds > 0x7fffffff) fatal(`Invalid number: ${roundsText} (too large)`);
  }
  return (keyType) => {
    let format: PrivateKeyFileFormat = 'openssh';
    if (keyType !== 'ssh-ed25519' && (m === 'pem' || m === 'pkcs8')) format = m;
    if (m === 'ppk') format = 'ppk';
    return format === 'openssh' ? { format, cipher, rounds } : { format };
  };
}
