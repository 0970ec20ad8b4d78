// OpenSSH's ssh against a library server run as root (createServer +
// runAsUser) serving two throwaway users: each lands in their own home with
// their own uid, groups, environment and terminal; ForceCommand with
// SSH_ORIGINAL_COMMAND, a Subsystem, ~/.ssh/rc, ~/.ssh/environment, the motd,
// and ssh -A with OpenSSH's ssh-agent, whose socket the other user cannot
// reach. Skipped (loudly) when not root.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findOpenSsh, keygen, runSsh, tempDir, type SshRun } from './openssh.js';
import { generateHostKey } from '../../src/keys/index.js';
import { formatKnownHostLine, parseAuthorizedKeys } from '../../src/trust/index.js';
import { createServer, type Server } from '../../src/server/server.js';
import { publicKeyAuthenticator } from '../../src/server/authorization.js';
import { runAsUser, type RunAsUserOptions } from '../../src/server/run-as-user.js';
import { lookupUserAccount, type UserAccount } from '../../src/server/user-account.js';
import { forwardingAsUser } from '../../src/server/user-forwarding.js';
import { createServer as netCreateServer } from 'node:net';

const o = findOpenSsh();
const root = process.geteuid?.() === 0;
const tools = ['useradd', 'userdel', 'groupadd', 'groupdel', 'ssh-agent', 'ssh-add', 'setpriv'].every((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status === 0);
const skip = !o ? 'OpenSSH is not installed' : !root ? 'needs root (creates users, runs sessions as them)' : !tools ? 'needs useradd, groupadd, setpriv and ssh-agent' : false;
if (skip) console.warn(`\n${'!'.repeat(80)}\nrun-as-user interop tests SKIPPED: ${skip}\n${'!'.repeat(80)}\n`);

const tag = randomBytes(3).toString('hex');
const userA = `nacret-${tag}a`;
const userB = `nacret-${tag}b`;
const group = `nacret-${tag}g`;
const MOTD = `nacre motd ${tag}`;

let dir = '';
let keyPath = '';
let knownHosts = '';
let servers: Server[] = [];
let port = 0;
let forcedPort = 0;
let nologinPort = 0;
let a: UserAccount;
let b: UserAccount;

function sh(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
}

/** Writes a file in a user's home, owned by them. */
function userFile(account: UserAccount, rel: string, text: string, mode = 0o644): void {
  const path = join(account.home, rel);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text, { mode });
  chownSync(join(path, '..'), account.uid, account.gid);
  chownSync(path, account.uid, account.gid);
}

async function startServer(options: (user: string) => RunAsUserOptions, publicLine: string): Promise<number> {
  const hostKey = generateHostKey('ssh-ed25519');
  const entries = parseAuthorizedKeys(publicLine + "\n").entries;
  const server = createServer({
    hostKeys: [hostKey],
    auth: { failureDelayMs: 0 },
    authenticate: publicKeyAuthenticator({ authorizedKeys: (u) => (u === userA || u === userB ? entries : []) }),
    session: (s) => runAsUser(s, options(s.username)),
    ...forwardingAsUser({ forwardLocal: () => true, forwardRemote: () => true, forwardStreamlocal: () => true }),
  });
  servers.push(server);
  const p = (await server.listen(0, '127.0.0.1')).port;
  writeFileSync(knownHosts, formatKnownHostLine('127.0.0.1', p, hostKey.publicBlob) + '\n', { flag: 'a' });
  return p;
}

