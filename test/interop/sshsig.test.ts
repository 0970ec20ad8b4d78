// SSHSIG against OpenSSH's ssh-keygen, the oracle: signatures made by either
// tool verify with the other, and both refuse the same bad ones. Also the
// exact calls git makes with gpg.format=ssh (gpg-interface.c).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findOpenSsh, tempDir } from './openssh.js';
import {
  formatOpenSshPublicKeyLine,
  formatSshSignature,
  parseSshSignature,
  signerFromPrivateKeyFile,
  signSshSignature,
  verifySshSignature,
  SshSignatureError,
  type KeySigner,
} from '../../src/keys/index.js';
import { findSignerPrincipals, parseAllowedSigners, verifyAllowedSshSignature } from '../../src/trust/index.js';

const openssh = findOpenSsh();
const skip = openssh ? false : 'OpenSSH not installed';
let dir = '';

interface KeyCase {
  readonly name: string;
  readonly args: readonly string[];
}
const KEYS: readonly KeyCase[] = [
  { name: 'ed25519', args: ['-t', 'ed25519'] },
  { name: 'ecdsa256', args: ['-t', 'ecdsa', '-b', '256'] },
  { name: 'ecdsa384', args: ['-t', 'ecdsa', '-b', '384'] },
  { name: 'ecdsa521', args: ['-t', 'ecdsa', '-b', '521'] },
  { name: 'rsa', args: ['-t', 'rsa', '-b', '2048'] },
];
const signers = new Map<string, KeySigner>();
const data = new TextEncoder().encode('tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor A <a@example.com> 1700000000 +0000\n\nmessage\n');

function keygen(args: readonly string[], input?: Uint8Array): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(openssh!.keygen, args, { input, encoding: 'utf8', cwd: dir });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

before(() => {
  if (!openssh) return;
  dir = tempDir('sshsig');
  writeFileSync(join(dir, 'data'), data);
  for (const k of KEYS) {
    const r = keygen(['-q', ...k.args, '-N', '', '-C', k.name, '-f', join(dir, k.name)]);
    assert.equal(r.status, 0, r.stderr);
    signers.set(k.name, signerFromPrivateKeyFile(readFileSync(join(dir, k.name))));
  }
});
after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** An allowed_signers file naming `principal` for each key, with extra options. */
function allowedSigners(name: string, principal: string, options = ''): string {
  const path = join(dir, `allowed-${name}`);
  const line = `${principal} ${options ? options + ' ' : ''}${formatOpenSshPublicKeyLine(signers.get(name)!.publicBlob)}\n`;
  writeFileSync(path, line);
  return path;
}

let signed = 0;
function sshKeygenSign(name: string, namespace: string, extra: readonly string[] = []): string {
  // a fresh file each time: ssh-keygen will not overwrite an existing .sig without asking
  const file = join(dir, `data-${name}-${namespace}-${++signed}`);
  writeFileSync(file, data);
  const r = keygen(['-Y', 'sign', '-f', join(dir, name), '-n', namespace, ...extra, file]);
  assert.equal(r.status, 0, r.stderr);
  return readFileSync(file + '.sig', 'utf8');
}

async function ourSignature(name: string, namespace: string): Promise<string> {
  const text = formatSshSignature(await signSshSignature(signers.get(name)!, data, { namespace }));
  const path = join(dir, `ours-${name}-${namespace}.sig`);
  writeFileSync(path, text);
  return path;
}

