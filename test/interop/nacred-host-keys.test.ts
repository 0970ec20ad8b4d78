// Host key rotation against the real nacred: with three HostKeys and a
// known_hosts that lists only one, OpenSSH's ssh (UpdateHostKeys yes) and
// Nacre's own nacre learn the other two from the server's hostkeys-00
// announcement and its hostkeys-prove-00 proofs (an RSA one among them).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findOpenSsh, keygen, runSsh, type SshRun } from './openssh.js';
import { nacredFixture, repoRoot, startNacred, user, type NacredFixture, type RunningNacred } from './nacred-helpers.js';

const nacreJs = join(repoRoot, 'dist/src/cli/nacre.js');
const o = findOpenSsh();
const skip = o ? false : 'OpenSSH not installed';

let f: NacredFixture;
let d: RunningNacred;
/** The public key lines (type and base64) of the three host keys: the fixture's Ed25519, then ECDSA and RSA. */
let ed: string;
let others: string[];

const keyPart = (publicLine: string) => publicLine.split(' ').slice(0, 2).join(' ');

before(async () => {
  if (!o) return;
  f = nacredFixture(o);
  const ecdsa = keygen(o, f.dir, 'ecdsa', 'host_ecdsa');
  const rsa = keygen(o, f.dir, 'rsa', 'host_rsa', 2048);
  ed = keyPart(readFileSync(`${f.hostKey}.pub`, 'utf8'));
  others = [keyPart(ecdsa.publicLine), keyPart(rsa.publicLine)];
  d = await startNacred(o, f, [`HostKey ${ecdsa.privatePath}`, `HostKey ${rsa.privatePath}`]);
});

after(async () => {
  if (!o) return;
  await d?.stop();
  f?.cleanup();
});

/** A known_hosts in the fixture directory listing only the Ed25519 host key. */
function knownHostsWithEd(name: string): string {
  const path = join(f.dir, name);
  writeFileSync(path, `[127.0.0.1]:${d.port} ${ed}\n`);
  return path;
}

function keysListed(path: string): string[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith(`[127.0.0.1]:${d.port} `))
    .map((l) => l.split(' ').slice(1, 3).join(' '));
}

/** The same login for ssh and nacre: known_hosts `kh` only, UpdateHostKeys on, the test key, `true`. */
function updateHostKeysArgs(kh: string): string[] {
  return [
    '-o', 'BatchMode=yes',
    '-o', 'StrictHostKeyChecking=yes',
    '-o', 'UpdateHostKeys=yes',
    '-o', `UserKnownHostsFile=${kh}`,
    '-o', 'GlobalKnownHostsFile=/dev/null',
    '-o', 'IdentitiesOnly=yes',
    '-i', f.userKey,
    '-p', String(d.port),
    `${user}@127.0.0.1`,
    'true',
  ];
}

test("nacred: OpenSSH's ssh with UpdateHostKeys=yes learns the host keys nacred announces and proves", { skip }, async () => {
  const kh = knownHostsWithEd('kh-openssh');
  const r = await runSsh(o!, [
    '-vvv',
    ...updateHostKeysArgs(kh),
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /client_input_hostkeys: asking server to prove ownership for 2 keys/);
  // The RSA proof is checked with rsa-sha2-512: the exchange used the Ed25519 key.
  assert.match(r.stderr, /verify RSA key \d+ using sigalg rsa-sha2-512/);
  assert.match(r.stderr, /Learned new hostkey: ECDSA SHA256:/);
  assert.match(r.stderr, /Learned new hostkey: RSA SHA256:/);
  assert.match(r.stderr, new RegExp(`Adding new key for \\[127\\.0\\.0\\.1\\]:${d.port} to .*kh-openssh: ssh-rsa SHA256:`));
  assert.doesNotMatch(r.stderr, /server failed to confirm ownership|incorrect signature/i);
  assert.deepEqual(keysListed(kh).sort(), [ed, ...others].sort());
  // A second login finds nothing new.
  const again = await runSsh(o!, ['-v', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes', '-o', 'UpdateHostKeys=yes', '-o', `UserKnownHostsFile=${kh}`, '-o', 'GlobalKnownHostsFile=/dev/null', '-o', 'IdentitiesOnly=yes', '-i', f.userKey, '-p', String(d.port), `${user}@127.0.0.1`, 'true']);
  assert.equal(again.code, 0, again.stderr);
  assert.doesNotMatch(again.stderr, /Learned new hostkey|Adding new key/);
  assert.equal(keysListed(kh).length, 3);
});

function nacre(args: string[]): Promise<SshRun> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [nacreJs, '-F', 'none', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    c.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const timer = setTimeout(() => c.kill('SIGKILL'), 20_000);
    c.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

test('nacred: nacre with UpdateHostKeys=yes learns the host keys nacred announces and proves', { skip }, async () => {
  const kh = knownHostsWithEd('kh-nacre');
  const r = await nacre([
    '-v',
    ...updateHostKeysArgs(kh),
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(keysListed(kh).sort(), [ed, ...others].sort(), r.stderr);
  assert.match(r.stderr, /Learned new hostkey: ssh-rsa SHA256:/);
});