before(async () => {
  if (skip) return;
  dir = tempDir('run-as-user');
  knownHosts = join(dir, 'known_hosts');
  const client = keygen(o!, dir, 'ed25519', 'id_ed25519');
  keyPath = client.privatePath;
  sh('groupadd', [group]);
  sh('useradd', ['-m', '-s', '/bin/sh', '-G', group, userA]);
  sh('useradd', ['-m', '-s', '/bin/bash', userB]);
  a = await lookupUserAccount(userA);
  b = await lookupUserAccount(userB);
  // Private homes, whatever login.defs says.
  for (const u of [a, b]) sh('chmod', ['0700', u.home]);
  userFile(a, '.ssh/rc', 'touch "$HOME/rc-ran"\n');
  userFile(a, '.ssh/environment', 'NACRE_FROM_FILE=yes\n# comment\nOTHER_FROM_FILE=no\n', 0o600);
  writeFileSync(join(dir, 'motd'), `${MOTD}\n`);
  // Variables of the server process must never reach a session.
  process.env.NACRET_SERVER_SECRET = 'leak';
  port = await startServer(
    (user) => ({
      env: { NACRE_SETENV: 'set-by-server' },
      acceptEnv: ['LANG', 'LC_*'],
      subsystems: { 'nacre-who': 'echo "subsystem as $(id -un) in $(pwd)"', sftp: 'internal-sftp' },
      agentForwarding: true,
      printMotd: true,
      motdFile: join(dir, 'motd'),
      userRc: user === userA,
      permitUserEnvironment: ['NACRE_*'],
      nologinFile: null, // whatever the machine's /etc/nologin says
    }),
    client.publicLine,
  );
  forcedPort = await startServer(() => ({ forceCommand: 'echo "forced as $(id -un): [$SSH_ORIGINAL_COMMAND]"', nologinFile: null }), client.publicLine);
  writeFileSync(join(dir, 'nologin'), 'System maintenance until noon.\n');
  nologinPort = await startServer(() => ({ nologinFile: join(dir, 'nologin') }), client.publicLine);
});

after(async () => {
  if (skip) return;
  delete process.env.NACRET_SERVER_SECRET;
  for (const s of servers) await s.close();
  servers = [];
  for (const u of [userA, userB]) spawnSync('userdel', ['-r', '-f', u], { stdio: 'ignore' });
  spawnSync('groupdel', [group], { stdio: 'ignore' });
  rmSync(dir, { recursive: true, force: true });
});

function args(user: string, p = port, extra: string[] = []): string[] {
  return ['-p', String(p), '-l', user, '-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-i', keyPath, ...extra];
}

function ssh(user: string, command: string[], extra: string[] = [], p = port, input?: string): Promise<SshRun> {
  return runSsh(o!, [...args(user, p, extra), '127.0.0.1', ...command], 20_000, input);
}

function envOf(out: string): Map<string, string> {
  return new Map(out.split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] as [string, string]));
}

test('each user lands in their own home, with their own uid, gid and groups', { skip }, async () => {
  for (const u of [a, b]) {
    const r = await ssh(u.name, ['pwd; id -u; id -g; id -Gn; id -un']);
    assert.equal(r.code, 0, r.stderr);
    const [pwd, uid, gid, groups, name] = r.stdout.trim().split('\n');
    assert.equal(pwd, u.home);
    assert.equal(Number(uid), u.uid);
    assert.equal(Number(gid), u.gid);
    assert.equal(name, u.name);
    const list = groups!.split(' ');
    assert.ok(!list.includes('root'), `root's groups leaked: ${groups}`);
    assert.equal(list.includes(group), u === a, groups);
  }
});

test('a user cannot read the other user\'s home', { skip }, async () => {
  const r = await ssh(userB, [`ls ${a.home}`]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /Permission denied/);
});

test('the environment is sshd\'s, with accepted variables and SetEnv, and nothing of the server\'s', { skip }, async () => {
  const r = await ssh(userA, ['env'], ['-o', 'SetEnv=LC_NACRE=hello NACRE_REFUSED=x']);
  assert.equal(r.code, 0, r.stderr);
  const env = envOf(r.stdout);
  assert.equal(env.get('USER'), userA);
  assert.equal(env.get('LOGNAME'), userA);
  assert.equal(env.get('HOME'), a.home);
  assert.equal(env.get('SHELL'), '/bin/sh');
  assert.equal(env.get('MAIL'), `/var/mail/${userA}`);
  assert.equal(env.get('PATH'), '/usr/local/bin:/usr/bin:/bin:/usr/games');
  assert.match(env.get('SSH_CONNECTION') ?? '', /^127\.0\.0\.1 \d+ 127\.0\.0\.1 \d+$/);
  assert.match(env.get('SSH_CLIENT') ?? '', /^127\.0\.0\.1 \d+ \d+$/);
  assert.equal(env.get('LC_NACRE'), 'hello');
  assert.equal(env.get('NACRE_SETENV'), 'set-by-server');
  assert.equal(env.get('NACRE_REFUSED'), undefined);
  assert.equal(env.get('NACRE_FROM_FILE'), 'yes', 'PermitUserEnvironment lets NACRE_* in from ~/.ssh/environment');
  assert.equal(env.get('OTHER_FROM_FILE'), undefined);
  assert.equal(env.get('NACRET_SERVER_SECRET'), undefined);
  assert.equal(env.get('SSH_TTY'), undefined);
  assert.equal(env.get('TERM'), undefined);
});

