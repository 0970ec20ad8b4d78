// -e (export) and -i (import) as ssh-keygen's do_convert_to and
// do_convert_from, for public keys in the -m forms: RFC4716 (the default,
// with the comment ssh-keygen writes), PKCS8 (SubjectPublicKeyInfo) and PEM
// (PKCS#1 for RSA). -e on a private key exports its public half, from the
// .pub beside it when there is one, as ssh-keygen does.
// Ours, not ssh-keygen's: `-e -m PPK -f key` writes the private key in
// PuTTY's .ppk format (version 3) to stdout, encrypted when -N gives a
// passphrase.
import { existsSync, statSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import {
  formatOpenSshPublicKeyLine,
  formatPemPublicKey,
  formatPkcs8PublicKey,
  formatRfc4716PublicKey,
  MAX_TRUST_FILE_BYTES,
  parsePublicKeyText,
  readBounded,
  isSshComPrivateKey,
  openSshPublicKeyFromPrivate,
  parseSshComPrivateKey,
  KeyFileError,
  rfc4716ConversionComment,
  writePrivateKey,
  type ParsedPublicKeyText,
} from '../../keys-entry.js';
import { fatal } from '../common/exit.js';
import type { CliIo } from '../common/io.js';
import { askFilename, keyFileReason, loadIdentity } from './keys.js';
import type { KeygenOptions } from './options.js';
import { conversionFormat } from './private-format.js';

function inputPath(opts: KeygenOptions, io: CliIo): string {
  const path = opts.file ?? askFilename(io, 'Enter file in which the key is', opts.keyType);
  try {
    statSync(path);
  } catch (err) {
    fatal(`nacre-keygen: ${path}: ${keyFileReason(err)}`);
  }
  return path;
}

function readPublic(path: string): ParsedPublicKeyText | undefined {
  try {
    return parsePublicKeyText(readBounded(path, MAX_TRUST_FILE_BYTES, 'public key file').toString('utf8'));
  } catch {
    return undefined;
  }
}

function userName(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? 'user';
  }
}

/** `-e`: the public key in the -m form, on stdout. */
export async function exportKey(opts: KeygenOptions, io: CliIo): Promise<number> {
  const format = conversionFormat(opts) ?? 'rfc4716';
  const path = inputPath(opts, io);
  if (format === 'ppk') {
    const key = await loadIdentity(path, io, opts.passphrase);
    io.out(writePrivateKey(key, { format: 'ppk', passphrase: opts.newPassphrase ?? '', comment: key.comment }));
    return 0;
  }
  let blob = readPublic(path)?.blob;
  if (!blob && existsSync(`${path}.pub`)) blob = readPublic(`${path}.pub`)?.blob;
  if (!blob) {
    // openssh-key-v1 keeps the public key in the clear: no passphrase needed, as ssh-keygen
    try {
      blob = openSshPublicKeyFromPrivate(readBounded(path, MAX_TRUST_FILE_BYTES, 'key file').toString('utf8'));
    } catch {
      blob = (await loadIdentity(path, io, opts.passphrase)).publicBlob;
    }
  }
  if (format === 'rfc4716') io.out(formatRfc4716PublicKey(blob, rfc4716ConversionComment(blob, userName(), hostname())));
  else if (format === 'pkcs8') io.out(formatPkcs8PublicKey(blob));
  else io.out(formatPemPublicKey(blob));
  return 0;
}

/** `-i`: a public key in the -m form, printed as an OpenSSH line (no comment, as ssh-keygen). */
export function importKey(opts: KeygenOptions, io: CliIo): number {
  const format = conversionFormat(opts) ?? 'rfc4716';
  const path = inputPath(opts, io);
  if (format === 'rfc4716') {
    const text = readBounded(path, MAX_TRUST_FILE_BYTES, 'key file').toString('utf8');
    if (isSshComPrivateKey(text)) return importSshComPrivateKey(text, io);
  }
  const parsed = readPublic(path);
  if (format === 'rfc4716') {
    if (parsed?.format !== 'rfc4716') fatal('do_convert_from_ssh2: parse key: invalid format');
  } else if (format === 'pkcs8') {
    if (parsed?.format !== 'pkcs8' && parsed?.format !== 'pkcs1') fatal(`do_convert_from_pkcs8: ${path} is not a recognised public key`);
  } else if (format === 'pem') {
    if (parsed?.format !== 'pkcs1') fatal('do_convert_from_pem: unrecognised raw private key format');
  } else {
    fatal('nacre-keygen: -i -m PPK is not supported: PuTTY private keys are read directly (-y -f key.ppk)');
  }
  io.out(formatOpenSshPublicKeyLine(parsed.blob, '') + '\n');
  return 0;
}

/** `-i` of an SSH.com private key (`---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----`): the key as PKCS#1 PEM, as ssh-keygen writes it. */
function importSshComPrivateKey(text: string, io: CliIo): number {
  try {
    io.out(parseSshComPrivateKey(text).export({ type: 'pkcs1', format: 'pem' }).toString());
    return 0;
  } catch (err) {
    // ssh-keygen names an encrypted file's cipher before giving up
    if (err instanceof KeyFileError && err.problem === 'unsupported-cipher') io.err(`unsupported cipher ${/encrypted with (\S+):/.exec(err.message)?.[1] ?? ''}\n`);
    return fatal('do_convert_from_ssh2: private key conversion failed');
  }
}
