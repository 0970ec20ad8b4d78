// The real `nacred`, run as root, serving two throwaway local users: each
// logs in with their own ~/.ssh/authorized_keys and lands in their own home
// with their own uid, groups and environment; a Match User block's
// ForceCommand applies to one of them only; a password set with
// `nacred passwd` logs in (once the file exists), a wrong one is refused.
// Skipped (loudly) when not root.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findOpenSsh, runSsh, runSshPass, type SshRun } from './openssh.js';
import { nacredFixture, nacredJs, startNacred, type NacredFixture, type RunningNacred } from './nacred-helpers.js';
import { lookupUserAccount, type UserAccount } from '../../src/server/user-account.js';

const o = findOpenSsh();
const root = process.geteuid?.() === 0;
const tools = ['useradd', 'userdel', 'setpriv', 'sshpass', 'ssh-agent', 'ssh-add'].every((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status === 0);
const skip = !o ? 'OpenSSH is not installed' : !root ? 'needs root (creates users, runs sessions as them)' : !tools ? 'needs useradd, setpriv, sshpass and ssh-agent' : false;
if (skip) console.warn(`\n${'!'.repeat(80)}\nnacred as root with two users SKIPPED: ${skip}\n${'!'.repeat(80)}\n`);

const tag = randomBytes(3).toString('hex');
const userA = `nacret-${tag}c`;
const userB = `nacret-${tag}d`;
let f: NacredFixture;
let server: RunningNacred;
let a: UserAccount;
let b: UserAccount;
let passwordFile = '';

function sh(cmd: string, args: string[], input?: string): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8', input });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
}

function authorize(account: UserAccount, line: string): void {
  const dir = join(account.home, '.ssh');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(join(dir, 'authorized_keys'), line + '\n', { mode: 0o600 });
  chownSync(dir, account.uid, account.gid);
  chownSync(join(dir, 'authorized_keys'), account.uid, account.gid);
}

function ssh(login: string, command: string[]): Promise<SshRun> {
  return runSsh(o!, [
    '-o', 'BatchMode=yes',
    '-o', 'StrictHostKeyChecking=no',
    '-o', `UserKnownHostsFile=${f.knownHosts}`,
    '-o', 'IdentitiesOnly=yes',
    '-i', f.userKey,
    '-p', String(server.port),
    `${login}@127.0.0.1`,
    ...command,
  ]);
}

function sshpass(password: string, login: string, command: string): Promise<SshRun> {
  return runSshPass(o!, password, server.port, login, command, ['StrictHostKeyChecking=no', `UserKnownHostsFile=${f.knownHosts}`]);
}

before(async () => {
  if (skip) return;
  f = nacredFixture(o!);
  sh('useradd', ['-m', '-s', '/bin/sh', userA]);
  sh('useradd', ['-m', '-s', '/bin/bash', userB]);
  a = await lookupUserAccount(userA);
  b = await lookupUserAccount(userB);
  authorize(a, f.userKeyLine);
  authorize(b, f.userKeyLine);
  passwordFile = join(f.dir, 'passwd');
  // nacred passwd -s: the password from stdin, for scripts.
  sh(process.execPath, [nacredJs, 'passwd', '-s', '-f', passwordFile, userA], 'correct horse\n');
  server = await startNacred(o!, f, [
    'PasswordAuthentication yes',
    `PasswordFile ${passwordFile}`,
    'PerSourcePenalties no',
    `Match User ${userB}`,
    '  AuthorizedKeysFile .ssh/authorized_keys',
    '  ForceCommand echo forced:$SSH_ORIGINAL_COMMAND',
    `Match User ${userA}`,
    '  AuthorizedKeysFile .ssh/authorized_keys',
  ]);
});

after(async () => {
  if (skip) return;
  await server?.stop();
  for (const u of [userA, userB]) spawnSync('userdel', ['-r', '-f', u], { stdio: 'ignore' });
  f?.cleanup();
});

