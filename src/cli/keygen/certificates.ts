// -s (sign public keys as certificates with a CA key) and -L (print
// certificates) as ssh-keygen's do_ca_sign and do_show_cert: the same -O
// options, -V times, -z serials, output file names, messages and layout.
import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import {
  blobKeyType,
  formatCertificateLine,
  MAX_TRUST_FILE_BYTES,
  parseCertificate,
  parseOpenSshPublicKeyLine,
  readBounded,
  signCertificate,
  signerFromKeyObject,
  writeFileAtomic,
  type CertificateOption,
  type CertificateRequest,
} from '../../keys-entry.js';
import { CliExit, fatal } from '../common/exit.js';
import type { CliIo } from '../common/io.js';
import { lastValue } from '../common/getopt.js';
import { askFilename, checkFingerprintHash, fingerprintFor, keyFileReason, loadIdentity } from './keys.js';
import { shortKeyType } from './key-info.js';
import type { KeygenOptions } from './options.js';
import { formatValidity, parseValidity } from './validity.js';
import { agentCa, signAsCa } from './agent-ca.js';

/** The permit-* flags ssh-keygen gives user certificates, on by default (CERTOPT_DEFAULT). */
const FLAG_EXTENSIONS = ['permit-X11-forwarding', 'permit-agent-forwarding', 'permit-port-forwarding', 'permit-pty', 'permit-user-rc'];

interface CertOptions {
  readonly critical: Record<string, string | true>;
  readonly extensions: Record<string, string | true>;
}

