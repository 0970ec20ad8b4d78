// `npm start`'s server (src/cli/start.ts): which keys may log in, the file
// permissions it insists on (as sshd with StrictModes), the environment its
// programs get, what it logs, its known_hosts and how fast it starts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { connect as netConnect, type Socket } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { connect } from '../../src/client/client.js';
import { randomBytes } from 'node:crypto';
import { certificateSigner, fingerprintSha256, generateHostKey, KeyFileError, signCertificate, type AuthSigner, type KeySigner } from '../../src/keys/index.js';
import { failedLoginLine, loadOrCreateHostKeys, readUserKeys, startServer } from '../../src/cli/start.js';
import { DEFAULT_SUPERUSER_PATH, DEFAULT_USER_PATH } from '../../src/server/login-env.js';

const repoRoot = resolve(dirname(new URL(import.meta.url).pathname), '../../..');

const asRoot = process.getuid?.() === 0;

function publicLine(k: KeySigner, options = ''): string {
  return `${options ? options + ' ' : ''}${k.keyType} ${Buffer.from(k.publicBlob).toString('base64')} test`;
}

async function withHome(fn: (home: string, key: KeySigner, logs: string[]) => Promise<void>): Promise<void> {
  const home = mkdtempSync(join(tmpdir(), 'nacre-start-'));
  mkdirSync(join(home, '.ssh'), { mode: 0o700 });
  try {
    await fn(home, generateHostKey('ssh-ed25519'), []);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

async function tryLogin(port: number, key: AuthSigner, username: string): Promise<boolean> {
  try {
    const c = await connect({ host: '127.0.0.1', port, username, privateKey: key, verifyHostKey: () => true, keepalive: false });
    await c.close();
    return true;
  } catch {
    return false;
  }
}

test('npm start: authorized_keys options are applied (from= refuses another address, command= replaces the command)', async () => {
  await withHome(async (home, key, logs) => {
    const forced = generateHostKey('ssh-ed25519');
    const plain = generateHostKey('ssh-ed25519');
    writeFileSync(
      join(home, '.ssh', 'authorized_keys'),
      [publicLine(key, 'from="10.9.9.9",command="echo FORCED"'), publicLine(forced, 'command="echo FORCED $SSH_ORIGINAL_COMMAND",no-pty'), publicLine(plain)].join('\n') + '\n',
      { mode: 0o600 },
    );
    const s = await startServer({ port: 0, stateDir: join(home, 'state'), home, log: (l) => logs.push(l) });
    try {
      assert.equal(s.authorizedKeyCount, 3);
      assert.equal(await tryLogin(s.address.port, key, s.username), false);
      assert.ok(logs.some((l) => /key refused: .*authorized_keys:1: address 127\.0\.0\.1 is not allowed by from="10\.9\.9\.9"/.test(l)), logs.join('\n'));
      const c = await connect({ host: '127.0.0.1', port: s.address.port, username: s.username, privateKey: forced, verifyHostKey: () => true, keepalive: false });
      try {
        assert.equal((await c.exec('echo asked')).stdout, 'FORCED echo asked\n');
        await assert.rejects(c.shell({ pty: { term: 'xterm', cols: 80, rows: 24 } }));
      } finally {
        await c.close();
      }
      assert.equal(await tryLogin(s.address.port, plain, s.username), true);
    } finally {
      await s.close();
    }
  });
});

test('npm start: a cert-authority line with principals= lets in a certificate it signed', async () => {
  await withHome(async (home, key, logs) => {
    const ca = generateHostKey('ssh-ed25519');
    writeFileSync(join(home, '.ssh', 'authorized_keys'), publicLine(ca, 'cert-authority,principals="ops",no-pty') + '\n', { mode: 0o600 });
    const s = await startServer({ port: 0, stateDir: join(home, 'state'), home, log: (l) => logs.push(l) });
    const cert = (principals: string[]) => signCertificate({ publicKey: key.publicBlob, kind: 'user', keyId: 'k-7', serial: 7n, principals, random: (n) => randomBytes(n) }, ca);
    try {
      const c = await connect({ host: '127.0.0.1', port: s.address.port, username: s.username, privateKey: certificateSigner(key, cert(['ops'])), verifyHostKey: () => true, keepalive: false });
      try {
        await assert.rejects(c.shell({ pty: { term: 'xterm', cols: 80, rows: 24 } }), 'no-pty from the CA line');
      } finally {
        await c.close();
      }
      assert.ok(logs.some((l) => l.includes(`ssh-ed25519 certificate ${fingerprintSha256(key.publicBlob)} ID k-7 (serial 7) CA ${fingerprintSha256(ca.publicBlob)}`)), logs.join('\n'));
      assert.equal(await tryLogin(s.address.port, certificateSigner(key, cert([s.username])), s.username), false, 'principals= replaces the username');
      assert.equal(await tryLogin(s.address.port, key, s.username), false, 'the CA line lets no plain key in');
    } finally {
      await s.close();
    }
  });
});

test('npm start: ten idle connections from one address do not lock the user out', async () => {
  await withHome(async (home, key, logs) => {
    writeFileSync(join(home, '.ssh', 'authorized_keys'), publicLine(key) + '\n', { mode: 0o600 });
    const s = await startServer({ port: 0, stateDir: join(home, 'state'), home, log: (l) => logs.push(l) });
    const idle: Socket[] = [];
    try {
      for (let i = 0; i < 10; i++) {
        // From 127.0.0.2 (all of 127/8 is loopback on Linux); each waits for the server's first bytes.
        const sock = netConnect({ port: s.address.port, host: '127.0.0.1', localAddress: '127.0.0.2' });
        sock.on('error', () => undefined);
        idle.push(sock);
        await new Promise((r) => sock.once('data', r));
      }
      assert.equal(await tryLogin(s.address.port, key, s.username), true);
    } finally {
      for (const sock of idle) sock.destroy();
      await s.close();
    }
  });
});

test('npm start: an authorized_keys file others can write is not used; bad lines are reported', async () => {
  await withHome(async (home, key, logs) => {
    const path = join(home, '.ssh', 'authorized_keys');
    writeFileSync(path, `no-such-option ${publicLine(key).slice(0)}\n${publicLine(key)}\n`, { mode: 0o600 });
    chmodSync(path, 0o666);
    const s = await startServer({ port: 0, stateDir: join(home, 'state'), home, log: (l) => logs.push(l) });
    try {
      assert.equal(s.authorizedKeyCount, 0);
      assert.ok(logs.some((l) => l.includes('not used') && l.includes('writable by group or others')), logs.join('\n'));
      // What the banner shows instead of "make a key": the file, why, and what to fix.
      assert.equal(s.refusedKeyFiles.length, 1);
      assert.match(s.refusedKeyFiles[0]!, /authorized_keys: not used: .*writable by group or others/);
      assert.equal(await tryLogin(s.address.port, key, s.username), false);
      chmodSync(path, 0o600); // fixed: read again at the next attempt
      assert.equal(await tryLogin(s.address.port, key, s.username), true);
    } finally {
      await s.close();
    }
    const again = await startServer({ port: 0, stateDir: join(home, 'state'), home, log: (l) => logs.push(l) });
    await again.close();
    assert.ok(logs.some((l) => /authorized_keys:1: skipped: .*no-such-option/.test(l)), logs.join('\n'));
  });
});

test('npm start: host keys others could read are refused; a loose state directory is tightened', { skip: process.getuid ? false : 'no POSIX owners here' }, async () => {
  await withHome(async (home) => {
    const dir = join(home, 'state');
    mkdirSync(dir, { mode: 0o777 });
    chmodSync(dir, 0o777);
    loadOrCreateHostKeys(dir);
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    const key = join(dir, 'ssh_host_ed25519_key.pem');
    assert.equal(statSync(key).mode & 0o777, 0o600);
    chmodSync(key, 0o644);
    assert.throws(() => loadOrCreateHostKeys(dir), (e: unknown) => e instanceof KeyFileError && e.problem === 'unsafe-permissions' && e.path === key && /644 are too open/.test(e.message));
  });
});

test('npm start: keys in a home directory another user owns are not trusted', { skip: asRoot ? false : 'needs root to chown' }, async () => {
  await withHome(async (home, key, logs) => {
    const path = join(home, '.ssh', 'authorized_keys');
    writeFileSync(path, publicLine(key) + '\n', { mode: 0o600 });
    const { chownSync } = await import('node:fs');
    chownSync(join(home, '.ssh'), 65534, 65534);
    const s = await startServer({ port: 0, stateDir: join(home, 'state'), home, log: (l) => logs.push(l) });
    try {
      assert.equal(s.authorizedKeyCount, 0);
      assert.ok(logs.some((l) => /belongs to another user \(uid 65534\)/.test(l)), logs.join('\n'));
    } finally {
      await s.close();
    }
  });
});

test('npm start: an authorized_keys too large to read is reported, not silently passed over; a missing one says nothing', async () => {
  await withHome(async (home, key) => {
    const { truncateSync } = await import('node:fs');
    const { MAX_TRUST_FILE_BYTES } = await import('../../src/io/node/files.js');
    const reports: string[] = [];
    assert.equal(readUserKeys(home, (l) => reports.push(l)).length, 0);
    assert.equal(reports.length, 0);
    const path = join(home, '.ssh', 'authorized_keys');
    writeFileSync(path, publicLine(key) + '\n', { mode: 0o600 });
    assert.equal(readUserKeys(home, (l) => reports.push(l)).length, 1);
    truncateSync(path, MAX_TRUST_FILE_BYTES + 1);
    assert.equal(readUserKeys(home, (l) => reports.push(l)).length, 0);
    assert.deepEqual(reports, [`${path}: not used: authorized keys file is larger than 128 MiB; refused`]);
  });
});
async function login(port: number, key: KeySigner, username: string) {
  return connect({ host: '127.0.0.1', port, username, privateKey: key, verifyHostKey: () => true, keepalive: false });
}

function envOf(stdout: string): Map<string, string> {
  return new Map(stdout.split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}

test('npm start: two instances on different ports share known_hosts, each keeping its own lines', async () => {
  await withHome(async (home, _key, logs) => {
    const stateDir = join(home, 'state');
    const a = await startServer({ port: 0, stateDir, home, log: (l) => logs.push(l) });
    const b = await startServer({ port: 0, stateDir, home, log: (l) => logs.push(l) });
    try {
      assert.equal(a.knownHostsPath, b.knownHostsPath);
      const text = readFileSync(a.knownHostsPath, 'utf8');
      for (const s of [a, b]) {
        assert.equal(text.split('\n').filter((l) => l.startsWith(`[127.0.0.1]:${s.address.port} `)).length, 3, text);
        assert.match(s.sshCommand, new RegExp(`-p ${s.address.port} -o UserKnownHostsFile=${a.knownHostsPath} `));
      }
      // A restart on the same port replaces its lines instead of adding more.
      const port = a.address.port;
      await a.close();
      const again = await startServer({ port, stateDir, home, log: (l) => logs.push(l) });
      await again.close();
      const after = readFileSync(a.knownHostsPath, 'utf8').split('\n').filter((l) => l !== '');
      assert.equal(after.length, 12, after.join('\n')); // 2 ports x (127.0.0.1, localhost) x 3 keys
    } finally {
      await b.close();
    }
  });
});

test("npm start: programs get sshd's environment, not npm's; LANG and LC_* from the client are passed on", async () => {
  await withHome(async (home, key, logs) => {
    writeFileSync(join(home, '.ssh', 'authorized_keys'), publicLine(key) + '\n', { mode: 0o600 });
    const s = await startServer({ port: 0, stateDir: join(home, 'state'), home, log: (l) => logs.push(l) });
    const c = await login(s.address.port, key, s.username);
    try {
      const piped = envOf((await c.exec('env', { env: { LANG: 'C.UTF-8', LC_TIME: 'C', FOO: 'bar' } })).stdout);
      assert.equal(piped.get('PATH'), process.getuid?.() === 0 ? DEFAULT_SUPERUSER_PATH : DEFAULT_USER_PATH);
      assert.equal(piped.get('USER'), s.username);
      assert.equal(piped.get('LOGNAME'), s.username);
      assert.equal(piped.get('HOME'), home);
      assert.equal(piped.get('MAIL'), `/var/mail/${s.username}`);
      assert.ok(piped.get('SHELL'));
      assert.match(piped.get('SSH_CONNECTION') ?? '', new RegExp(`^127\\.0\\.0\\.1 \\d+ 127\\.0\\.0\\.1 ${s.address.port}$`));
      assert.match(piped.get('SSH_CLIENT') ?? '', new RegExp(`^127\\.0\\.0\\.1 \\d+ ${s.address.port}$`));
      assert.equal(piped.get('LANG'), 'C.UTF-8');
      assert.equal(piped.get('LC_TIME'), 'C');
      assert.equal(piped.has('FOO'), false, 'a variable AcceptEnv does not name is refused');
      assert.equal(piped.has('TERM'), false, 'no TERM without a terminal');
      assert.equal(piped.has('SSH_TTY'), false);
      assert.equal([...piped.keys()].some((k) => k.startsWith('npm_')), false, 'npm variables leaked');
      const tty = envOf((await c.exec('env', { pty: { term: 'xterm-test' } })).stdout.replace(/\r/g, ''));
      assert.equal(tty.get('TERM'), 'xterm-test');
      assert.match(tty.get('SSH_TTY') ?? '', /^\/dev\/pts\/\d+$/);
    } finally {
      await c.close();
      await s.close();
    }
    const custom = await startServer({ port: 0, stateDir: join(home, 'state'), home, acceptEnv: ['FOO'], log: (l) => logs.push(l) });
    const c2 = await login(custom.address.port, key, custom.username);
    try {
      const e = envOf((await c2.exec('env', { env: { LANG: 'C.UTF-8', FOO: 'bar' } })).stdout);
      assert.equal(e.get('FOO'), 'bar');
      assert.equal(e.has('LANG'), false);
    } finally {
      await c2.close();
      await custom.close();
    }
  });
});

test('npm start: failed logins and disconnects are logged as sshd logs them', async () => {
  await withHome(async (home, key, logs) => {
    writeFileSync(join(home, '.ssh', 'authorized_keys'), publicLine(key) + '\n', { mode: 0o600 });
    const s = await startServer({ port: 0, stateDir: join(home, 'state'), home, log: (l) => logs.push(l) });
    try {
      const stranger = generateHostKey('ssh-ed25519');
      assert.equal(await tryLogin(s.address.port, stranger, s.username), false);
      assert.equal(await tryLogin(s.address.port, key, 'no-such-user'), false);
      const c = await login(s.address.port, key, s.username);
      await c.close();
      await waitUntil(() => logs.some((l) => l.startsWith(`Disconnected from user ${s.username} 127.0.0.1 port `)));
      const fp = fingerprintSha256(stranger.publicBlob);
      assert.ok(logs.some((l) => new RegExp(`^Failed publickey for ${s.username} from 127\\.0\\.0\\.1 port \\d+ ssh2: ssh-ed25519 ${fp.replace(/[+/]/g, '\\$&')}$`).test(l)), logs.join('\n'));
      assert.ok(logs.some((l) => /^Failed publickey for invalid user no-such-user from 127\.0\.0\.1 port \d+ ssh2: /.test(l)), logs.join('\n'));
      assert.ok(logs.some((l) => new RegExp(`^Accepted publickey for ${s.username} from 127\\.0\\.0\\.1 port \\d+ ssh2: ssh-ed25519 SHA256:`).test(l)), logs.join('\n'));
      // A client that just drops the connection.
      const before = logs.filter((l) => l.startsWith('Connection closed by')).length;
      const sock = netConnect(s.address.port, '127.0.0.1');
      await new Promise((r) => sock.once('data', r));
      sock.destroy();
      await waitUntil(() => logs.filter((l) => /^Connection closed by 127\.0\.0\.1 port \d+ \[preauth\]$/.test(l)).length > before);
      assert.ok(logs.filter((l) => /^Connection closed by 127\.0\.0\.1 port \d+ \[preauth\]$/.test(l)).length > before, logs.join('\n'));
    } finally {
      await s.close();
    }
  });
});

test('npm start: a failed password line names no password; a strange user name stays on one line', () => {
  const line = failedLoginLine({ method: 'password', username: 'bob\nFailed publickey for root', remoteAddress: '127.0.0.1', remotePort: 5555 }, 'alice');
  assert.equal(line, 'Failed password for invalid user bob\\nFailed publickey for root from 127.0.0.1 port 5555 ssh2');
  assert.equal(failedLoginLine({ method: 'password', username: 'alice', remoteAddress: '127.0.0.1', remotePort: 5555 }, 'alice'), 'Failed password for alice from 127.0.0.1 port 5555 ssh2');
});

test('npm start --help answers without compiling anything at start', () => {
  const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  assert.doesNotMatch(pkg.scripts.start!, /tsc/, 'npm start must not compile');
  assert.match(pkg.scripts.prepare ?? '', /tsc/, 'prepare builds on install and pack');
  const r = spawnSync(process.execPath, [join(repoRoot, 'dist/src/cli/start.js'), '--help'], { encoding: 'utf8' });
  assert.equal(r.status, 0);
  assert.match(r.stderr, /^usage: npm start/);
  const viaNpm = spawnSync('npm', ['start', '--silent', '--', '--help'], { cwd: repoRoot, encoding: 'utf8' });
  if (viaNpm.error) return; // no npm here: the direct run above is what it runs
  assert.equal(viaNpm.status, 0, viaNpm.stderr);
  assert.match(viaNpm.stderr, /usage: npm start/);
});

async function waitUntil(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
}

test('npm start: the printed commands run as typed (nacre through npx unless on PATH; ssh gets ::1 bare, sftp bracketed); localhost is written once', async () => {
  await withHome(async (home, _key, logs) => {
    const stateDir = join(home, 'state');
    const bin = join(home, 'bin');
    mkdirSync(bin);
    // Not on PATH (a clone after npm install): npx runs the package's own bins.
    const a = await startServer({ port: 0, host: 'localhost', stateDir, home, log: (l) => logs.push(l), searchPath: join(home, 'empty') });
    try {
      assert.match(a.nacreCommand, new RegExp(`^npx nacre -p ${a.address.port} -o UserKnownHostsFile=\\S+ \\S+@localhost$`));
      assert.match(a.nacreSftpCommand, new RegExp(`^npx nacre-sftp -P ${a.address.port} -o UserKnownHostsFile=\\S+ \\S+@localhost$`));
      assert.match(a.sshCommand, /^ssh -p \d+ .*@localhost$/);
      const lines = readFileSync(a.knownHostsPath, 'utf8').split('\n').filter((l) => l !== '');
      assert.equal(lines.length, 3, 'each host key once for [localhost]:port');
      assert.equal(new Set(lines).size, 3);
    } finally {
      await a.close();
    }
    // On PATH (npm link, a global install): the plain names.
    for (const name of ['nacre', 'nacre-sftp']) {
      writeFileSync(join(bin, name), '#!/bin/sh\n');
      chmodSync(join(bin, name), 0o755);
    }
    const b = await startServer({ port: 0, stateDir, home, log: (l) => logs.push(l), searchPath: `/nonexistent:${bin}` });
    try {
      assert.match(b.nacreCommand, /^nacre -p /);
      assert.match(b.nacreSftpCommand, /^nacre-sftp -P /);
    } finally {
      await b.close();
    }
    // IPv6: ssh and nacre take the address bare (ssh cannot resolve "[::1]"), sftp and nacre-sftp bracketed.
    let c;
    try {
      c = await startServer({ port: 0, host: '::1', stateDir, home, log: (l) => logs.push(l) });
    } catch {
      return; // no IPv6 loopback here
    }
    try {
      assert.match(c.sshCommand, /@::1$/);
      assert.match(c.nacreCommand, /@::1$/);
      assert.match(c.sftpCommand, /@\[::1\]$/);
      assert.match(c.nacreSftpCommand, /@\[::1\]$/);
    } finally {
      await c.close();
    }
  });
});