test('~/.ssh/rc runs as the user when enabled, and not for the other user', { skip }, async () => {
  userFile(b, '.ssh/rc', 'touch "$HOME/rc-ran"\n');
  for (const u of [a, b]) rmSync(join(u.home, 'rc-ran'), { force: true });
  assert.equal((await ssh(userA, ['true'])).code, 0);
  assert.equal((await ssh(userB, ['true'])).code, 0);
  assert.ok(existsSync(join(a.home, 'rc-ran')));
  assert.ok(!existsSync(join(b.home, 'rc-ran')));
  // as sshd: not for a subsystem
  rmSync(join(a.home, 'rc-ran'));
  assert.equal((await ssh(userA, ['-s', 'nacre-who'])).code, 0);
  assert.ok(!existsSync(join(a.home, 'rc-ran')));
});

test('programs get only stdin, stdout and stderr, with and without a terminal', { skip }, async () => {
  for (const extra of [[], ['-tt']]) {
    // ls's own: all but the directory it reads
    const r = await ssh(userB, ['ls -l /proc/self/fd'], extra);
    assert.equal(r.code, 0, r.stderr);
    const fds = [...r.stdout.matchAll(/ (\d+) -> (\S+)/g)].filter((m) => !m[2]!.startsWith('/proc/')).map((m) => m[1]);
    assert.deepEqual(fds.sort(), ['0', '1', '2'], `${extra}: ${r.stdout}`);
  }
});

test('a program without a terminal leads a session of its own, away from the server\'s controlling terminal', { skip }, async () => {
  const r = await ssh(userB, ['echo $$ $(cut -d" " -f6 /proc/$$/stat)']);
  assert.equal(r.code, 0, r.stderr);
  const [pid, sid] = r.stdout.trim().split(' ');
  assert.equal(sid, pid);
});

test('the terminal belongs to the user and group tty, mode 0620, and SSH_TTY and TERM are set', { skip }, async () => {
  for (const u of [a, b]) {
    const r = await ssh(u.name, ['stat -c "%U %G %a" $(tty); echo "$SSH_TTY $TERM"'], ['-tt']);
    assert.equal(r.code, 0, r.stderr);
    const [owner, tty] = r.stdout.trim().split(/\r?\n/);
    assert.equal(owner, `${u.name} tty 620`, JSON.stringify(r));
    assert.match(tty ?? '', /^\/dev\/pts\/\d+ \S+$/, JSON.stringify(r));
  }
});