for (const k of KEYS) {
  test(`${k.name}: ssh-keygen -Y sign output verifies with ours`, { skip }, () => {
    const text = sshKeygenSign(k.name, 'file');
    const sig = parseSshSignature(text);
    const ok = verifySshSignature(sig, data, 'file');
    assert.equal(ok.signatureAlgorithm, k.name === 'rsa' ? 'rsa-sha2-512' : ok.keyType);
    const { entries } = parseAllowedSigners(`me@example.com ${formatOpenSshPublicKeyLine(signers.get(k.name)!.publicBlob)}`);
    verifyAllowedSshSignature(entries, sig, data, { namespace: 'file', principal: 'me@example.com' });
    assert.throws(() => verifySshSignature(sig, data, 'git'), (e: unknown) => e instanceof SshSignatureError && e.problem === 'namespace-mismatch');
    assert.throws(() => verifySshSignature(sig, data.subarray(1), 'file'), (e: unknown) => e instanceof SshSignatureError && e.problem === 'bad-signature');
  });

  test(`${k.name}: our signature passes ssh-keygen -Y verify, check-novalidate and find-principals`, { skip }, async () => {
    const sigPath = await ourSignature(k.name, 'file');
    const allowed = allowedSigners(k.name, 'me@example.com');
    const v = keygen(['-Y', 'verify', '-f', allowed, '-I', 'me@example.com', '-n', 'file', '-s', sigPath], data);
    assert.equal(v.status, 0, v.stdout + v.stderr);
    assert.match(v.stdout, /^Good "file" signature for me@example.com with \S+ key SHA256:/);
    const c = keygen(['-Y', 'check-novalidate', '-n', 'file', '-s', sigPath], data);
    assert.equal(c.status, 0, c.stdout + c.stderr);
    const p = keygen(['-Y', 'find-principals', '-f', allowed, '-s', sigPath]);
    assert.equal(p.stdout, 'me@example.com\n');
  });
}

test('ed25519 signatures are deterministic, so ours are byte for byte what ssh-keygen writes', { skip }, async () => {
  const theirs = sshKeygenSign('ed25519', 'file');
  assert.equal(formatSshSignature(await signSshSignature(signers.get('ed25519')!, data, { namespace: 'file' })), theirs);
  const theirs256 = sshKeygenSign('ed25519', 'git', ['-O', 'hashalg=sha256']);
  assert.equal(formatSshSignature(await signSshSignature(signers.get('ed25519')!, data, { namespace: 'git', hashAlgorithm: 'sha256' })), theirs256);
});

test('ssh-keygen -O hashalg=sha256 with RSA signs rsa-sha2-256, which we verify', { skip }, () => {
  const sig = parseSshSignature(sshKeygenSign('rsa', 'file', ['-O', 'hashalg=sha256']));
  assert.equal(sig.hashAlgorithm, 'sha256');
  assert.equal(verifySshSignature(sig, data, 'file').signatureAlgorithm, 'rsa-sha2-256');
});

test('both refuse a wrong namespace, tampered data, another principal and an expired key', { skip }, async () => {
  const sigPath = await ourSignature('ecdsa256', 'file');
  const sig = parseSshSignature(readFileSync(sigPath, 'utf8'));
  const allowed = allowedSigners('ecdsa256', 'me@example.com');
  const verify = (args: string[], input = data) => keygen(['-Y', 'verify', '-f', allowed, '-s', sigPath, ...args], input).status;
  const tampered = data.slice();
  tampered[0] = tampered[0]! ^ 1;
  assert.notEqual(verify(['-I', 'me@example.com', '-n', 'git']), 0);
  assert.notEqual(verify(['-I', 'me@example.com', '-n', 'file'], tampered), 0);
  assert.notEqual(verify(['-I', 'you@example.com', '-n', 'file']), 0);
  const { entries } = parseAllowedSigners(readFileSync(allowed, 'utf8'));
  const ours = (o: { namespace: string; principal: string; time?: Date }, msg = data) => {
    try {
      verifyAllowedSshSignature(entries, sig, msg, o);
      return 'ok';
    } catch (e) {
      return (e as SshSignatureError).problem;
    }
  };
  assert.equal(ours({ namespace: 'git', principal: 'me@example.com' }), 'namespace-mismatch');
  assert.equal(ours({ namespace: 'file', principal: 'me@example.com' }, tampered), 'bad-signature');
  assert.equal(ours({ namespace: 'file', principal: 'you@example.com' }), 'signer-not-allowed');

  // validity windows and namespaces= in the file, checked at a given time by both
  const windowed = allowedSigners('ecdsa256', 'me@example.com', 'namespaces="git,fi*",valid-after="20240101Z",valid-before="20250101Z"');
  const { entries: w } = parseAllowedSigners(readFileSync(windowed, 'utf8'));
  for (const [when, iso, good] of [
    ['20240601000000', '2024-06-01T00:00:00', true],
    ['20260101000000', '2026-01-01T00:00:00', false],
    ['20230101000000', '2023-01-01T00:00:00', false],
  ] as const) {
    const theirs = keygen(['-Y', 'verify', '-f', windowed, '-I', 'me@example.com', '-n', 'file', '-s', sigPath, `-Overify-time=${when}`], data).status === 0;
    assert.equal(theirs, good, `ssh-keygen at ${when}`);
    // without Z both read verify-time and the file's times in local time; the window's ends are in UTC, far from these
    const mine = findSignerPrincipals(w, sig.publicKey, { time: new Date(iso) }).length > 0;
    assert.equal(mine, good, `ours at ${iso}`);
  }
});

