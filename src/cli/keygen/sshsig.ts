// -Y sign, verify, find-principals, check-novalidate and match-principals,
// with ssh-keygen's messages and exit codes (255 when an operation fails,
// 1 for missing arguments), so git's gpg.format=ssh calls work unchanged.
// Files and standard input are hashed as a stream, never held in memory.
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, statSync } from 'node:fs';
import type { Readable } from 'node:stream';
import {
  findSignerPrincipals,
  formatOpenSshPublicKeyLine,
  formatSshSignature,
  matchSignerPrincipals,
  MAX_SSHSIG_ARMOR_BYTES,
  MAX_TRUST_FILE_BYTES,
  parseAllowedSigners,
  parseExpiryTime,
  parseOpenSshPublicKeyLine,
  parseSshSignature,
  readBounded,
  certifiedKey,
  signerCertificates,
  signerFromKeyObject,
  signSshSignature,
  sshSigCertificateVerifier,
  parseCertificateLine,
  type AuthSigner,
  verifyAllowedSshSignature,
  verifySshSignature,
  writeFileAtomic,
  type AllowedSignerEntry,
  type SshSigDigest,
  type SshSigHashAlgorithm,
  type SshSignature,
} from '../../keys-entry.js';
import { CliExit, describeError, fatal } from '../common/exit.js';
import type { CliIo } from '../common/io.js';
import { confirmOverwrite } from '../common/prompt.js';
import type { KeygenOptions } from './options.js';
import { fingerprintFor, keyFileReason, loadIdentity } from './keys.js';
import { shortKeyType } from './key-info.js';
import { agentSigner } from './pending.js';

/** An operation that failed after its error was printed: ssh-keygen exits 255 (its -1). */
const FAILED = 255;

/** Too few arguments: an error and exit 1, before anything is read. */
function missing(what: string): never {
  throw new CliExit(1, `Too few arguments for ${what}`);
}

interface SigOptions {
  hashAlgorithm?: SshSigHashAlgorithm;
  verifyTime?: Date;
  printPublicKey: boolean;
}

/** ssh-keygen's sig_process_opts: only the options the operation takes; an error message or the options. */
function processOpts(opts: readonly string[], allowed: { hash?: boolean; time?: boolean; pubkey?: boolean }, now: Date): SigOptions | string {
  const out: SigOptions = { printPublicKey: false };
  for (const o of opts) {
    const lower = o.toLowerCase();
    if (allowed.hash && lower.startsWith('hashalg=')) {
      const alg = o.slice('hashalg='.length);
      if (alg !== 'sha256' && alg !== 'sha512') return `unsupported hash algorithm "${alg}"`;
      out.hashAlgorithm = alg;
    } else if (allowed.time && lower.startsWith('verify-time=')) {
      const t = parseExpiryTime(o.slice('verify-time='.length));
      if (!t || t.getTime() <= 0) return 'Invalid "verify-time" option';
      out.verifyTime = t;
    } else if (allowed.pubkey && lower === 'print-pubkey') {
      out.printPublicKey = true;
    } else {
      return `Invalid option "${o}"`;
    }
  }
  if (allowed.time && !out.verifyTime) out.verifyTime = now;
  return out;
}

async function hashStream(input: Readable, hashAlgorithm: SshSigHashAlgorithm): Promise<SshSigDigest> {
  const h = createHash(hashAlgorithm);
  for await (const chunk of input) h.update(chunk as Buffer);
  return { hashAlgorithm, digest: new Uint8Array(h.digest()) };
}

// ------------------------------------------------------------------ sign

/**
 * The signer for -f, as ssh-keygen's load_sign_key: a `.pub` or `-cert.pub`
 * path names the private key beside it; with a certificate, the signature
 * carries the certificate and is made by its key (the plain algorithm).
 */
async function loadSignKey(opts: KeygenOptions, io: CliIo, keyPath: string): Promise<AuthSigner | undefined> {
  if (opts.requireAgent) agentSigner();
  if (!existsSync(keyPath)) {
    io.err(`Couldn't load public key ${keyPath}: No such file or directory\n`);
    return undefined;
  }
  let privPath = keyPath;
  let publicBlob: Uint8Array | undefined;
  let certificate: ReturnType<typeof parseCertificateLine>['certificate'] | undefined;
  const suffix = keyPath.endsWith('-cert.pub') ? '-cert.pub' : keyPath.endsWith('.pub') ? '.pub' : undefined;
  if (suffix !== undefined) {
    privPath = keyPath.slice(0, -suffix.length);
    if (!existsSync(privPath)) fatal(`No private key found for public key "${keyPath}"`);
    try {
      const line = readBounded(keyPath, MAX_TRUST_FILE_BYTES, 'public key file').toString('utf8').split('\n', 1)[0] ?? '';
      if (suffix === '-cert.pub') {
        certificate = parseCertificateLine(line).certificate;
        publicBlob = certificate.publicKey;
      } else {
        publicBlob = parseOpenSshPublicKeyLine(line).blob;
      }
    } catch (err) {
      io.err(`Couldn't load public key ${keyPath}: ${suffix === '-cert.pub' ? 'invalid format' : keyFileReason(err)}\n`);
      return undefined;
    }
  }
  const key = await loadIdentity(privPath, io, opts.passphrase);
  const signer = signerFromKeyObject(key.keyObject);
  if (publicBlob && Buffer.compare(Buffer.from(publicBlob), Buffer.from(signer.publicBlob)) !== 0) {
    io.err(`Public key ${keyPath} doesn't match private ${privPath}\n`);
    return undefined;
  }
  if (!certificate) return signer;
  const cert = certificate;
  // SSHSIG signs with the plain algorithm even for a certificate (sshSigSignatureAlgorithm)
  return { keyType: cert.certType, publicBlob: cert.blob, sign: (algorithm, data) => signer.sign(algorithm, data) };
}

