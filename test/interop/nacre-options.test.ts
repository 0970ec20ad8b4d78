// nacre options that had to be mended to behave as ssh's, against OpenSSH
// 10's sshd and with ssh itself as the oracle where it prints something:
// UserKnownHostsFile=/dev/null (read as empty, "written" to as ssh does),
// the -G lines of EnableEscapeCommandline, PermitLocalCommand and
// NumberOfPasswordPrompts, and -f -N starting a ControlPersist master.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { findOpenSsh, freePort, keygen, startSshd, tempDir, type Sshd } from './openssh.js';
import { runNacre as runNacreIn, startKeyedSshd, type KeyedSshd, type NacreRunOptions } from './nacre-run.js';

const o = findOpenSsh();
const skip = o ? false : 'OpenSSH not installed';

let sshd: Sshd;
let home: string;
let key: string;
let peer: KeyedSshd | undefined;

before(async () => {
  if (!o) return;
  peer = await startKeyedSshd(o, 'nacre-opt');
  ({ sshd, key, dir: home } = peer);
  mkdirSync(join(home, '.ssh'), { mode: 0o700 });
});

after(async () => {
  await peer?.stop();
});

const runNacre = (args: string[], options: Omit<NacreRunOptions, 'home'> = {}) => runNacreIn(args, { home, ...options });
const base = () => ['-F', 'none', '-i', key, '-p', String(sshd.port), '-o', 'BatchMode=yes', '-o', 'WarnWeakCrypto=no'];

test('UserKnownHostsFile=/dev/null: read as empty; StrictHostKeyChecking no and accept-new go on ("adding" to it), yes refuses', { skip, timeout: 60000 }, async () => {
  for (const strict of ['no', 'accept-new']) {
    const r = await runNacre([...base(), '-o', 'UserKnownHostsFile=/dev/null', '-o', `StrictHostKeyChecking=${strict}`, '127.0.0.1', 'echo in']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'in\n');
    assert.equal(r.stderr, `Warning: Permanently added '[127.0.0.1]:${sshd.port}' (ED25519) to the list of known hosts.\n`);
    assert.ok(statSync('/dev/null').isCharacterDevice(), '/dev/null is still the device');
  }
  const refused = await runNacre([...base(), '-o', 'UserKnownHostsFile=/dev/null', '-o', 'StrictHostKeyChecking=yes', '127.0.0.1', 'true']);
  assert.equal(refused.code, 255);
  assert.match(refused.stderr, /Host key verification failed\.\n$/);
});

test('-G: EnableEscapeCommandline, PermitLocalCommand and NumberOfPasswordPrompts as ssh -G prints them', { skip, timeout: 60000 }, async () => {
  const pick = (text: string) => text.split('\n').filter((l) => /^(enableescapecommandline|permitlocalcommand|numberofpasswordprompts) /.test(l)).sort();
  for (const extra of [[], ['-o', 'EnableEscapeCommandline=yes', '-o', 'PermitLocalCommand=yes', '-o', 'NumberOfPasswordPrompts=5']]) {
    const args = ['-G', '-F', 'none', ...extra, 'example.org'];
    const ssh = spawnSync(o!.ssh, args, { encoding: 'utf8', env: { PATH: process.env.PATH ?? '', HOME: home } });
    const nacre = await runNacre(args);
    assert.equal(nacre.code, 0, nacre.stderr);
    assert.equal(pick(ssh.stdout).length, 3, ssh.stdout);
    assert.deepEqual(pick(nacre.stdout), pick(ssh.stdout));
  }
});

test('-f -N with ControlMaster and ControlPersist returns once the master is up; a command then runs through it', { skip, timeout: 60000 }, async () => {
  const kh = join(tempDir('nacre-opt-kh'), 'known_hosts');
  writeFileSync(kh, `[127.0.0.1]:${sshd.port} ${sshd.hostKeys.ed25519}\n`);
  const sock = join(tempDir('nacre-opt-mux'), 'ctl');
  const args = [...base(), '-o', `UserKnownHostsFile=${kh}`, '-o', `ControlPath=${sock}`];
  const master = await runNacre([...args, '-o', 'ControlMaster=yes', '-o', 'ControlPersist=30', '-f', '-N', '127.0.0.1'], { untilExit: true });
  assert.equal(master.code, 0, master.stderr);
  assert.ok(existsSync(sock));
  // One process stays: the master (the -f copy has nothing left to do).
  const running = () => spawnSync('pgrep', ['-f', sock], { encoding: 'utf8' }).stdout.split('\n').filter((l) => l !== '').length;
  for (let i = 0; i < 50 && running() > 1; i++) await new Promise((r) => setTimeout(r, 100));
  assert.equal(running(), 1);
  try {
    const shared = await runNacre([...args, '127.0.0.1', 'echo shared']);
    assert.equal(shared.code, 0, shared.stderr);
    assert.equal(shared.stdout, 'shared\n');
  } finally {
    await runNacre(['-F', 'none', '-S', sock, '-O', 'exit', '127.0.0.1']);
  }
});

