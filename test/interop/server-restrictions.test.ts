// OpenSSH's `ssh` against a Nacre server that decides logins with
// publicKeyAuthenticator: each authorized_keys option enforced as sshd would
// (command= with SSH_ORIGINAL_COMMAND, from=, no-pty, permitopen=,
// permitlisten=, restrict with pty, expiry-time=, environment=), and user
// certificates signed by `ssh-keygen -s` accepted with trusted CA keys,
// refused when they should be, their force-command, source-address and
// missing permit-pty enforced.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { findOpenSsh, freePort, keygen, runSsh, tempDir, waitForPort, type SshRun } from './openssh.js';
import { generateHostKey, parseOpenSshPublicKeyLine } from '../../src/keys/index.js';
import { formatKnownHostLine, parseAuthorizedKeys } from '../../src/trust/index.js';
import { createServer, type Server } from '../../src/server/server.js';
import { publicKeyAuthenticator } from '../../src/server/authorization.js';
import { loadRevokedKeys } from '../../src/io/node/revoked-keys.js';
import type { RevocationCheck } from '../../src/keys/krl-check.js';
import { loadPty, runAsCurrentUser } from '../../src/server/exec-handler.js';
import { echoServer, roundTrip } from '../node/server-helpers.js';

const o = findOpenSsh();
const skip = o ? false : 'OpenSSH is not installed (see scripts/install-test-peers.sh)';
const user = userInfo().username;

let dir = '';
let port = 0;
let server: Server;
let knownHosts = '';
let keyPath = '';
let keyLine = '';
let caLine = '';
/** The authorized_keys text the server reads at each attempt. */
let authorizedKeys = '';
/** The server's RevokedKeys check, when a test sets one. */
let revoked: RevocationCheck | null = null;

before(async () => {
  if (!o) return;
  dir = tempDir('server-restrict');
  const k = keygen(o, dir, 'ed25519', 'id_user');
  keyPath = k.privatePath;
  keyLine = k.publicLine;
  caLine = keygen(o, dir, 'ed25519', 'user_ca').publicLine;
  keygen(o, dir, 'ed25519', 'other_ca');
  const hostKeys = [generateHostKey('ssh-ed25519')];
  server = createServer({
    hostKeys,
    auth: { failureDelayMs: 0 },
    authenticate: publicKeyAuthenticator({
      authorizedKeys: (name) => (name === user ? parseAuthorizedKeys(authorizedKeys).entries : []),
      trustedUserCaKeys: [parseOpenSshPublicKeyLine(caLine).blob],
      permitUserEnvironment: ['NACRE_*'],
      revokedKeys: (blob) => revoked?.(blob) ?? null,
    }),
    session: (s) => runAsCurrentUser(s),
    forwardLocal: () => true,
    forwardRemote: () => true,
  });
  port = (await server.listen(0, '127.0.0.1')).port;
  knownHosts = join(dir, 'known_hosts');
  writeFileSync(knownHosts, hostKeys.map((h) => formatKnownHostLine('127.0.0.1', port, h.publicBlob)).join('\n') + '\n');
});