async function signCommand(opts: KeygenOptions, io: CliIo): Promise<number> {
  if (!opts.names) missing('sign: missing namespace');
  if (opts.file === undefined) missing('sign: missing key');
  const files = opts.operands;
  if (files.includes('-') && files.length > 1) fatal('Cannot sign mix of paths and standard input');
  const sigOpts = processOpts(opts.opts, { hash: true }, io.now());
  if (typeof sigOpts === 'string') {
    io.err(sigOpts + '\n');
    return FAILED;
  }
  const signer = await loadSignKey(opts, io, opts.file);
  if (!signer) return FAILED;
  const hashAlgorithm = sigOpts.hashAlgorithm ?? 'sha512';
  const targets = files.length === 0 ? ['-'] : files;
  for (const target of targets) {
    const fromStdin = target === '-';
    if (!opts.quiet) io.err(fromStdin ? 'Signing data on standard input\n' : `Signing file ${target}\n`);
    let digest: SshSigDigest;
    try {
      digest = await hashStream(fromStdin ? io.stdin() : createReadStream(target), hashAlgorithm);
    } catch (err) {
      io.err(`Cannot open ${target} for signing: ${keyFileReason(err)}\n`);
      return FAILED;
    }
    let armored: string;
    try {
      armored = formatSshSignature(await signSshSignature(signer, digest, { namespace: opts.names! }));
    } catch (err) {
      io.err(`Signing ${target} failed: ${describeError(err)}\n`);
      return FAILED;
    }
    if (fromStdin) {
      io.out(armored);
      continue;
    }
    const sigPath = `${target}.sig`;
    if (!confirmOverwrite(io, sigPath, existsSync)) continue;
    try {
      writeFileAtomic(sigPath, armored, 0o666 & ~process.umask(), { what: 'signature file' });
    } catch (err) {
      io.err(`Cannot write to ${sigPath}: ${describeError(err)}\n`);
      return FAILED;
    }
    if (!opts.quiet) io.err(`Write signature to ${sigPath}\n`);
  }
  return 0;
}

// ------------------------------------------------------------------ verify and friends

function readSignature(io: CliIo, path: string): SshSignature | undefined {
  let text: Buffer;
  try {
    text = readBounded(path, MAX_SSHSIG_ARMOR_BYTES, 'signature file');
  } catch (err) {
    io.err(`Couldn't read signature file: ${keyFileReason(err)}\n`);
    return undefined;
  }
  try {
    return parseSshSignature(text);
  } catch (err) {
    io.err(`Couldn't parse signature: ${describeError(err)}\n`);
    return undefined;
  }
}

function readAllowedSigners(io: CliIo, path: string): readonly AllowedSignerEntry[] | undefined {
  let text: string;
  try {
    if (statSync(path).isDirectory()) throw Object.assign(new Error('Is a directory'), { code: 'EISDIR' });
    text = readBounded(path, MAX_TRUST_FILE_BYTES, 'allowed signers file').toString('utf8');
  } catch (err) {
    io.err(`Unable to open allowed keys file "${path}": ${keyFileReason(err)}\n`);
    return undefined;
  }
  const parsed = parseAllowedSigners(text, path);
  for (const p of parsed.problems) io.err(`${path}:${p.line}: ${p.reason}\n`);
  return parsed.entries;
}

/** -Y verify (with -I and allowed signers) and -Y check-novalidate (without). */
async function verifyCommand(opts: KeygenOptions, io: CliIo, checkOnly: boolean): Promise<number> {
  const op = checkOnly ? 'check-novalidate' : 'verify';
  if (!opts.names) missing(`${op}: missing namespace`);
  if (opts.signatureFile === undefined) missing(`${op}: missing signature file`);
  if (!checkOnly && opts.file === undefined) missing('sign: missing allowed keys file');
  if (!checkOnly && opts.identity === undefined) missing('verify: missing principal identity');
  const namespace = opts.names!;
  const result = await verifyOnce(opts, io, checkOnly, namespace);
  if (!opts.quiet) {
    if (result) {
      const who = checkOnly ? '' : ` for ${opts.identity}`;
      // a certificate is named by its key's fingerprint, as sshkey_fingerprint does
      io.out(`Good "${namespace}" signature${who} with ${shortKeyType(result.keyType)} key ${fingerprintFor(certifiedKey(result.publicKey) ?? result.publicKey, opts.fingerprintHash)}\n`);
    } else {
      io.out('Could not verify signature.\n');
    }
  }
  if (result && result.printPublicKey) io.out(formatOpenSshPublicKeyLine(result.publicKey) + '\n');
  return result ? 0 : FAILED;
}