test('find-principals over a file with wildcards, negations, options and bad lines agrees with ssh-keygen', { skip }, async () => {
  const line = (name: string) => formatOpenSshPublicKeyLine(signers.get(name)!.publicBlob);
  const text = [
    '# mixed file',
    `broken-line-without-key`,
    `a@x,b@y,,c@z ${line('ed25519')}`,
    `bad@x bogus-option ${line('ecdsa256')}`,
    `good@x NAMESPACES="git" ${line('ecdsa256')}`,
    `old@x valid-before="20200101Z" ${line('ecdsa384')}`,
    `new@x valid-after="20200101Z" ${line('ecdsa384')}`,
    `*@example.com,!root@example.com cert-authority ${line('ecdsa521')}`,
    `"rsa user" ${line('rsa')}`,
  ].join('\n');
  const file = join(dir, 'mixed');
  writeFileSync(file, text + '\n');
  const { entries } = parseAllowedSigners(text);
  for (const k of KEYS) {
    const sigPath = await ourSignature(k.name, 'git');
    const r = keygen(['-Y', 'find-principals', '-f', file, '-s', sigPath]);
    const theirs = r.status === 0 ? r.stdout.split('\n').filter((l) => l !== '') : [];
    assert.deepEqual(findSignerPrincipals(entries, signers.get(k.name)!.publicBlob), theirs, k.name);
  }
});

test("git's calls: -Y sign -n git writes <file>.sig; find-principals then verify read it with -Overify-time", { skip }, async () => {
  // gpg-interface.c sign_buffer_ssh: ssh-keygen -Y sign -n git -f <key> <buffer file>, reads <buffer file>.sig
  const signed = sshKeygenSign('ed25519', 'git');
  const sigPath = await ourSignature('ed25519', 'git');
  assert.equal(readFileSync(sigPath, 'utf8'), signed);
  const allowed = allowedSigners('ed25519', 'A@example.com', 'namespaces="git"');
  // verify_ssh_signed_buffer: find-principals -f <allowed> -s <sig> -Overify-time=<commit time as %Y%m%d%H%M%S local>
  const p = keygen(['-Y', 'find-principals', '-f', allowed, '-s', sigPath, '-Overify-time=20231114221320']);
  assert.equal(p.status, 0, p.stderr);
  const principal = p.stdout.trim();
  const v = keygen(['-Y', 'verify', '-n', 'git', '-f', allowed, '-I', principal, '-s', sigPath, '-Overify-time=20231114221320'], data);
  assert.equal(v.status, 0, v.stderr);
  assert.ok(v.stdout.startsWith('Good'), v.stdout);
  const c = keygen(['-Y', 'check-novalidate', '-n', 'git', '-s', sigPath, '-Overify-time=20231114221320'], data);
  assert.equal(c.status, 0, c.stderr);
});
