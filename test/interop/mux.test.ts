// Connection sharing against OpenSSH 10: a Nacre master connected to sshd,
// commands from other processes reusing it (sshd sees one TCP connection),
// OpenSSH's own `ssh -S sock -O check|forward|exit` talking to the Nacre
// master, and ControlPersist keeping a background master after the first
// command. Until the `nacre` bin runs the main flow, a small driver program
// plays it with src/cli/ssh/control.ts's functions, in the order the main
// flow calls them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, connect as netConnect, type Server } from 'node:net';
import { userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { findOpenSsh, freePort, keygen, runSsh, startSshd, tempDir, type Sshd } from './openssh.js';
import { connect, listenControl, type Client } from '../../src/index.js';

const openssh = findOpenSsh();
const skip = openssh ? false : 'OpenSSH not installed (run scripts/install-test-peers.sh)';
const user = userInfo().username;
const dist = resolve(dirname(new URL(import.meta.url).pathname), '../..');

let sshd: Sshd | undefined;
let keyPath = '';
let dir = '';
let echo: Server | undefined;
let echoPort = 0;

before(async () => {
  if (!openssh) return;
  dir = tempDir('mux');
  const k = keygen(openssh, dir, 'ed25519', 'id_ed25519');
  keyPath = k.privatePath;
  sshd = await startSshd(openssh, ['AllowTcpForwarding yes', 'MaxSessions 30'], { hostKeyTypes: ['ed25519'], authorizedKeys: k.publicLine + '\n' });
  echo = createServer((s) => s.pipe(s));
  await new Promise<void>((r) => echo!.listen(0, '127.0.0.1', r));
  echoPort = (echo.address() as { port: number }).port;
  writeFileSync(join(dir, 'driver.mjs'), DRIVER);
});

after(async () => {
  await sshd?.stop();
  echo?.close();
});

/**
 * SSH connections sshd accepted so far: one "Remote protocol version" line
 * each (the harness's port probe, which sends no version, is not counted).
 */
function acceptedConnections(): number {
  return (sshd!.log().match(/Remote protocol version 2\.0, remote software version/g) ?? []).length;
}

function privateDir(name: string): string {
  const d = join(dir, name);
  mkdirSync(d, { mode: 0o700 });
  return d;
}

async function nacreClient(): Promise<Client> {
  return connect({ host: '127.0.0.1', port: sshd!.port, username: user, privateKey: readFileSync(keyPath, 'utf8'), verifyHostKey: () => true });
}

// The nacre main flow's connection-sharing steps, with fixed settings:
// argv: sshd port, key, ControlPath, ControlPersist (no | seconds | yes), command...
const DRIVER = `
import { readFileSync } from 'node:fs';
import { connect } from ${JSON.stringify(join(dist, 'src/index.js'))};
import { joinMaster, startPersistentMaster, isPersistentMasterProcess, servePersistentMaster, becomeMaster, runSharedSession } from ${JSON.stringify(join(dist, 'src/cli/ssh/control.js'))};
import { Logger } from ${JSON.stringify(join(dist, 'src/cli/common/log.js'))};
import { CliExit } from ${JSON.stringify(join(dist, 'src/cli/common/exit.js'))};
const [port, key, path, persist, ...cmd] = process.argv.slice(2);
const settings = { master: 'auto', path, persist: persist === 'no' ? false : persist === 'yes' ? true : Number(persist) };
const log = new Logger((t) => process.stderr.write(t), 'info');
const plan = { type: 'default', command: cmd.join(' '), tty: false, env: {}, stdinNull: true };
const io = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr };
try {
  if (!isPersistentMasterProcess()) {
    const shared = (await joinMaster(settings, log)) ?? (await startPersistentMaster(settings, log));
    if (shared) {
      process.stderr.write('[shared]\\n');
      process.exitCode = await runSharedSession(shared, plan, io);
    }
  }
  if (process.exitCode === undefined) {
    const client = await connect({ host: '127.0.0.1', port: Number(port), username: ${JSON.stringify(user)}, privateKey: readFileSync(key, 'utf8'), verifyHostKey: () => true });
    if (isPersistentMasterProcess()) {
      process.exitCode = await servePersistentMaster(client, settings, log);
    } else {
      const master = await becomeMaster(client, settings, log);
      process.stderr.write('[direct]\\n');
      const r = await client.exec(plan.command);
      process.stdout.write(r.stdout);
      await master?.finish();
      await client.close();
      process.exitCode = r.code ?? 255;
    }
  }
} catch (err) {
  if (err instanceof CliExit) {
    if (err.message) process.stderr.write(err.message + '\\n');
    process.exitCode = err.code;
  } else throw err;
}
`;

function driver(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((res) => {
    const p = spawn(process.execPath, [join(dir, 'driver.mjs'), String(sshd!.port), keyPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (b) => (stdout += b));
    p.stderr.on('data', (b) => (stderr += b));
    p.on('close', (code) => res({ code, stdout, stderr }));
  });
}

test('a Nacre master: other processes reuse its one TCP connection; OpenSSH ssh -O check/forward/exit work against it', { skip, timeout: 60000 }, async () => {
  const ctlDir = privateDir('m1');
  const path = join(ctlDir, 'ctl');
  const before = acceptedConnections();
  const client = await nacreClient();
  const master = await listenControl(client, { path });
  try {
    assert.equal(statSync(ctlDir).mode & 0o777, 0o700);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    const first = await driver([path, 'no', 'echo second command; exit 7']);
    assert.equal(first.stdout, 'second command\n');
    assert.equal(first.code, 7);
    assert.match(first.stderr, /\[shared\]/);
    const again = await driver([path, 'no', 'echo third']);
    assert.equal(again.stdout, 'third\n');
    assert.equal(acceptedConnections() - before, 1, `sshd accepted one connection only:\n${sshd!.log()}`);

    const check = await runSsh(openssh!, ['-S', path, '-O', 'check', 'ignored-host']);
    assert.equal(check.code, 0, check.stderr);
    assert.equal(check.stderr, `Master running (pid=${process.pid})\r\n`);

    const fwdPort = await freePort();
    const fwd = await runSsh(openssh!, ['-S', path, '-O', 'forward', '-L', `${fwdPort}:127.0.0.1:${echoPort}`, 'ignored-host']);
    assert.equal(fwd.code, 0, fwd.stderr);
    const reply = await new Promise<string>((res, rej) => {
      const s = netConnect(fwdPort, '127.0.0.1', () => s.end('via ssh -O forward'));
      let t = '';
      s.on('data', (b) => (t += b));
      s.on('end', () => res(t));
      s.on('error', rej);
    });
    assert.equal(reply, 'via ssh -O forward');
    const cancel = await runSsh(openssh!, ['-S', path, '-O', 'cancel', '-L', `${fwdPort}:127.0.0.1:${echoPort}`, 'ignored-host']);
    assert.equal(cancel.code, 0, cancel.stderr);
    // A remote forwarding of port 0: ssh prints the port sshd allocated.
    const rfwd = await runSsh(openssh!, ['-S', path, '-O', 'forward', '-R', `0:127.0.0.1:${echoPort}`, 'ignored-host']);
    assert.equal(rfwd.code, 0, rfwd.stderr);
    const rport = Number(rfwd.stdout.trim());
    assert.ok(rport > 0, `ssh printed the allocated port: ${JSON.stringify(rfwd)}`);
    const back = await new Promise<string>((res, rej) => {
      const s = netConnect(rport, '127.0.0.1', () => s.end('via sshd and the master'));
      let t = '';
      s.on('data', (b) => (t += b));
      s.on('end', () => res(t));
      s.on('error', rej);
    });
    assert.equal(back, 'via sshd and the master');

    // OpenSSH's passenger session needs descriptor passing: the master refuses
    // it and ssh falls back to a connection of its own.
    const own = await runSsh(openssh!, ['-S', path, '-o', 'ControlMaster=no', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=error', '-i', keyPath, '-p', String(sshd!.port), '127.0.0.1', 'echo fallback']);
    assert.equal(own.stdout, 'fallback\n', own.stderr);
    assert.equal(acceptedConnections() - before, 2);

    const exit = await runSsh(openssh!, ['-S', path, '-O', 'exit', 'ignored-host']);
    assert.equal(exit.code, 0, exit.stderr);
    assert.equal(exit.stderr, 'Exit request sent.\r\n');
    assert.equal(await client.closed, null);
    assert.ok(!existsSync(path));
    const none = await runSsh(openssh!, ['-S', path, '-O', 'check', 'ignored-host']);
    assert.equal(none.code, 255);
    assert.match(none.stderr, /Control socket connect\(.*\): No such file or directory/);
  } finally {
    await master.close();
    await client.close();
  }
});

test('ControlPersist: the first command leaves a background master that the next command reuses; -O exit ends it', { skip, timeout: 60000 }, async () => {
  const path = join(privateDir('p1'), 'ctl');
  const before = acceptedConnections();
  const first = await driver([path, 'yes', 'echo first']);
  assert.equal(first.code, 0, first.stderr);
  assert.equal(first.stdout, 'first\n');
  assert.ok(existsSync(path), 'the master stayed after the first command');
  assert.equal(statSync(path).mode & 0o777, 0o600);
  const check = await runSsh(openssh!, ['-S', path, '-O', 'check', 'x']);
  assert.equal(check.code, 0, check.stderr);
  const pid = Number(/pid=(\d+)/.exec(check.stderr)?.[1]);
  assert.ok(pid > 0 && pid !== process.pid);
  const second = await driver([path, 'yes', 'echo second']);
  assert.equal(second.stdout, 'second\n');
  assert.match(second.stderr, /\[shared\]/);
  assert.equal(acceptedConnections() - before, 1, 'both commands used one connection');
  const exit = await runSsh(openssh!, ['-S', path, '-O', 'exit', 'x']);
  assert.equal(exit.code, 0);
  for (let i = 0; i < 50 && existsSync(path); i++) await new Promise((r) => setTimeout(r, 50));
  assert.ok(!existsSync(path));
  await waitGone(pid);
});

test('ControlPersist with a time: the master leaves once idle that long', { skip, timeout: 60000 }, async () => {
  const path = join(privateDir('p2'), 'ctl');
  const first = await driver([path, '1', 'echo once']);
  assert.equal(first.stdout, 'once\n');
  const check = await runSsh(openssh!, ['-S', path, '-O', 'check', 'x']);
  const pid = Number(/pid=(\d+)/.exec(check.stderr)?.[1]);
  assert.ok(pid > 0);
  await waitGone(pid, 5000);
  assert.ok(!existsSync(path), 'the socket went with the master');
});

async function waitGone(pid: number, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    if (Date.now() > until) {
      process.kill(pid, 'SIGKILL');
      assert.fail(`master ${pid} still running after ${ms} ms`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}



test("nacre's -O against OpenSSH's own master: ssh's messages; sessions go direct (that master wants descriptors)", { skip, timeout: 60000 }, async () => {
  const { controlCommand, joinMaster } = await import('../../src/cli/ssh/control.js');
  const { Logger } = await import('../../src/cli/common/log.js');
  const path = join(privateDir('o1'), 'ctl');
  const common = ['-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=error', '-i', keyPath, '-p', String(sshd!.port)];
  // ssh -f keeps the pipes it was given: wait for the foreground's exit only.
  const code = await new Promise<number | null>((res) => {
    const p = spawn(openssh!.ssh, ['-F', 'none', '-M', '-S', path, '-f', '-N', ...common, '127.0.0.1'], { stdio: 'ignore' });
    p.on('exit', res);
  });
  assert.equal(code, 0);
  const settings = { master: 'auto', path, persist: false } as const;
  const capture = () => {
    let out = '';
    let err = '';
    return { out: (t: string) => void (out += t), err: (t: string) => void (err += t), get: () => ({ out, err }) };
  };
  try {
    const ours = capture();
    assert.equal(await controlCommand('check', settings, [], ours), 0);
    const theirs = await runSsh(openssh!, ['-S', path, '-O', 'check', 'x']);
    assert.equal(ours.get().err, theirs.stderr);
    const port = await freePort();
    const spec = { type: 'local', listen: { kind: 'tcp', port }, connect: { kind: 'tcp', host: '127.0.0.1', port: echoPort } } as const;
    assert.equal(await controlCommand('forward', settings, [spec], capture()), 0);
    const reply = await new Promise<string>((res, rej) => {
      const s = netConnect(port, '127.0.0.1', () => s.end('through OpenSSH'));
      let t = '';
      s.on('data', (b) => (t += b));
      s.on('end', () => res(t));
      s.on('error', rej);
    });
    assert.equal(reply, 'through OpenSSH');
    assert.equal(await controlCommand('cancel', settings, [spec], capture()), 0);
    assert.equal(await joinMaster(settings, new Logger(() => {}, 'quiet')), null, 'no sessions through an OpenSSH master');
  } finally {
    const bye = capture();
    const code = await controlCommand('exit', settings, [], bye).catch(() => 255);
    assert.equal(code, 0);
    assert.equal(bye.get().err, 'Exit request sent.\r\n');
  }
});

test('a master killed outright leaves a stale socket; the next ControlMaster=auto command removes it and becomes the master', { skip, timeout: 60000 }, async () => {
  const path = join(privateDir('p3'), 'ctl');
  assert.equal((await driver([path, 'yes', 'echo one'])).stdout, 'one\n');
  const pid = Number(/pid=(\d+)/.exec((await runSsh(openssh!, ['-S', path, '-O', 'check', 'x'])).stderr)?.[1]);
  process.kill(pid, 'SIGKILL');
  await waitGone(pid);
  assert.ok(existsSync(path), 'the killed master left its socket');
  const again = await driver([path, 'yes', 'echo two']);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(again.stdout, 'two\n');
  const check = await runSsh(openssh!, ['-S', path, '-O', 'check', 'x']);
  const pid2 = Number(/pid=(\d+)/.exec(check.stderr)?.[1]);
  assert.ok(pid2 > 0 && pid2 !== pid, check.stderr);
  await runSsh(openssh!, ['-S', path, '-O', 'exit', 'x']);
  await waitGone(pid2);
});
