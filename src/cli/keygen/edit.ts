// -p (change the passphrase) and -c (change the comment) as ssh-keygen's
// do_change_passphrase and do_change_comment: the key loaded (trying no
// passphrase first), the same messages, then written again atomically in
// the format -m asks (openssh-key-v1 when -m is absent, so -p converts a PEM
// key as ssh-keygen does), with -Z and -a. -c also rewrites <file>.pub.
import { statSync } from 'node:fs';
import {
  formatOpenSshPublicKeyLine,
  KeyFileError,
  loadPrivateKeyFile,
  writeFileAtomic,
  writePrivateKey,
  type LoadedPrivateKey,
  type WritePrivateKeyOptions,
} from '../../keys-entry.js';
import { CliExit, fatal } from '../common/exit.js';
import type { CliIo } from '../common/io.js';
import { askFilename, keyFileReason } from './keys.js';
import type { KeygenOptions } from './options.js';
import { privateKeyWriteOptions } from './private-format.js';

function needsPassphrase(err: unknown): boolean {
  return err instanceof KeyFileError && (err.problem === 'passphrase-required' || err.problem === 'wrong-passphrase');
}

function keyPath(opts: KeygenOptions, io: CliIo): string {
  const path = opts.file ?? askFilename(io, 'Enter file in which the key is', opts.keyType);
  try {
    statSync(path);
  } catch (err) {
    fatal(`${path}: ${keyFileReason(err)}`);
  }
  return path;
}

/** Loads with no passphrase, then with `ask()`'s; `failure` prefixes the fatal message. */
async function loadKey(path: string, ask: () => Promise<string>, failure: string): Promise<{ key: LoadedPrivateKey; passphrase: string }> {
  try {
    return { key: loadPrivateKeyFile(path), passphrase: '' };
  } catch (err) {
    if (!needsPassphrase(err)) fatal(`${failure}: ${keyFileReason(err)}`);
  }
  const passphrase = await ask();
  try {
    return { key: loadPrivateKeyFile(path, passphrase), passphrase };
  } catch (err) {
    return fatal(`${failure}: ${keyFileReason(err)}`);
  }
}

/** Writes the key back over `path` atomically, mode 0600; ssh-keygen's error and exit 1 on failure. */
function saveKey(path: string, key: LoadedPrivateKey, options: WritePrivateKeyOptions, io: CliIo): void {
  try {
    writeFileAtomic(path, writePrivateKey(key, options), 0o600, { what: 'private key' });
  } catch (err) {
    io.err(`Saving key "${path}" failed: ${keyFileReason(err)}\n`);
    throw new CliExit(1);
  }
}

/** The comment ssh-keygen sees: PEM files have none (NULL), openssh-key-v1 and PPK files have one, maybe empty. */
function commentOf(key: LoadedPrivateKey): string | undefined {
  return key.format === 'openssh' || key.format === 'ppk' ? key.comment : undefined;
}

/** `-p`: a new passphrase (-N, else asked twice; -P or a prompt for the old one). */
export async function changePassphrase(opts: KeygenOptions, io: CliIo): Promise<number> {
  const format = privateKeyWriteOptions(opts);
  const path = keyPath(opts, io);
  const { key } = await loadKey(path, async () => opts.passphrase ?? (await io.readPassphrase('Enter old passphrase: ')), `Failed to load key ${path}`);
  const comment = commentOf(key);
  if (comment !== undefined) io.out(`Key has comment '${comment}'\n`);
  let passphrase = opts.newPassphrase;
  if (passphrase === undefined) {
    passphrase = await io.readPassphrase('Enter new passphrase (empty for no passphrase): ');
    const again = await io.readPassphrase('Enter same passphrase again: ');
    if (passphrase !== again) {
      io.out('Pass phrases do not match.  Try again.\n');
      throw new CliExit(1);
    }
  }
  saveKey(path, key, { ...format(key.keyType), passphrase, comment: comment ?? '' }, io);
  io.out('Your identification has been saved with the new passphrase.\n');
  return 0;
}

/** `-c`: a new comment (-C, else a line from stdin) in the key and its .pub. */
export async function changeComment(opts: KeygenOptions, io: CliIo): Promise<number> {
  const format = privateKeyWriteOptions(opts);
  const path = keyPath(opts, io);
  const { key, passphrase } = await loadKey(
    path,
    async () => opts.passphrase ?? opts.newPassphrase ?? (await io.readPassphrase('Enter passphrase: ')),
    `Cannot load private key "${path}"`,
  );
  const options = format(key.keyType);
  if (key.keyType !== 'ssh-ed25519' && options.format !== 'openssh') {
    io.err('Comments are only supported for keys stored in the new format (-o).\n');
    throw new CliExit(1);
  }
  const old = commentOf(key);
  io.out(old !== undefined ? `Old comment: ${old}\n` : 'No existing comment\n');
  let comment = opts.comment;
  if (comment === undefined) {
    io.out('New comment: ');
    const line = io.readLine();
    if (line === null) throw new CliExit(1);
    comment = line;
  }
  if (old === comment) {
    io.out('No change to comment\n');
    return 0;
  }
  saveKey(path, key, { ...options, passphrase, comment }, io);
  try {
    writeFileAtomic(`${path}.pub`, formatOpenSshPublicKeyLine(key.publicBlob, comment) + '\n', 0o644, { what: 'public key' });
  } catch (err) {
    fatal(`Unable to save public key to ${path}.pub: ${keyFileReason(err)}`);
  }
  io.out(`Comment '${comment}' applied\n`);
  return 0;
}