test('RequiredRSASize: an RSA host key shorter than asked is refused as ssh refuses it ("Bad server host key: Invalid key length", 255), a shorter user key is not offered; the default accepts both', { skip, timeout: 60000 }, async () => {
  const keyDir = tempDir('nacre-opt-rsa');
  const client = keygen(o!, keyDir, 'ed25519', 'client');
  const rsaSshd = await startSshd(o!, [], { hostKeyTypes: ['rsa'], authorizedKeys: client.publicLine + '\n' });
  try {
    const args = (size: string[]) => ['-F', 'none', '-i', client.privatePath, '-p', String(rsaSshd.port), '-o', 'BatchMode=yes', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'StrictHostKeyChecking=no', '-o', 'LogLevel=ERROR', ...size, '127.0.0.1', 'echo in'];
    const env = { PATH: process.env.PATH ?? '', HOME: home };
    for (const size of [['-o', 'RequiredRSASize=4096'], ['-o', 'RequiredRSASize=8192']]) {
      const ssh = spawnSync(o!.ssh, args(size), { encoding: 'utf8', env });
      const nacre = await runNacre(args(size));
      assert.equal(ssh.status, 255);
      assert.equal(nacre.code, 255, nacre.stderr);
      assert.match(ssh.stderr, /Bad server host key: Invalid key length/);
      assert.equal(nacre.stderr, 'Bad server host key: Invalid key length\n');
      assert.equal(nacre.stdout, '');
    }
    for (const size of [[], ['-o', 'RequiredRSASize=3072']]) {
      const nacre = await runNacre(args(size));
      assert.equal(nacre.code, 0, nacre.stderr);
      assert.equal(nacre.stdout, 'in\n');
    }
  } finally {
    await rsaSshd.stop();
  }
  // A user key shorter than RequiredRSASize is named as it is loaded and not offered: both are then refused.
  const rsaClient = keygen(o!, keyDir, 'rsa', 'client_rsa', 2048);
  const userSshd = await startSshd(o!, [], { hostKeyTypes: ['ed25519'], authorizedKeys: rsaClient.publicLine + '\n' });
  try {
    const args = (size: string[]) => ['-F', 'none', '-i', rsaClient.privatePath, '-p', String(userSshd.port), '-o', 'BatchMode=yes', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'StrictHostKeyChecking=no', '-o', 'LogLevel=ERROR', ...size, '127.0.0.1', 'echo in'];
    const ssh = spawnSync(o!.ssh, args(['-o', 'RequiredRSASize=3072']), { encoding: 'utf8', env: { PATH: process.env.PATH ?? '', HOME: home } });
    const nacre = await runNacre(args(['-o', 'RequiredRSASize=3072']));
    assert.equal(ssh.status, 255);
    assert.equal(nacre.code, 255, nacre.stderr);
    const line = `load pubkey "${rsaClient.privatePath}": Invalid key length`;
    assert.ok(ssh.stderr.includes(line), ssh.stderr);
    assert.ok(nacre.stderr.includes(line), nacre.stderr);
    assert.match(nacre.stderr, /Permission denied/);
    const fine = await runNacre(args([]));
    assert.equal(fine.code, 0, fine.stderr);
    assert.equal(fine.stdout, 'in\n');
  } finally {
    await userSshd.stop();
  }
});

test('RefuseConnection: nacre stops before connecting with the line and its argument (OpenSSH 10.1; the 10.0 here does not know it)', { skip, timeout: 60000 }, async () => {
  const cfg = join(tempDir('nacre-opt-refuse'), 'config');
  writeFileSync(cfg, `Host forbidden\n  RefuseConnection "use the bastion"\nHost *\n  Port ${sshd.port}\n`);
  const r = await runNacre(['-F', cfg, '-o', 'BatchMode=yes', 'forbidden', 'true']);
  assert.equal(r.code, 255);
  assert.equal(r.stderr, `${cfg} line 2: RefuseConnection: use the bastion\n`);
  const g = await runNacre(['-F', cfg, '-G', 'forbidden']);
  assert.equal(g.code, 255);
  // Another host is not refused (-G prints its options).
  const other = await runNacre(['-F', cfg, '-G', 'other']);
  assert.equal(other.code, 0, other.stderr);
  assert.match(other.stdout, /^permitremoteopen any$/m);
});

test('PermitRemoteOpen: through nacre -R port (SOCKS on the server side), the server reaches only what it allows (newuser F14)', { skip, timeout: 60000 }, async () => {
  const web = createServer((req, res) => res.end(`hello ${req.url}`));
  await new Promise<void>((r) => web.listen(0, '127.0.0.1', r));
  const webPort = (web.address() as AddressInfo).port;
  const kh = join(tempDir('nacre-opt-rd'), 'known_hosts');
  writeFileSync(kh, `[127.0.0.1]:${sshd.port} ${sshd.hostKeys.ed25519}\n`);
  try {
    for (const [permit, expected] of [
      [`127.0.0.1:${webPort}`, '200'],
      ['127.0.0.1:1', '000'],
      ['none', '000'],
      [undefined, '200'],
    ] as const) {
      const socksPort = await freePort();
      const remote = `curl -s -o /dev/null -w %{http_code} --max-time 10 --socks5 127.0.0.1:${socksPort} http://127.0.0.1:${webPort}/x`;
      const r = await runNacre([...base(), '-o', `UserKnownHostsFile=${kh}`, ...(permit ? ['-o', `PermitRemoteOpen=${permit}`] : []), '-R', String(socksPort), '127.0.0.1', remote]);
      assert.equal(r.stdout, expected, `${permit}: ${r.stderr}`);
    }
  } finally {
    web.close();
  }
});