test('a terminal the server closes under a running program is gone (nothing is left for the user to hold by name)', { skip }, async () => {
  // The program ignores SIGHUP and keeps its terminal open after the client is gone.
  const child = spawn(o!.ssh, ['-F', 'none', ...args(userB, port, ['-tt']), '127.0.0.1', 'trap "" HUP; tty; exec sleep 2'], { stdio: ['pipe', 'pipe', 'ignore'] });
  let out = '';
  const device = await new Promise<string>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no tty: ${out}`)), 10_000);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /(\/dev\/pts\/\d+)\r?\n/.exec(out);
      if (m) {
        clearTimeout(t);
        resolve(m[1]!);
      }
    });
  });
  assert.equal(statSync(device).uid, b.uid);
  child.kill('SIGKILL');
  for (let i = 0; i < 200 && existsSync(device) && statSync(device).uid === b.uid; i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(!existsSync(device) || statSync(device).uid !== b.uid, 'the device is no longer the user\'s');
});

test('a login shell on a terminal shows the motd once; a command does not', { skip }, async () => {
  const shell = await ssh(userB, [], ['-tt'], port, 'echo done-$((40+2)); exit\n');
  assert.equal(shell.code, 0, shell.stderr);
  assert.equal(shell.stdout.split(MOTD).length - 1, 1, shell.stdout);
  assert.match(shell.stdout, /done-42/);
  const exec = await ssh(userB, ['echo hi'], ['-tt']);
  assert.ok(!exec.stdout.includes(MOTD));
});

test('ForceCommand runs in place of what was asked, which it finds in SSH_ORIGINAL_COMMAND', { skip }, async () => {
  const exec = await ssh(userB, ['some command --with args'], [], forcedPort);
  assert.equal(exec.code, 0, exec.stderr);
  assert.equal(exec.stdout.trim(), `forced as ${userB}: [some command --with args]`);
  const subsystem = await ssh(userA, ['-s', 'sftp'], [], forcedPort);
  assert.equal(subsystem.stdout.trim(), `forced as ${userA}: [sftp]`);
});

test('a Subsystem runs as the user through their shell; unknown ones are refused (internal-sftp: sftp-openssh-client.test.ts)', { skip }, async () => {
  const r = await ssh(userA, ['-s', 'nacre-who']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), `subsystem as ${userA} in ${a.home}`);
  for (const name of ['nope']) {
    const refused = await ssh(userA, ['-s', name]);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /subsystem request failed/);
  }
});

test('ssh -A: the user lists the forwarded agent\'s key; the other user cannot connect to the socket', { skip }, async () => {
  const agentSock = join(dir, 'agent.sock');
  const agent = spawn('ssh-agent', ['-D', '-a', agentSock], { stdio: 'ignore' });
  try {
    for (let i = 0; i < 100 && !existsSync(agentSock); i++) await new Promise((r) => setTimeout(r, 20));
    const env = { ...process.env, SSH_AUTH_SOCK: agentSock };
    assert.equal(spawnSync('ssh-add', [keyPath], { env, encoding: 'utf8' }).status, 0);
    const fingerprint = spawnSync('ssh-keygen', ['-lf', keyPath], { encoding: 'utf8' }).stdout.split(' ')[1]!;
    // A's session prints its socket, lists the agent, then waits for our word.
    const child = spawn(o!.ssh, ['-F', 'none', ...args(userA, port, ['-A']), '127.0.0.1', 'echo "$SSH_AUTH_SOCK"; stat -c "%U %a" "$SSH_AUTH_SOCK"; ssh-add -l; echo listed; read x; echo bye'], {
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no agent listing: ${out} ${err}`)), 15_000);
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('listed\n')) {
          clearTimeout(t);
          resolve();
        }
      });
    });
    const [socket = "", owner, listing] = out.split("\n");
    assert.match(socket!, /^\/tmp\/nacre-[^/]+\/agent\.\d+$/);
    assert.equal(owner, `${userA} 600`);
    assert.ok(listing!.includes(fingerprint), listing);
    const other = await ssh(userB, [`SSH_AUTH_SOCK=${socket} ssh-add -l; ls ${socket.replace(/\/[^/]+$/, '')}`]);
    assert.notEqual(other.code, 0);
    assert.match(other.stderr, /Permission denied/);
    child.stdin.end('go\n');
    const code = await new Promise((r) => child.on('close', r));
    assert.equal(code, 0, err);
    // The socket and its directory go with the session.
    const socketDir = socket.replace(/\/[^/]+$/, '');
    for (let i = 0; i < 100 && existsSync(socketDir); i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(!existsSync(socketDir), 'the session directory is removed');
  } finally {
    agent.kill();
  }
});

test('forwarding as a user from a root server: no -R on a privileged port, no Unix socket the user could not reach', { skip }, async () => {
  const forward = (spec: string[]) => ssh(userA, ['true'], ['-o', 'ExitOnForwardFailure=yes', ...spec]);
  const privileged = await forward(['-R', '127.0.0.1:1023:127.0.0.1:9']);
  assert.equal(privileged.code, 255);
  assert.match(privileged.stderr, /remote port forwarding failed/);
  assert.equal((await forward(['-R', '127.0.0.1:0:127.0.0.1:9'])).code, 0, 'an unprivileged port is fine');
  // a root-only socket: the root server must not connect to it for the user
  const hidden = join(dir, 'root-only');
  mkdirSync(hidden, { mode: 0o700 });
  const sock = join(hidden, 'sock');
  const listener = netCreateServer((c) => c.end('root secret\n'));
  await new Promise<void>((r) => listener.listen(sock, r));
  try {
    const r = await runSsh(o!, [...args(userA, port), '-W', sock, '127.0.0.1'], 20_000);
    assert.ok(!r.stdout.includes('root secret'), r.stdout);
    assert.match(r.stderr, /open failed/);
  } finally {
    listener.close();
  }
});

test('while the nologin file exists, a user\'s program does not run: its text on stderr, exit status 254', { skip }, async () => {
  const r = await ssh(userB, ['echo ran'], [], nologinPort);
  assert.equal(r.code, 254);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /System maintenance until noon\./);
});
