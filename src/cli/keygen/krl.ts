// -k (write a KRL from revocation specs) and -Q (check keys against one) as
// ssh-keygen's do_gen_krl and do_check_krl: -s names the CA for serial and
// id lines (`none` for any CA), -u adds to the file already there, -z sets
// the KRL version, -C its comment; -Q prints `<file> (<comment>): ok` or
// `REVOKED` per key and exits 1 when any is revoked.
import { existsSync, statSync } from 'node:fs';
import {
  buildKrl,
  encodeKrl,
  formatKrl,
  isKrl,
  isRevoked,
  MAX_KRL_BYTES,
  MAX_TRUST_FILE_BYTES,
  parseKrl,
  parseKrlSpec,
  parsePublicKeyText,
  readBounded,
  writeFileAtomic,
  type Krl,
  type ParsedPublicKeyText,
} from '../../keys-entry.js';
import { CliExit, describeError, fatal } from '../common/exit.js';
import { lastValue } from '../common/getopt.js';
import type { CliIo } from '../common/io.js';
import { keyFileReason } from './keys.js';
import type { KeygenOptions } from './options.js';

function loadKrl(path: string): Krl {
  let bytes: Uint8Array;
  try {
    bytes = readBounded(path, MAX_KRL_BYTES, 'KRL');
  } catch (err) {
    return fatal(`Unable to load KRL ${path}: ${keyFileReason(err)}`);
  }
  // ssh_err's wording: a file without the magic says so, anything else is "invalid format".
  if (!isKrl(bytes)) fatal(`Invalid KRL file ${path}: KRL file has invalid magic number`);
  try {
    return parseKrl(bytes);
  } catch {
    return fatal(`Invalid KRL file ${path}: invalid format`);
  }
}

/** sshkey_load_public: the file as a public key, else the .pub beside it. */
function loadPublic(path: string): ParsedPublicKeyText | null {
  for (const candidate of [path, `${path}.pub`]) {
    if (candidate !== path && !existsSync(candidate)) break;
    try {
      return parsePublicKeyText(readBounded(candidate, MAX_TRUST_FILE_BYTES, 'public key').toString('utf8'));
    } catch {
      // try the next
    }
  }
  return null;
}

/** -z for a KRL: its version (a decimal, as ssh-keygen reads -z). */
function krlVersion(opts: KeygenOptions): bigint | undefined {
  const text = lastValue(opts.parsed, 'z');
  if (text === undefined) return undefined;
  const digits = text.startsWith('+') ? text.slice(1) : text;
  if (!/^[0-9]+$/.test(digits) || BigInt(digits) > 0xffff_ffff_ffff_ffffn) fatal(`Invalid serial number "${text}"`);
  const v = BigInt(digits);
  return v === 0n ? undefined : v;
}

/** ssh-keygen's wording for the spec errors scripts are likely to match on. */
function specMessage(message: string): string {
  const needsCa = /^.*: revoking certificates by (.*) requires a CA key$/.exec(message);
  if (needsCa) return `revoking certificates by ${needsCa[1] === 'key id' ? 'key ID' : needsCa[1]} requires specification of a CA key`;
  return message.replace(/^([^\n]*:[0-9]+: invalid key): .*$/, '$1: invalid format');
}

/** `-k -f krl [-u] [-s ca.pub|none] [-z version] [-C comment] spec...` */
export function generateKrl(opts: KeygenOptions, io: CliIo): number {
  const path = opts.file;
  const updating = opts.parsed.options.some((o) => o.flag === 'u');
  if (path === undefined || path === '') fatal('KRL generation requires an output file');
  const version = krlVersion(opts);
  let exists = true;
  try {
    statSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') fatal(`Cannot access KRL "${path}": ${keyFileReason(err)}`);
    if (updating) fatal(`KRL "${path}" does not exist`);
    exists = false;
  }
  let caKey: Uint8Array | null | undefined;
  if (opts.signatureFile !== undefined) {
    if (opts.signatureFile.toLowerCase() === 'none') caKey = null;
    else {
      const ca = loadPublic(opts.signatureFile);
      if (!ca) fatal(`Cannot load CA public key ${opts.signatureFile}: invalid format`);
      caKey = ca.blob;
    }
  }
  const base = updating && exists ? loadKrl(path) : undefined;
  const revocations = [];
  for (const spec of opts.operands) {
    let text: string;
    try {
      text = readBounded(spec === '-' ? '/dev/stdin' : spec, MAX_KRL_BYTES, 'revocation list').toString('utf8');
    } catch (err) {
      return fatal(`fopen ${spec}: ${keyFileReason(err)}`);
    }
    if (!opts.quiet) io.out(`Revoking from ${spec}\n`);
    try {
      revocations.push(...parseKrlSpec(text, { ...(caKey !== undefined ? { caKey } : {}), source: spec }));
    } catch (err) {
      return fatal(specMessage(describeError(err)));
    }
  }
  const krl = buildKrl(revocations, {
    ...(base ? { base } : {}),
    ...(version !== undefined ? { version } : {}),
    ...(opts.comment !== undefined ? { comment: opts.comment } : {}),
    generatedDate: BigInt(Math.floor(Date.now() / 1000)),
  });
  try {
    writeFileAtomic(path, encodeKrl(krl), 0o644, { what: 'KRL' });
  } catch (err) {
    fatal(`write ${path}: ${keyFileReason(err)}`);
  }
  return 0;
}

/** `-Q -f krl file...`: one `ok` or `REVOKED` line per key; exit 1 when any is revoked. */
export function checkKrl(opts: KeygenOptions, io: CliIo): number {
  const path = opts.file;
  if (path === undefined || path === '') fatal('KRL checking requires an input file');
  const krl = loadKrl(path);
  if (opts.fingerprint) io.out(formatKrl(krl));
  let status = 0;
  for (const file of opts.operands) {
    const key = loadPublic(file);
    if (!key) fatal(`Cannot load public key ${file}: ${existsSync(file) ? 'invalid format' : 'No such file or directory'}`);
    const revoked = isRevoked(krl, key.blob) !== null;
    const comment = key.comment ? ` (${key.comment})` : '';
    io.out(`${file}${comment}: ${revoked ? 'REVOKED' : 'ok'}\n`);
    if (revoked) status = 1;
  }
  if (status !== 0) throw new CliExit(status);
  return 0;
}