/** -O, in order, as add_cert_option: flags toggled, force-command and source-address once each, critical:/extension: custom ones. */
function certOptions(list: readonly string[]): CertOptions {
  const flags = new Set([...FLAG_EXTENSIONS]);
  let noTouch = false;
  let verify = false;
  let command: string | undefined;
  let source: string | undefined;
  const custom: { name: string; value: string | true; critical: boolean }[] = [];
  for (const opt of list) {
    const lower = opt.toLowerCase();
    const flag = FLAG_EXTENSIONS.find((f) => f.toLowerCase() === lower.replace(/^no-/, 'permit-'));
    if (lower === 'clear') {
      flags.clear();
      noTouch = false;
      verify = false;
    } else if (flag && lower.startsWith('no-')) flags.delete(flag);
    else if (flag) flags.add(flag);
    else if (lower === 'touch-required') noTouch = false;
    else if (lower === 'no-touch-required') noTouch = true;
    else if (lower === 'no-verify-required') verify = false;
    else if (lower === 'verify-required') verify = true;
    else if (lower.startsWith('force-command=')) {
      const v = opt.slice(14);
      if (v === '') fatal('Empty force-command option');
      if (command !== undefined) fatal('force-command already specified');
      command = v;
    } else if (lower.startsWith('source-address=')) {
      const v = opt.slice(15);
      if (v === '') fatal('Empty source-address option');
      if (source !== undefined) fatal('source-address already specified');
      if (!/^[0-9a-fA-F.:/*?,!]+$/.test(v)) fatal('Invalid source-address list');
      source = v;
    } else if (lower.startsWith('extension:') || lower.startsWith('critical:')) {
      const body = opt.slice(opt.indexOf(':') + 1);
      const eq = body.indexOf('=');
      const name = eq < 0 ? body : body.slice(0, eq);
      if (custom.some((c) => c.name === name)) fatal(`cert_ext_add: duplicate extension/option "${name}"`);
      custom.push({ name, value: eq < 0 ? true : body.slice(eq + 1), critical: lower.startsWith('critical:') });
    } else fatal(`Unsupported certificate option "${opt}"`);
  }
  const critical: Record<string, string | true> = {};
  const extensions: Record<string, string | true> = {};
  if (command !== undefined) critical['force-command'] = command;
  if (source !== undefined) critical['source-address'] = source;
  if (verify) critical['verify-required'] = true;
  if (noTouch) extensions['no-touch-required'] = true;
  for (const f of flags) extensions[f] = true;
  for (const c of custom) (c.critical ? critical : extensions)[c.name] = c.value;
  return { critical, extensions };
}

/** -z for certificates: a decimal serial, `+` to count up per key signed. */
function serialOption(opts: KeygenOptions): { serial: bigint; step: bigint } {
  const text = lastValue(opts.parsed, 'z');
  if (text === undefined) return { serial: 0n, step: 0n };
  const digits = text.startsWith('+') ? text.slice(1) : text;
  if (!/^[0-9]+$/.test(digits) || BigInt(digits) > 0xffff_ffff_ffff_ffffn) fatal(`Invalid serial number "${text}"`);
  return { serial: BigInt(digits), step: text.startsWith('+') ? 1n : 0n };
}

function certPath(keyPath: string): string {
  return `${keyPath.endsWith('.pub') ? keyPath.slice(0, -4) : keyPath}-cert.pub`;
}

/** `-s ca -I id [-h] [-n principals] [-V validity] [-z serial] [-O option] key.pub...` */
export async function signCommand(opts: KeygenOptions, io: CliIo, usage: (message?: string) => never): Promise<number> {
  const caPath = opts.signatureFile!;
  if (opts.operands.length < 1) usage('Too few arguments.');
  if (opts.identity === undefined) fatal('Must specify key id (-I) when certifying');
  const validity = lastValue(opts.parsed, 'V');
  const [validAfter, validBefore] = validity === undefined ? [0n, 0xffff_ffff_ffff_ffffn] : parseValidity(validity, Math.floor(Date.now() / 1000));
  const kind = opts.parsed.options.some((o) => o.flag === 'h') ? 'host' : 'user';
  const options = certOptions(opts.opts);
  let { serial } = serialOption(opts);
  const { step } = serialOption(opts);
  const principals = opts.names?.split(',');
  if (principals?.some((p) => p === '')) fatal('Empty principal name');
  // -U: the CA's private key is in the agent, and -s names its public key
  const ca = opts.requireAgent ? await agentCa(caPath) : signerFromKeyObject((await loadIdentity(caPath, io, opts.passphrase)).keyObject);
  // -t picks the CA's RSA signature algorithm, as with ssh-keygen (rsa-sha2-512 by default).
  const algorithm = opts.keyType !== undefined && ca.algorithms.includes(opts.keyType) ? opts.keyType : undefined;
  for (const keyPath of opts.operands) {
    let text: string;
    try {
      text = readBounded(keyPath, MAX_TRUST_FILE_BYTES, 'public key').toString('utf8');
    } catch (err) {
      return fatal(`load pubkey "${keyPath}": ${keyFileReason(err)}`);
    }
    let line;
    try {
      line = parseOpenSshPublicKeyLine(text.split('\n')[0] ?? '');
    } catch {
      return fatal(`load pubkey "${keyPath}": invalid format`);
    }
    let cert;
    try {
      const request: CertificateRequest = {
        publicKey: line.blob,
        kind,
        random: (n: number) => randomBytes(n),
        serial,
        keyId: opts.identity,
        ...(principals ? { principals } : {}),
        validAfter,
        validBefore,
        criticalOptions: kind === 'user' ? options.critical : {},
        extensions: kind === 'user' ? options.extensions : {},
        ...(algorithm ? { signatureAlgorithm: algorithm } : {}),
      };
      cert = 'agent' in ca ? await signAsCa(request, ca) : signCertificate(request, ca);
    } catch (err) {
      if ('agent' in ca) ca.agent.close();
      return fatal(`Couldn't certify key ${keyPath}${'agent' in ca ? ' via agent' : ''}: ${err instanceof Error ? err.message : String(err)}`);
    }
    const out = certPath(keyPath);
    try {
      writeFileAtomic(out, formatCertificateLine(cert, line.comment) + '\n', 0o644, { what: 'certificate' });
    } catch (err) {
      fatal(`Unable to save public key to ${out}: ${keyFileReason(err)}`);
    }
    if (!opts.quiet) {
      const forWhom = opts.names !== undefined ? ` for ${opts.names}` : '';
      io.err(`Signed ${kind} key ${out}: id "${cert.keyId}" serial ${cert.serial}${forWhom} valid ${formatValidity(cert.validAfter, cert.validBefore)}\n`);
    }
    serial += step;
  }
  if ('agent' in ca) ca.agent.close();
  return 0;
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

/** A string option's value, when its data is exactly one SSH string. */
function stringValue(data: Uint8Array): string | undefined {
  if (data.length < 4) return undefined;
  const n = new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(0);
  return n === data.length - 4 ? Buffer.from(data.subarray(4)).toString('utf8') : undefined;
}

const KNOWN_FLAGS = new Set(['permit-X11-forwarding', 'permit-agent-forwarding', 'permit-port-forwarding', 'permit-pty', 'permit-user-rc', 'no-touch-required']);

/** show_options: known flags bare, force-command and source-address with their value, anything else marked UNKNOWN. */
function optionLines(options: readonly CertificateOption[], critical: boolean): string {
  if (options.length === 0) return '(none)\n';
  let text = '\n';
  for (const o of options) {
    text += `                ${o.name}`;
    const value = stringValue(o.data);
    if (critical && (o.name === 'force-command' || o.name === 'source-address') && value !== undefined) text += ` ${value}\n`;
    else if ((critical ? o.name === 'verify-required' : KNOWN_FLAGS.has(o.name)) && o.data.length === 0) text += '\n';
    else if (o.data.length === 0) text += ' UNKNOWN FLAG OPTION\n';
    else text += ` UNKNOWN OPTION: ${hex(o.data)} (len ${o.data.length})\n`;
  }
  return text;
}

/** print_cert: the -L block for one certificate. */
function certText(blob: Uint8Array, hash: string): string {
  const cert = parseCertificate(blob);
  const principals = cert.principals.length === 0 ? '(none)\n' : cert.principals.map((p) => `\n                ${p}`).join('') + '\n';
  return (
    `        Type: ${cert.certType} ${cert.kind} certificate\n` +
    `        Public key: ${shortKeyType(cert.certType)} ${fingerprintFor(cert.publicKey, hash)}\n` +
    `        Signing CA: ${shortKeyType(blobKeyType(cert.signatureKey))} ${fingerprintFor(cert.signatureKey, hash)} (using ${cert.signatureAlgorithm})\n` +
    `        Key ID: "${cert.keyId}"\n` +
    `        Serial: ${cert.serial}\n` +
    `        Valid: ${formatValidity(cert.validAfter, cert.validBefore)}\n` +
    `        Principals: ${principals}` +
    `        Critical Options: ${optionLines(cert.criticalOptions, true)}` +
    `        Extensions: ${optionLines(cert.extensions, false)}`
  );
}

/** `-L -f file`: every certificate in the file, headed by the path (and line number after the first line). */
export function showCertificates(opts: KeygenOptions, io: CliIo): number {
  checkFingerprintHash(opts.fingerprintHash);
  const path = opts.file ?? askFilename(io, 'Enter file in which the key is', opts.keyType);
  if (path !== '-') {
    try {
      statSync(path);
    } catch (err) {
      fatal(`nacre-keygen: ${path}: ${keyFileReason(err)}`);
    }
  }
  const text = readBounded(path === '-' ? '/dev/stdin' : path, MAX_TRUST_FILE_BYTES, 'certificate file').toString('utf8');
  const lines = text.split('\n');
  let ok = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/\r$/, '').replace(/^[ \t]+/, '');
    if (line === '' || line.startsWith('#')) continue;
    let blob: Uint8Array;
    try {
      blob = parseOpenSshPublicKeyLine(line).blob;
    } catch {
      return fatal(`load pubkey "${path}": invalid format`);
    }
    let block: string;
    try {
      block = certText(blob, opts.fingerprintHash);
    } catch {
      io.err(`${path}:${i + 1} is not a certificate\n`);
      continue;
    }
    io.out(i === 0 ? `${path}:\n` : `${path}:${i + 1}:\n`);
    io.out(block);
    ok = true;
  }
  if (!ok) throw new CliExit(1);
  return 0;
}
