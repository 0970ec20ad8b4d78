// Host key chores: -A (generate the host keys a system lacks, under the -f
// prefix, as ssh-keygen's do_gen_all_hostkeys) and -r (print SSHFP resource
// records for a host's keys, RFC 4255/6594/7479, as its do_print_resource_record).
import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import {
  blobKeyType,
  formatOpenSshPublicKeyLine,
  MAX_TRUST_FILE_BYTES,
  openSshPublicKeyFromPrivate,
  parsePublicKeyText,
  readBounded,
  signerFromKeyObject,
  writeFileAtomic,
  writePrivateKey,
} from '../../keys-entry.js';
import { fatal, strerror } from '../common/exit.js';
import { lastValue } from '../common/getopt.js';
import type { CliIo } from '../common/io.js';
import type { KeygenOptions } from './options.js';
import { chooseKey, defaultComment, generatePrivateKey } from './generate.js';
import { privateKeyWriteOptions } from './private-format.js';

/** sshd's default host keys, in the order ssh-keygen -A makes them and -r reads them. */
const HOST_KEYS: readonly { readonly type: string; readonly display: string; readonly path: string }[] = [
  { type: 'rsa', display: 'RSA', path: '/etc/ssh/ssh_host_rsa_key' },
  { type: 'ecdsa', display: 'ECDSA', path: '/etc/ssh/ssh_host_ecdsa_key' },
  { type: 'ed25519', display: 'ED25519', path: '/etc/ssh/ssh_host_ed25519_key' },
];

/** `-A [-f prefix]`: each missing (or empty) host key made, with no passphrase, private 0600 and .pub 0644. */
export function generateAllHostKeys(opts: KeygenOptions, io: CliIo): number {
  const prefix = opts.file ?? '';
  const format = privateKeyWriteOptions(opts);
  let started = false;
  for (const k of HOST_KEYS) {
    const path = `${prefix}${k.path}`;
    try {
      if (statSync(path).size !== 0) continue;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        io.err(`Could not stat ${k.path}: ${strerror(err)}\n`);
        continue;
      }
    }
    if (!started) io.out('nacre-keygen: generating new host keys: ');
    started = true;
    io.out(`${k.display} `);
    const choice = chooseKey(k.type, undefined);
    const key = generatePrivateKey(choice);
    const comment = defaultComment();
    try {
      const text = writePrivateKey(key, { ...format(choice.type), passphrase: '', comment });
      const publicText = formatOpenSshPublicKeyLine(signerFromKeyObject(key).publicBlob, comment) + '\n';
      // the .pub first, then the key, as ssh-keygen renames them: a key never appears without its .pub
      writeFileAtomic(`${path}.pub`, publicText, 0o644, { what: 'public key' });
      writeFileAtomic(path, text, 0o600, { what: 'private key' });
    } catch (err) {
      io.err(`Could not save your private key in ${path}: ${strerror((err as { cause?: unknown }).cause ?? err)}\n`);
      started = false;
    }
  }
  if (started) io.out('\n');
  return 0;
}

/** sshkey_load_public: the file as a public key line, else its .pub, else the public key in an openssh-key-v1 header. */
function loadPublicForRecord(path: string): Uint8Array | null {
  const read = (p: string) => readBounded(p, MAX_TRUST_FILE_BYTES, 'public key').toString('utf8');
  try {
    return parsePublicKeyText(read(path)).blob;
  } catch {
    // next
  }
  if (existsSync(`${path}.pub`)) {
    try {
      return parsePublicKeyText(read(`${path}.pub`)).blob;
    } catch {
      // next
    }
  }
  try {
    return openSshPublicKeyFromPrivate(read(path));
  } catch {
    return null;
  }
}

/** SSHFP algorithm numbers (RFC 4255, 6594, 7479). */
const SSHFP_ALGORITHMS: ReadonlyMap<string, number> = new Map([
  ['ssh-rsa', 1],
  ['ecdsa-sha2-nistp256', 3],
  ['ecdsa-sha2-nistp384', 3],
  ['ecdsa-sha2-nistp521', 3],
  ['ssh-ed25519', 4],
]);
/** SSHFP digest types: 1 SHA-1, 2 SHA-256. */
const SSHFP_DIGESTS: readonly { readonly type: number; readonly hash: string }[] = [
  { type: 1, hash: 'sha1' },
  { type: 2, hash: 'sha256' },
];

/** `-O hashalg=`: ssh's digest numbers, so md5 (0) and sha384/512 (3, 4) match no SSHFP digest. */
const DIGEST_NUMBERS: ReadonlyMap<string, number> = new Map([
  ['md5', 0],
  ['sha1', 1],
  ['sha256', 2],
  ['sha384', 3],
  ['sha512', 4],
]);

/** The records for one key file: 1 when printed, 0 when the file does not exist; -1 for a bad -O. */
function printRecords(io: CliIo, path: string, host: string, generic: boolean, options: readonly string[]): number {
  let digest = -1;
  for (const o of options) {
    const m = /^hashalg=(.*)$/i.exec(o);
    if (m) {
      const n = DIGEST_NUMBERS.get(m[1]!.toLowerCase());
      if (n === undefined) fatal('Unsupported hash algorithm');
      digest = n;
    } else {
      io.err(`Invalid option "${o}"\n`);
      return -1;
    }
  }
  try {
    statSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    fatal(`${path}: ${strerror(err)}`);
  }
  const blob = loadPublicForRecord(path);
  if (!blob) return fatal(`Failed to read v2 public key from "${path}": ${existsSync(`${path}.pub`) ? 'invalid format' : 'No such file or directory'}`);
  const algorithm = SSHFP_ALGORITHMS.get(blobKeyType(blob));
  let printed = false;
  for (const d of SSHFP_DIGESTS) {
    if (digest !== -1 && d.type !== digest) continue;
    if (algorithm === undefined) continue;
    const hex = createHash(d.hash).update(blob).digest('hex');
    if (generic) io.out(`${host} IN TYPE44 \\# ${2 + hex.length / 2} ${algorithm.toString(16).padStart(2, '0')} ${d.type.toString(16).padStart(2, '0')} ${hex}\n`);
    else io.out(`${host} IN SSHFP ${algorithm} ${d.type} ${hex}\n`);
    printed = true;
  }
  if (!printed) io.err('export_dns_rr: unsupported algorithm and/or digest_type\n');
  return 1;
}

/** `-r hostname [-f file] [-g] [-O hashalg=sha1|sha256]`: SSHFP records of a key, or of sshd's default host keys. */
export function printSshfp(opts: KeygenOptions, io: CliIo): number {
  const host = lastValue(opts.parsed, 'r')!;
  const generic = opts.parsed.options.some((o) => o.flag === 'g');
  if (opts.file !== undefined) {
    const n = printRecords(io, opts.file, host, generic, opts.opts);
    if (n === 0) fatal(`${opts.file}: No such file or directory`);
    return 0;
  }
  let n = 0;
  for (const k of HOST_KEYS) n += printRecords(io, k.path, host, generic, opts.opts);
  if (n === 0) fatal('no keys found.');
  return 0;
}
