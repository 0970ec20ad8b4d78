// nacre-keygen: ssh-keygen(1)'s flags over Nacre's public API. The command
// line is read with ssh-keygen's getopt spec; the mode is chosen in
// ssh-keygen's order; each mode lives in src/cli/keygen/. Modes waiting for
// other modules say "not supported yet" and exit 1 (keygen/pending.ts).
import { UsageError } from './common/getopt.js';
import { CliExit } from './common/exit.js';
import type { CliIo } from './common/io.js';
import { parseKeygenArgs, PENDING_FLAGS, type KeygenOptions } from './keygen/options.js';
import { KEYGEN_HELP, KEYGEN_USAGE } from './keygen/usage.js';
import { notSupportedYet } from './keygen/pending.js';

/** ssh-keygen's usage(): the message, the usage text, exit 1. */
function usage(message?: string): never {
  throw new CliExit(1, (message ? message + '\n' : '') + KEYGEN_USAGE);
}

function has(opts: KeygenOptions, flag: string): boolean {
  return opts.parsed.options.some((o) => o.flag === flag);
}

/** Runs nacre-keygen with `args` (without the program name); the exit status. */
export async function keygenMain(args: readonly string[], io: CliIo): Promise<number> {
  if (args[0] === '--help' || args[0] === '-?') {
    io.out(KEYGEN_HELP);
    return 0;
  }
  let opts: KeygenOptions;
  try {
    opts = parseKeygenArgs(args);
  } catch (err) {
    if (err instanceof UsageError) usage(err.message);
    throw err;
  }
  // Each mode is loaded when chosen, so a command pays only for what it runs.
  if (opts.signOp !== undefined) {
    const { sshsigCommand } = await import('./keygen/sshsig.js');
    return sshsigCommand(opts, io, usage);
  }
  if (has(opts, 'k')) {
    const { generateKrl } = await import('./keygen/krl.js');
    return generateKrl(opts, io);
  }
  if (has(opts, 'Q')) {
    const { checkKrl } = await import('./keygen/krl.js');
    return checkKrl(opts, io);
  }
  if (opts.signatureFile === undefined && opts.operands.length > 0 && !has(opts, 'k') && !has(opts, 'Q') && !has(opts, 'M')) usage('Too many arguments.');
  if (opts.fingerprint && (opts.removeHost !== undefined || opts.hashHosts)) usage('Cannot use -l with -H or -R.');
  for (const o of opts.parsed.options) {
    const what = PENDING_FLAGS.get(o.flag);
    if (what) notSupportedYet(`${what} (-${o.flag})`);
  }
  if (opts.signatureFile !== undefined) {
    const { signCommand } = await import('./keygen/certificates.js');
    return signCommand(opts, io, usage);
  }
  if (has(opts, 'L')) {
    const { showCertificates } = await import('./keygen/certificates.js');
    return showCertificates(opts, io);
  }
  if (opts.findHost !== undefined || opts.removeHost !== undefined || opts.hashHosts) {
    const { checkFingerprintHash } = await import('./keygen/keys.js');
    checkFingerprintHash(opts.fingerprintHash);
    const { knownHostsCommand } = await import('./keygen/known-hosts.js');
    return knownHostsCommand(opts, io);
  }
  if (opts.fingerprint) {
    const { printFingerprints } = await import('./keygen/keys.js');
    return printFingerprints(opts, io);
  }
  if (has(opts, 'p')) {
    const { changePassphrase } = await import('./keygen/edit.js');
    return changePassphrase(opts, io);
  }
  if (has(opts, 'c')) {
    const { changeComment } = await import('./keygen/edit.js');
    return changeComment(opts, io);
  }
  if (has(opts, 'e')) {
    const { exportKey } = await import('./keygen/convert.js');
    return exportKey(opts, io);
  }
  if (has(opts, 'i')) {
    const { importKey } = await import('./keygen/convert.js');
    return importKey(opts, io);
  }
  if (opts.printPublic) {
    const { printPublicKey } = await import('./keygen/keys.js');
    return printPublicKey(opts, io);
  }
  if (has(opts, 'r')) {
    const { printSshfp } = await import('./keygen/host-keys.js');
    return printSshfp(opts, io);
  }
  if (has(opts, 'A')) {
    const { generateAllHostKeys } = await import('./keygen/host-keys.js');
    return generateAllHostKeys(opts, io);
  }
  const { generateCommand } = await import('./keygen/generate.js');
  return generateCommand(opts, io);
}
