// Key generation as ssh-keygen does it: the type and size checked first,
// "Generating public/private <type> key pair.", the file asked for when -f
// is missing, ~/.ssh created, an existing file overwritten only after
// "Overwrite (y/n)?", the passphrase from -N (or asked twice on the
// terminal), then the private key (0600) and <file>.pub (0644) written, each
// atomically, in the format -m asks (openssh by default; -Z cipher, -a rounds).
import type { KeyObject } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { hostname, homedir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import {
  fingerprintSha256,
  formatOpenSshPublicKeyLine,
  generatePrivateKey as generateKey,
  randomart,
  signerFromKeyObject,
  writeFileAtomic,
  writePrivateKey,
  type HostKeyType,
} from '../../keys-entry.js';
import { CliExit, describeError, fatal } from '../common/exit.js';
import type { CliIo } from '../common/io.js';
import { confirmOverwrite } from '../common/prompt.js';
import type { KeygenOptions } from './options.js';
import { askFilename, keyFileReason } from './keys.js';
import { privateKeyWriteOptions } from './private-format.js';

export interface KeyChoice {
  /** The name ssh-keygen prints: `ed25519`, `ecdsa`, `rsa`. */
  readonly name: string;
  readonly type: HostKeyType;
  readonly bits: number | undefined;
}

const ECDSA_BY_BITS: ReadonlyMap<number, HostKeyType> = new Map([
  [256, 'ecdsa-sha2-nistp256'],
  [384, 'ecdsa-sha2-nistp384'],
  [521, 'ecdsa-sha2-nistp521'],
]);

/** ssh-keygen's type_bits_valid: -t and -b checked before anything else happens. */
export function chooseKey(typeName: string | undefined, bitsText: string | undefined): KeyChoice {
  const name = typeName ?? 'ed25519';
  let bits: number | undefined;
  if (bitsText !== undefined) {
    bits = /^[0-9]+$/.test(bitsText) ? Number(bitsText) : NaN;
    if (!Number.isSafeInteger(bits) || bits < 1 || bits > 0xffffffff) fatal(`Bits has bad value ${bitsText} (invalid)`);
  }
  switch (name.toLowerCase()) {
    case 'ed25519':
    case 'ssh-ed25519':
      return { name, type: 'ssh-ed25519', bits: undefined };
    case 'ecdsa':
    case 'ecdsa-sha2-nistp256':
    case 'ecdsa-sha2-nistp384':
    case 'ecdsa-sha2-nistp521': {
      const named = /nistp(\d+)$/.exec(name)?.[1];
      const b = bits ?? (named ? Number(named) : 256);
      const type = ECDSA_BY_BITS.get(b);
      if (!type) fatal('Invalid ECDSA key length: valid lengths are 256, 384 or 521 bits');
      return { name, type, bits: b };
    }
    case 'rsa':
    case 'ssh-rsa': {
      const b = bits ?? 3072;
      if (b < 1024) fatal('Invalid RSA key length: minimum is 1024 bits');
      if (b > 16384) fatal('Invalid RSA key length: maximum is 16384 bits');
      return { name, type: 'ssh-rsa', bits: b };
    }
    default:
      return fatal(`unknown key type ${name}`);
  }
}

/** A fresh private key (the library's generatePrivateKey; ssh-keygen's own size checks were made already). */
export function generatePrivateKey(choice: KeyChoice): KeyObject {
  return generateKey(choice.type, { bits: choice.type === 'ssh-rsa' ? (choice.bits ?? 3072) : undefined, force: true });
}

/** The passphrase for the new key: -P or -N, else asked twice until both agree (ssh-keygen's read_check_passphrase). */
async function newPassphrase(opts: KeygenOptions, io: CliIo, path: string): Promise<string> {
  const given = opts.passphrase ?? opts.newPassphrase;
  if (given !== undefined) return given;
  for (;;) {
    const first = await io.readPassphrase(`Enter passphrase for "${path}" (empty for no passphrase): `);
    const second = await io.readPassphrase('Enter same passphrase again: ');
    if (first === second) return first;
    io.err('Passphrases do not match.  Try again.\n');
  }
}

export function defaultComment(): string {
  let user: string;
  try {
    user = userInfo().username;
  } catch {
    user = process.env.USER ?? 'user';
  }
  return `${user}@${hostname()}`;
}

export async function generateCommand(opts: KeygenOptions, io: CliIo): Promise<number> {
  const choice = chooseKey(opts.keyType, opts.bits);
  const format = privateKeyWriteOptions(opts);
  if (!opts.quiet) io.out(`Generating public/private ${choice.name} key pair.\n`);
  const keyObject = generatePrivateKey(choice);
  const signer = signerFromKeyObject(keyObject);
  const path = opts.file ?? askFilename(io, 'Enter file in which to save the key', opts.keyType);
  const dir = dirname(path);
  if (dir === join(homedir(), '.ssh') && !existsSync(dir)) {
    mkdirSync(dir, { mode: 0o700 });
    if (!opts.quiet) io.out(`Created directory '${dir}'.\n`);
  }
  if (!confirmOverwrite(io, path, existsSync)) throw new CliExit(1);
  const passphrase = await newPassphrase(opts, io, path);
  const comment = opts.comment ?? defaultComment();
  // Serialised before anything is written, so a key the format cannot hold leaves no files behind.
  let privateText: string;
  try {
    privateText = writePrivateKey(keyObject, { ...format(choice.type), passphrase, comment });
  } catch (err) {
    throw new CliExit(1, `Saving key "${path}" failed: ${keyFileReason(err)}`);
  }
  const art = opts.quiet ? undefined : randomart(signer.publicBlob, 'sha256');
  try {
    writeFileAtomic(path, privateText, 0o600, { what: 'private key' });
  } catch (err) {
    throw new CliExit(1, `Saving key "${path}" failed: ${describeError(err)}`);
  }
  if (!opts.quiet) io.out(`Your identification has been saved in ${path}\n`);
  const pubPath = `${path}.pub`;
  try {
    writeFileAtomic(pubPath, formatOpenSshPublicKeyLine(signer.publicBlob, comment) + '\n', 0o644, { what: 'public key' });
  } catch (err) {
    fatal(`Unable to save public key to ${pubPath}: ${describeError(err)}`);
  }
  if (!opts.quiet) {
    io.out(`Your public key has been saved in ${pubPath}\n`);
    io.out('The key fingerprint is:\n');
    io.out(`${fingerprintSha256(signer.publicBlob)} ${comment}\n`);
    io.out("The key's randomart image is:\n");
    io.out(`${art}\n`);
  }
  return 0;
}