test('nacred as root: a user lands in their own home with their own uid, groups and environment', { skip }, async () => {
  const r = await ssh(userA, ['id -u; id -g; id -Gn; pwd; echo "$USER $LOGNAME $HOME $SHELL"; echo "$SSH_CONNECTION"']);
  assert.equal(r.code, 0, r.stderr + server.log());
  const [uid, gid, groups, cwd, env, conn] = r.stdout.trim().split('\n');
  assert.equal(Number(uid), a.uid);
  assert.equal(Number(gid), a.gid);
  assert.doesNotMatch(groups!, /\broot\b/);
  assert.equal(cwd, a.home);
  assert.equal(env, `${userA} ${userA} ${a.home} /bin/sh`);
  assert.match(conn!, new RegExp(`^127\\.0\\.0\\.1 \\d+ 127\\.0\\.0\\.1 ${server.port}$`));
  assert.match(server.log(), new RegExp(`Accepted publickey for ${userA} from 127\\.0\\.0\\.1 port \\d+ ssh2: ED25519 SHA256:`));
});

test('nacred as root: a Match User block\'s ForceCommand applies to that user only', { skip }, async () => {
  const r = await ssh(userB, ['cat', join(a.home, '.ssh/authorized_keys')]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), `forced:cat ${join(a.home, '.ssh/authorized_keys')}`);
  const probe = await ssh(userA, ['id -un']);
  assert.equal(probe.stdout.trim(), userA);
});

test('nacred as root: one user\'s session cannot open the other\'s ~/.ssh', { skip }, async () => {
  const r = await ssh(userA, [`ls ${join(b.home, '.ssh')} 2>&1; echo status=$?`]);
  assert.match(r.stdout, /Permission denied/);
  assert.match(r.stdout, /status=[12]/);
});

test('nacred as root: password from the nacred passwd file logs in; a wrong one and a user without a line are refused', { skip }, async () => {
  const ok = await sshpass('correct horse', userA, 'id -un');
  assert.equal(ok.code, 0, ok.stderr + server.log());
  assert.equal(ok.stdout.trim(), userA);
  const wrong = await sshpass('wrong horse', userA, 'true');
  assert.notEqual(wrong.code, 0);
  const noLine = await sshpass('correct horse', userB, 'true');
  assert.notEqual(noLine.code, 0);
  assert.match(server.log(), new RegExp(`Accepted password for ${userA} from 127\\.0\\.0\\.1`));
  assert.match(server.log(), new RegExp(`Failed password for ${userA} from 127\\.0\\.0\\.1`));
});

test('nacred as root: ssh -A gives the user a private agent socket (ssh-add -l lists the key); the other user cannot connect to it', { skip }, async () => {
  const agentSock = join(f.dir, 'agent.sock');
  const agent = spawn('ssh-agent', ['-D', '-a', agentSock], { stdio: 'ignore' });
  try {
    for (let i = 0; i < 100 && !existsSync(agentSock); i++) await new Promise((r) => setTimeout(r, 20));
    const env = { ...process.env, SSH_AUTH_SOCK: agentSock };
    assert.equal(spawnSync('ssh-add', [f.userKey], { env, encoding: 'utf8' }).status, 0);
    const fingerprint = spawnSync('ssh-keygen', ['-lf', f.userKey], { encoding: 'utf8' }).stdout.split(' ')[1]!;
    // A's session prints its socket and the agent's keys, then waits for our word.
    const child = spawn(o!.ssh, ['-F', 'none', '-A', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no', '-o', `UserKnownHostsFile=${f.knownHosts}`, '-o', 'IdentitiesOnly=yes', '-i', f.userKey, '-p', String(server.port), `${userA}@127.0.0.1`, 'echo "$SSH_AUTH_SOCK"; stat -c "%U %a" "$SSH_AUTH_SOCK"; ssh-add -l; echo listed; read x'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no agent listing: ${out} ${err} ${server.log()}`)), 15_000);
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('listed\n')) (clearTimeout(t), resolve());
      });
    });
    const [socket = '', owner, listing = ''] = out.split('\n');
    assert.equal(owner, `${userA} 600`);
    assert.ok(listing.includes(fingerprint), listing);
    // User B's own process (uid, gid and groups of B) is refused the socket.
    const asB = spawnSync('setpriv', [`--reuid=${b.uid}`, `--regid=${b.gid}`, '--init-groups', 'ssh-add', '-l'], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: b.home, SSH_AUTH_SOCK: socket }, encoding: 'utf8' });
    assert.notEqual(asB.status, 0);
    assert.match(asB.stderr, /Permission denied|Error connecting to agent/);
    child.stdin.end('go\n');
    assert.equal(await new Promise((r) => child.on('close', r)), 0, err);
  } finally {
    agent.kill();
  }
});