async function verifyOnce(
  opts: KeygenOptions,
  io: CliIo,
  checkOnly: boolean,
  namespace: string,
): Promise<{ keyType: string; publicKey: Uint8Array; printPublicKey: boolean } | undefined> {
  const sigOpts = processOpts(opts.opts, { time: true, pubkey: true }, io.now());
  if (typeof sigOpts === 'string') {
    io.err(sigOpts + '\n');
    return undefined;
  }
  const sig = readSignature(io, opts.signatureFile!);
  if (!sig) return undefined;
  let digest: SshSigDigest;
  try {
    digest = await hashStream(io.stdin(), sig.hashAlgorithm);
  } catch (err) {
    io.err(`Couldn't verify signature: ${describeError(err)}\n`);
    return undefined;
  }
  try {
    if (checkOnly) {
      const v = verifySshSignature(sig, digest, namespace, { verifier: sshSigCertificateVerifier });
      return { keyType: v.keyType, publicKey: sig.publicKey, printPublicKey: sigOpts.printPublicKey };
    }
    const entries = readAllowedSigners(io, opts.file!);
    if (!entries) return undefined;
    const v = verifyAllowedSshSignature(entries, sig, digest, {
      namespace,
      principal: opts.identity!,
      time: sigOpts.verifyTime,
      verifier: sshSigCertificateVerifier,
      certificates: signerCertificates,
    });
    return { keyType: v.keyType, publicKey: sig.publicKey, printPublicKey: sigOpts.printPublicKey };
  } catch (err) {
    // Like ssh-keygen, a signer that is not allowed is only "Could not verify signature."
    const problem = (err as { problem?: string }).problem;
    if (problem === 'namespace-mismatch') io.err("Couldn't verify signature: namespace does not match\n");
    else if (problem === 'bad-signature') io.err('Signature verification failed: incorrect signature\n');
    else if (problem !== 'signer-not-allowed') io.err(`Signature verification failed: ${describeError(err)}\n`);
    return undefined;
  }
}

async function findPrincipalsCommand(opts: KeygenOptions, io: CliIo): Promise<number> {
  if (opts.signatureFile === undefined) missing('find-principals:missing signature file');
  if (opts.file === undefined) missing('find-principals:missing allowed keys file');
  const principals = ((): readonly string[] => {
    const sigOpts = processOpts(opts.opts, { time: true }, io.now());
    if (typeof sigOpts === 'string') {
      io.err(sigOpts + '\n');
      return [];
    }
    const sig = readSignature(io, opts.signatureFile!);
    if (!sig) return [];
    const entries = readAllowedSigners(io, opts.file!);
    if (!entries) return [];
    return findSignerPrincipals(entries, sig.publicKey, { time: sigOpts.verifyTime, certificates: signerCertificates });
  })();
  if (principals.length === 0) {
    io.err('No principal matched.\n');
    return FAILED;
  }
  for (const p of principals) io.out(p + '\n');
  return 0;
}

/** ssh-keygen exits with the library's error code here: SSH_ERR_KEY_NOT_FOUND (-46) as a byte. */
const KEY_NOT_FOUND_EXIT = 256 - 46;

function matchPrincipalsCommand(opts: KeygenOptions, io: CliIo): number {
  if (opts.file === undefined) missing('match-principals:missing allowed keys file');
  if (opts.identity === undefined) missing('match-principals: missing principal ID');
  const sigOpts = processOpts(opts.opts, {}, io.now());
  if (typeof sigOpts === 'string') {
    io.err(sigOpts + '\n');
    return FAILED;
  }
  const entries = readAllowedSigners(io, opts.file!);
  const found = entries ? matchSignerPrincipals(entries, opts.identity!) : [];
  if (found.length === 0) {
    io.err('No principal matched.\n');
    return KEY_NOT_FOUND_EXIT;
  }
  for (const p of found) io.out(p + '\n');
  return 0;
}

/** The -Y operations by name; ssh-keygen accepts any prefix-free spelling starting with the name. */
export async function sshsigCommand(opts: KeygenOptions, io: CliIo, usage: (message: string) => never): Promise<number> {
  const op = opts.signOp!;
  if (op.startsWith('find-principals')) return findPrincipalsCommand(opts, io);
  if (op.startsWith('match-principals')) return matchPrincipalsCommand(opts, io);
  if (op.startsWith('sign')) return signCommand(opts, io);
  if (op.startsWith('check-novalidate')) return verifyCommand(opts, io, true);
  if (op.startsWith('verify')) return verifyCommand(opts, io, false);
  return usage(`Unsupported operation for -Y: "${op}"`);
}
