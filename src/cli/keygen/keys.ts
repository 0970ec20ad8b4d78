// -y (print the public key of a private key) and -l (fingerprints of every
// key in a file), and the key loading ssh-keygen's load_identity does: try
// without a passphrase, then -P or a prompt on the terminal.
import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import {
  fingerprintMd5,
  fingerprintSha256,
  formatOpenSshPublicKeyLine,
  randomart,
  randomartFromDigest,
  describePublicKey,
  certifiedKey,
  KeyFileError,
  loadPrivateKeyFile,
  MAX_TRUST_FILE_BYTES,
  openSshPublicKeyFromPrivate,
  blobKeyType,
  parseOpenSshPublicKeyLine,
  readBounded,
  type PublicKeyLine,
} from '../../keys-entry.js';
import { fatal, strerror } from '../common/exit.js';
import type { CliIo } from '../common/io.js';
import type { KeygenOptions } from './options.js';
import { keyBits, shortKeyType } from './key-info.js';

type LoadedKey = ReturnType<typeof loadPrivateKeyFile>;

/** The reason ssh-keygen (ssh_err) gives for a key file that cannot be loaded. */
export function keyFileReason(err: unknown): string {
  if (err instanceof KeyFileError) {
    switch (err.problem) {
      case 'passphrase-required':
      case 'wrong-passphrase':
        return 'incorrect passphrase supplied to decrypt private key';
      case 'malformed':
      case 'not-a-private-key':
        return 'invalid format';
      case 'io':
        return strerror(err);
      default:
        return err.detail;
    }
  }
  return strerror(err);
}

function needsPassphrase(err: unknown): boolean {
  return err instanceof KeyFileError && (err.problem === 'passphrase-required' || err.problem === 'wrong-passphrase');
}

/** ssh-keygen's load_identity: fatal `Load key "<path>": <reason>` when the key cannot be loaded. */
export async function loadIdentity(path: string, io: CliIo, passphrase: string | undefined): Promise<LoadedKey> {
  try {
    return loadPrivateKeyFile(path);
  } catch (err) {
    if (!needsPassphrase(err)) fatal(`Load key "${path}": ${keyFileReason(err)}`);
  }
  const pass = passphrase ?? (await io.readPassphrase(`Enter passphrase for "${path}": `));
  try {
    return loadPrivateKeyFile(path, pass);
  } catch (err) {
    return fatal(`Load key "${path}": ${keyFileReason(err)}`);
  }
}

/** The default key ssh-keygen offers when -f is missing, for the key type given with -t. */
export function defaultKeyPath(keyType: string | undefined): string {
  const name = keyType === 'rsa' ? 'id_rsa' : keyType?.startsWith('ecdsa') ? 'id_ecdsa' : 'id_ed25519';
  return join(homedir(), '.ssh', name);
}

/** ssh-keygen's ask_filename: `<prompt> (<default>): ` on stdout, a line from stdin, end of input exits 1. */
export function askFilename(io: CliIo, prompt: string, keyType: string | undefined): string {
  const fallback = defaultKeyPath(keyType);
  io.out(`${prompt} (${fallback}): `);
  const line = io.readLine();
  if (line === null) fatal('');
  return line === '' ? fallback : line;
}

function statOrFatal(path: string): void {
  try {
    statSync(path);
  } catch (err) {
    fatal(`${path}: ${keyFileReason(err)}`);
  }
}

/** `-y`: the public key line of a private key, with its comment. */
export async function printPublicKey(opts: KeygenOptions, io: CliIo): Promise<number> {
  const path = opts.file ?? askFilename(io, 'Enter file in which the key is', opts.keyType);
  statOrFatal(path);
  const key = await loadIdentity(path, io, opts.passphrase);
  io.out(formatOpenSshPublicKeyLine(key.publicBlob, key.comment) + '\n');
  return 0;
}

const SHA_FINGERPRINTS: ReadonlyMap<string, string> = new Map([
  ['sha1', 'SHA1'],
  ['sha256', 'SHA256'],
  ['sha384', 'SHA384'],
  ['sha512', 'SHA512'],
]);