after(async () => {
  if (!o) return;
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

function base(extra: string[] = [], certificate?: string): string[] {
  return [
    '-p', String(port),
    '-o', `UserKnownHostsFile=${knownHosts}`,
    '-o', 'StrictHostKeyChecking=yes',
    '-o', 'BatchMode=yes',
    '-o', 'IdentitiesOnly=yes',
    '-i', keyPath,
    '-o', `CertificateFile=${certificate ?? 'none'}`,
    ...extra,
  ];
}

/** Runs `ssh` with the user key under an authorized_keys line carrying `options`. */
async function sshWith(options: string, args: string[], command?: string): Promise<SshRun> {
  authorizedKeys = `${options ? options + ' ' : ''}${keyLine}\n`;
  return runSsh(o!, [...base(args), `${user}@127.0.0.1`, ...(command === undefined ? [] : [command])]);
}

const denied = (r: SshRun) => r.code === 255 && /Permission denied/.test(r.stderr);

test('command=: runs instead of what ssh asks; SSH_ORIGINAL_COMMAND holds the request', { skip }, async () => {
  const r = await sshWith('command="echo forced:$SSH_ORIGINAL_COMMAND"', [], 'ls -l /nonexistent');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'forced:ls -l /nonexistent\n');
  const shell = await sshWith('command="echo forced:${SSH_ORIGINAL_COMMAND-none}"', ['-T']);
  assert.equal(shell.stdout, 'forced:none\n');
});

test('from=: the peer address must match a pattern and no negated one', { skip }, async () => {
  assert.ok(denied(await sshWith('from="10.0.0.0/8"', [], 'true')));
  assert.ok(denied(await sshWith('from="127.0.0.0/8,!127.0.0.1"', [], 'true')));
  assert.equal((await sshWith('from="127.0.0.?"', [], 'echo in')).stdout, 'in\n');
  // the same line from another loopback address
  assert.equal((await sshWith('from="127.0.0.0/8,!127.0.0.1"', ['-b', '127.0.0.2'], 'echo from-2')).stdout, 'from-2\n');
});

const ptyWorks = loadPty() !== null || spawnSync('script', ['--version']).status === 0;

test('no-pty: ssh -tt gets no terminal; restrict,pty gets one', { skip: skip || (ptyWorks ? false : 'no PTY backend') }, async () => {
  // ssh gives up when a terminal it was told to get (-t) is refused, as against sshd
  const none = await sshWith('no-pty', ['-tt'], 'tty');
  assert.match(none.stderr, /PTY allocation request failed/);
  assert.doesNotMatch(none.stdout, /\/dev\/pts/);
  // without -t the command still runs
  assert.equal((await sshWith('no-pty', [], 'tty')).stdout, 'not a tty\n');
  const pty = await sshWith('restrict,pty', ['-tt'], 'tty');
  assert.match(pty.stdout, /^\/dev\/pts\/\d+/m, pty.stderr);
  const restricted = await sshWith('restrict', ['-tt'], 'tty');
  assert.match(restricted.stderr, /PTY allocation request failed/);
});

test('expiry-time=: a past time refuses, a future one lets in', { skip }, async () => {
  assert.ok(denied(await sshWith('expiry-time="20200101"', [], 'true')));
  assert.equal((await sshWith('expiry-time="20991231Z"', [], 'echo ok')).stdout, 'ok\n');
});

test('environment=: set for the program when the server permits the name', { skip }, async () => {
  const r = await sshWith('environment="NACRE_GREETING=hello",environment="OTHER_VAR=no"', [], 'echo ${NACRE_GREETING}-${OTHER_VAR-unset}');
  assert.equal(r.stdout, 'hello-unset\n');
});

/** `ssh -N` with one forward under an authorized_keys line; resolves with its stderr once `check` is done. */
async function withForward(options: string, forward: string[], waitPort: number | null, check: () => Promise<void>): Promise<string> {
  authorizedKeys = `${options ? options + ' ' : ''}${keyLine}\n`;
  const child = spawn(o!.ssh, ['-F', 'none', ...base(['-N', '-o', 'ExitOnForwardFailure=yes', '-v', ...forward]), `${user}@127.0.0.1`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((r) => child.once('close', () => r()));
  try {
    if (waitPort !== null) {
      await waitForPort(waitPort, 10_000, () => (child.exitCode !== null ? `ssh exited with ${child.exitCode}: ${stderr}` : null));
    }
    await check();
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
  return stderr;
}

/** Connects to a forward ssh will refuse, sends a little, and counts what comes back before the close (a reset included). */
function bytesBeforeClose(port: number): Promise<number> {
  return new Promise((resolve) => {
    let n = 0;
    const sock = netConnect(port, '127.0.0.1', () => sock.write('never arrives'));
    sock.on('data', (d: Buffer) => {
      // something answered: the forward went through; no need to wait longer
      n += d.length;
      sock.destroy();
    });
    sock.on('error', () => undefined);
    sock.on('close', () => resolve(n));
  });
}

test('permitopen=: ssh -L reaches the permitted target only; no-port-forwarding refuses all', { skip }, async () => {
  const allowed = await echoServer();
  const forbidden = await echoServer();
  try {
    const pa = await freePort();
    const pf = await freePort();
    const stderr = await withForward(`permitopen="127.0.0.1:${allowed.port}"`, ['-L', `${pa}:127.0.0.1:${allowed.port}`, '-L', `${pf}:127.0.0.1:${forbidden.port}`], pf, async () => {
      const payload = randomBytes(100_000);
      assert.ok((await roundTrip(netConnect(pa, '127.0.0.1'), payload)).equals(payload));
      assert.equal(await bytesBeforeClose(pf), 0);
    });
    assert.match(stderr, /administratively prohibited/);
    const p = await freePort();
    const stderr2 = await withForward('no-port-forwarding', ['-L', `${p}:127.0.0.1:${allowed.port}`], p, async () => {
      assert.equal(await bytesBeforeClose(p), 0);
    });
    assert.match(stderr2, /administratively prohibited/);
  } finally {
    await allowed.close();
    await forbidden.close();
  }
});

test('permitlisten=: ssh -R listens on the permitted port only', { skip }, async () => {
  const echo = await echoServer();
  try {
    const ok = await freePort();
    const other = await freePort();
    await withForward(`permitlisten="localhost:${ok}"`, ['-R', `${ok}:127.0.0.1:${echo.port}`], ok, async () => {
      const payload = randomBytes(50_000);
      assert.ok((await roundTrip(netConnect(ok, '127.0.0.1'), payload)).equals(payload));
    });
    authorizedKeys = `permitlisten="localhost:${ok}" ${keyLine}\n`;
    const r = await runSsh(o!, [...base(['-N', '-o', 'ExitOnForwardFailure=yes', '-R', `${other}:127.0.0.1:${echo.port}`]), `${user}@127.0.0.1`]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /remote port forwarding failed/);
  } finally {
    await echo.close();
  }
});

// ------------------------------------------------------------ certificates by ssh-keygen -s

/** Signs the user key with `ca` (a file in dir); returns the certificate's path. */
function certify(ca: string, args: string[]): string {
  const copy = join(dir, `cert-${randomBytes(4).toString('hex')}`);
  writeFileSync(copy + '.pub', keyLine + '\n');
  const r = spawnSync(o!.keygen, ['-q', '-s', join(dir, ca), '-I', 'test-id', ...args, copy + '.pub'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return copy + '-cert.pub';
}

async function sshCert(certificate: string, args: string[], command: string, authorized = ''): Promise<SshRun> {
  authorizedKeys = authorized;
  return runSsh(o!, [...base(args, certificate), `${user}@127.0.0.1`, command]);
}

test('certificates from ssh-keygen -s: accepted from a trusted CA; refused expired, not yet valid, another principal, untrusted CA', { skip }, async () => {
  const good = await sshCert(certify('user_ca', ['-n', user, '-V', '-5m:+1h']), [], 'echo cert-ok');
  assert.equal(good.stdout, 'cert-ok\n', good.stderr);
  assert.ok(denied(await sshCert(certify('user_ca', ['-n', user, '-V', '20200101:20200102']), [], 'true')), 'expired');
  assert.ok(denied(await sshCert(certify('user_ca', ['-n', user, '-V', '20990101:20991231']), [], 'true')), 'not yet valid');
  assert.ok(denied(await sshCert(certify('user_ca', ['-n', 'someone-else']), [], 'true')), 'another principal');
  assert.ok(denied(await sshCert(certify('other_ca', ['-n', user]), [], 'true')), 'untrusted CA');
  // the plain key alone is in no authorized_keys
  assert.ok(denied(await sshCert('none', [], 'true')));
  // an RSA certificate, which ssh signs as rsa-sha2-512-cert-v01@openssh.com
  const rsa = keygen(o!, dir, 'rsa', 'id_rsa_user', 2048);
  const r = spawnSync(o!.keygen, ['-q', '-s', join(dir, 'user_ca'), '-I', 'rsa-id', '-n', user, rsa.privatePath + '.pub'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  authorizedKeys = '';
  const args = base([], rsa.privatePath + '-cert.pub').map((a) => (a === keyPath ? rsa.privatePath : a));
  const viaRsa = await runSsh(o!, [...args, '-v', `${user}@127.0.0.1`, 'echo rsa-cert-ok']);
  assert.equal(viaRsa.stdout, 'rsa-cert-ok\n', viaRsa.stderr);
  assert.match(viaRsa.stderr, /rsa-sha2-512-cert-v01@openssh\.com|RSA-CERT/);
});

test('certificates: a cert-authority line with principals= lets in the principals it lists', { skip }, async () => {
  const line = `cert-authority,principals="ops,deploy" ${readFileSync(join(dir, 'other_ca.pub'), 'utf8').trim()}\n`;
  assert.equal((await sshCert(certify('other_ca', ['-n', 'deploy']), [], 'echo via-line', line)).stdout, 'via-line\n');
  assert.ok(denied(await sshCert(certify('other_ca', ['-n', user]), [], 'true', line)), 'the username is not among principals=');
});

test('certificates: force-command, source-address and a missing permit-pty are enforced', { skip: skip || (ptyWorks ? false : 'no PTY backend') }, async () => {
  const forced = await sshCert(certify('user_ca', ['-n', user, '-O', 'force-command=echo forced:$SSH_ORIGINAL_COMMAND']), [], 'whoami');
  assert.equal(forced.stdout, 'forced:whoami\n', forced.stderr);
  assert.ok(denied(await sshCert(certify('user_ca', ['-n', user, '-O', 'source-address=10.0.0.0/8']), [], 'true')));
  assert.equal((await sshCert(certify('user_ca', ['-n', user, '-O', 'source-address=127.0.0.1/32,::1']), [], 'echo src-ok')).stdout, 'src-ok\n');
  const noPty = await sshCert(certify('user_ca', ['-n', user, '-O', 'no-pty']), ['-tt'], 'tty');
  assert.match(noPty.stderr, /PTY allocation request failed/);
  assert.doesNotMatch(noPty.stdout, /\/dev\/pts/);
  const pty = await sshCert(certify('user_ca', ['-n', user]), ['-tt'], 'tty');
  assert.match(pty.stdout, /^\/dev\/pts\/\d+/m, pty.stderr);
});

test('RevokedKeys: a KRL from ssh-keygen -k refuses the certificate serial it lists; a key list refuses the key', { skip }, async () => {
  const kept = certify('user_ca', ['-n', user, '-z', '8']);
  const gone = certify('user_ca', ['-n', user, '-z', '7']);
  const spec = join(dir, 'krl.spec');
  writeFileSync(spec, 'serial: 7\n');
  const krl = join(dir, 'revoked.krl');
  const r = spawnSync(o!.keygen, ['-k', '-f', krl, '-s', join(dir, 'user_ca.pub'), spec], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  try {
    revoked = loadRevokedKeys(krl);
    assert.equal((await sshCert(kept, [], 'echo still-in')).stdout, 'still-in\n');
    assert.ok(denied(await sshCert(gone, [], 'true')), 'a revoked serial logs in');
    // sshd's other form: a file of public keys
    const list = join(dir, 'revoked.keys');
    writeFileSync(list, keyLine + '\n');
    revoked = loadRevokedKeys(list);
    assert.ok(denied(await sshWith('', [], 'true')), 'a revoked key logs in');
    assert.ok(denied(await sshCert(kept, [], 'true')), 'a certificate of a revoked key logs in');
  } finally {
    revoked = null;
  }
  assert.equal((await sshWith('', [], 'echo back')).stdout, 'back\n');
});