/** The fingerprint as -E asks: `SHA256:...` (unpadded base64, as OpenSSH), the other SHAs alike, or `MD5:...`. */
export function fingerprintFor(blob: Uint8Array, hash: string): string {
  if (hash === 'sha256') return fingerprintSha256(blob);
  if (hash === 'md5') return fingerprintMd5(blob);
  const label = SHA_FINGERPRINTS.get(hash);
  if (!label) return fatal(`Invalid hash algorithm "${hash}"`);
  return `${label}:${createHash(hash).update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** The randomart picture for -v, for any hash -E takes (sha256 and md5 as src/keys draws them). */
export function randomArt(blob: Uint8Array, hash: string): string {
  if (hash === 'sha256' || hash === 'md5') return randomart(blob, hash);
  const { shortName, bits } = describePublicKey(blob);
  const digest = createHash(hash).update(certifiedKey(blob) ?? blob).digest();
  return randomartFromDigest(digest, `${shortName} ${bits}`, SHA_FINGERPRINTS.get(hash) ?? hash.toUpperCase());
}

/** Checks -E once, before any output: ssh-keygen refuses an unknown hash at option time. */
export function checkFingerprintHash(hash: string): void {
  if (hash !== 'md5' && !SHA_FINGERPRINTS.has(hash)) fatal(`Invalid hash algorithm "${hash}"`);
}

/** One `-l` line (and with -v the randomart picture). */
function fingerprintLine(io: CliIo, opts: KeygenOptions, blob: Uint8Array, keyType: string, comment: string | undefined): void {
  const fp = fingerprintFor(blob, opts.fingerprintHash);
  const art = opts.verbose > 0 ? randomArt(blob, opts.fingerprintHash) : undefined;
  io.out(`${keyBits(keyType, blob)} ${fp} ${comment ? comment : 'no comment'} (${shortKeyType(keyType)})\n`);
  if (art !== undefined) io.out(art + '\n');
}

function tryPublicLine(text: string): PublicKeyLine | undefined {
  try {
    return parseOpenSshPublicKeyLine(text);
  } catch {
    return undefined;
  }
}

/** Skips the host or options field before a key, with quotes as ssh-keygen's do_fingerprint does. */
function skipLeadingField(text: string): { field: string; rest: string } | undefined {
  let quoted = false;
  let i = 0;
  for (; i < text.length && (quoted || (text[i] !== ' ' && text[i] !== '\t')); i++) {
    if (text[i] === '\\' && text[i + 1] === '"') i++;
    else if (text[i] === '"') quoted = !quoted;
  }
  if (i >= text.length) return undefined;
  return { field: text.slice(0, i), rest: text.slice(i + 1) };
}

/** The public half and comment of a private key file for -l: the .pub beside it first, as ssh-keygen. */
function fingerprintPrivate(io: CliIo, opts: KeygenOptions, path: string): number {
  let pub: PublicKeyLine | undefined;
  if (existsSync(path + '.pub')) {
    const first = readBounded(path + '.pub', MAX_TRUST_FILE_BYTES, 'public key file').toString('utf8').split('\n', 1)[0] ?? '';
    pub = tryPublicLine(first);
  }
  if (pub && pub.comment) {
    fingerprintLine(io, opts, pub.blob, pub.type, pub.comment);
    return 0;
  }
  try {
    const key = loadPrivateKeyFile(path);
    fingerprintLine(io, opts, key.publicBlob, key.keyType, key.comment);
    return 0;
  } catch (err) {
    if (!needsPassphrase(err)) fatal(`${path} is not a key file.`);
  }
  if (pub) {
    fingerprintLine(io, opts, pub.blob, pub.type, undefined);
    return 0;
  }
  // Encrypted and no .pub: openssh-key-v1 keeps the public key in the clear,
  // so ssh-keygen asks for no passphrase (a PEM file is "not a key file").
  let blob: Uint8Array;
  try {
    blob = openSshPublicKeyFromPrivate(readBounded(path, MAX_TRUST_FILE_BYTES, 'key file').toString('utf8'));
  } catch {
    return fatal(`${path} is not a key file.`);
  }
  fingerprintLine(io, opts, blob, blobKeyType(blob), undefined);
  return 0;
}

/** `-l`: fingerprints of a key, a .pub, or every key in an authorized_keys or known_hosts file. */
export async function printFingerprints(opts: KeygenOptions, io: CliIo): Promise<number> {
  checkFingerprintHash(opts.fingerprintHash);
  const path = opts.file ?? askFilename(io, 'Enter file in which the key is', opts.keyType);
  let text: string;
  const shown = path === '-' ? '(stdin)' : path;
  try {
    text = readBounded(path === '-' ? '/dev/stdin' : path, MAX_TRUST_FILE_BYTES, 'key file').toString('utf8');
  } catch (err) {
    return fatal(`nacre-keygen: ${path}: ${keyFileReason(err)}`);
  }
  let found = false;
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    let line = lines[n]!.replace(/\r$/, '');
    line = line.replace(/^[ \t]+/, '');
    if (line === '' || line.startsWith('#')) continue;
    if (n === 0 && path !== '-' && (line.includes('PRIVATE KEY') || line.startsWith('PuTTY-User-Key-File-'))) return fingerprintPrivate(io, opts, path);
    let key = tryPublicLine(line);
    let leading: string | undefined;
    if (!key) {
      // An SSH-1 key starts with its size: not read, as in ssh-keygen.
      if (/^[1-9][0-9]*[ \t]/.test(line)) continue;
      const split = skipLeadingField(line);
      if (!split) continue;
      leading = split.field;
      key = tryPublicLine(split.rest);
      if (!key) continue;
    }
    const comment = key.comment !== '' && !key.comment.startsWith('#') ? key.comment : leading;
    fingerprintLine(io, opts, key.blob, key.type, comment);
    found = true;
  }
  if (!found) fatal(`${shown} is not a public key file.`);
  return 0;
}
