// src/cli/ssh/control.ts: -O with ssh's messages and statuses, joining a
// master (stale sockets as ssh handles them), shared sessions' exit status,
// ControlMaster ask, and the settings read from a resolved config.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { listenControl } from '../../src/index.js';
import { runAsCurrentUser } from '../../src/server/exec-handler.js';
import { controlCommand, controlSettings, joinMaster, muxForward, runSharedSession, becomeMaster, type ControlSettings } from '../../src/cli/ssh/control.js';
import { CliExit } from '../../src/cli/common/exit.js';
import { Logger } from '../../src/cli/common/log.js';
import type { SshConfig } from '../../src/config/index.js';
import { startServer, passwordSecret } from './server-helpers.js';

const base = mkdtempSync(join(tmpdir(), 'nacre-cli-ctl-'));
after(() => rmSync(base, { recursive: true, force: true }));
let n = 0;
const newPath = () => {
  const d = join(base, `d${n++}`);
  mkdirSync(d, { mode: 0o700 });
  return join(d, 'ctl');
};
const quiet = new Logger(() => {}, 'quiet');
const settings = (path: string | null, master: ControlSettings['master'] = 'auto'): ControlSettings => ({ master, path, persist: false });

function io() {
  let out = '';
  let err = '';
  return { out: (t: string) => void (out += t), err: (t: string) => void (err += t), text: () => ({ out, err }) };
}

async function exitOf(p: Promise<unknown>): Promise<CliExit> {
  try {
    await p;
  } catch (err) {
    if (err instanceof CliExit) return err;
    throw err;
  }
  assert.fail('expected a CliExit');
}

/** A socket file nobody listens on: a listener killed with SIGKILL leaves it. */
async function staleSocket(path: string): Promise<void> {
  const p = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => console.log('up'))`], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((r) => p.stdout.once('data', r));
  p.kill('SIGKILL');
  await new Promise((r) => p.once('exit', r));
  assert.ok(existsSync(path));
}

async function withMaster<T>(fn: (path: string) => Promise<T>, confirm?: (q: string) => Promise<boolean>): Promise<T> {
  const t = await startServer({ authenticate: passwordSecret, session: (s) => runAsCurrentUser(s), forwardRemote: () => true });
  const client = await t.connect({ password: 'secret' });
  const path = newPath();
  const master = await listenControl(client, { path, ...(confirm ? { confirm } : {}) });
  try {
    return await fn(path);
  } finally {
    await master.close();
    await t.close();
  }
}

test('-O without a ControlPath, with a bad command, or with no master: ssh\'s messages, 255', async () => {
  let e = await exitOf(controlCommand('check', settings(null), [], io()));
  assert.deepEqual([e.code, e.message], [255, 'No ControlPath specified for "-O" command']);
  e = await exitOf(controlCommand('bogus', settings('/x'), [], io()));
  assert.deepEqual([e.code, e.message], [255, 'Invalid multiplex command.']);
  const path = newPath();
  e = await exitOf(controlCommand('check', settings(path), [], io()));
  assert.deepEqual([e.code, e.message], [255, `Control socket connect(${path}): No such file or directory`]);
});

test('-O check, forward (remote port 0 printed), cancel, stop, exit against a master', async () => {
  await withMaster(async (path) => {
    const a = io();
    assert.equal(await controlCommand('check', settings(path), [], a), 0);
    assert.equal(a.text().err, `Master running (pid=${process.pid})\r\n`);
    const spec = { type: 'remote', listen: { kind: 'tcp', host: '127.0.0.1', port: 0 }, connect: { kind: 'tcp', host: '127.0.0.1', port: 9 } } as const;
    const b = io();
    assert.equal(await controlCommand('forward', settings(path), [spec], b), 0);
    const port = Number(b.text().out.trim());
    assert.ok(port > 0, b.text().out);
    assert.equal(await controlCommand('cancel', settings(path), [{ ...spec, listen: { ...spec.listen, port } }], io()), 0);
    const c = await exitOf(controlCommand('cancel', settings(path), [{ ...spec, listen: { ...spec.listen, port } }], io()));
    assert.match(c.message, /^Master refused forwarding cancel request: port not forwarded/);
    const d = io();
    assert.equal(await controlCommand('stop', settings(path), [], d), 0);
    assert.equal(d.text().err, 'Stop listening request sent.\r\n');
  });
  await withMaster(async (path) => {
    const e = io();
    assert.equal(await controlCommand('exit', settings(path), [], e), 0);
    assert.equal(e.text().err, 'Exit request sent.\r\n');
  });
});

test('joinMaster: uses a live master (auto), never with ControlMaster yes; a stale socket is removed under auto only', async () => {
  await withMaster(async (path) => {
    const ctl = await joinMaster(settings(path, 'auto'), quiet);
    assert.ok(ctl);
    const out = new PassThrough();
    let text = '';
    out.on('data', (b) => (text += b));
    const status = await runSharedSession(ctl, { type: 'default', command: 'echo shared; exit 5', tty: false, env: {}, stdinNull: true }, { stdin: Readable.from([]), stdout: out, stderr: new PassThrough() });
    assert.equal(status, 5);
    assert.equal(text, 'shared\n');
    assert.equal(await joinMaster(settings(path, 'yes'), quiet), null);
    assert.equal(await joinMaster(settings(null, 'auto'), quiet), null);
  });
  const stale = newPath();
  await staleSocket(stale);
  assert.equal(await joinMaster(settings(stale, 'no'), quiet), null);
  assert.ok(existsSync(stale), 'ControlMaster no leaves it');
  assert.equal(await joinMaster(settings(stale, 'auto'), quiet), null);
  assert.ok(!existsSync(stale), 'ControlMaster auto removes a stale socket, to take its place');
});

test('a shared command holding an escaped byte (as raw-argv reads one) runs as its bytes through the master', async () => {
  await withMaster(async (path) => {
    const ctl = (await joinMaster(settings(path), quiet))!;
    const out = new PassThrough();
    const got: Buffer[] = [];
    out.on('data', (b: Buffer) => got.push(b));
    // printf's argument is the byte 0xff itself, not U+FFFD's three bytes.
    const status = await runSharedSession(ctl, { type: 'default', command: "printf %s 'x\uDCFF'", tty: false, env: {}, stdinNull: true }, { stdin: Readable.from([]), stdout: out, stderr: new PassThrough() });
    assert.equal(status, 0);
    assert.deepEqual([...Buffer.concat(got)], [0x78, 0xff]);
  });
});

test('a shared command killed by a signal gives 255, as ssh', async () => {
  await withMaster(async (path) => {
    const ctl = (await joinMaster(settings(path), quiet))!;
    const status = await runSharedSession(ctl, { type: 'default', command: 'kill -KILL $$', tty: false, env: {}, stdinNull: true }, { stdin: Readable.from([]), stdout: new PassThrough(), stderr: new PassThrough() });
    assert.equal(status, 255);
  });
});

test('ControlMaster ask: the question is asked, and a no refuses the shared session', async () => {
  const t = await startServer({ authenticate: passwordSecret, session: (s) => runAsCurrentUser(s) });
  try {
    const client = await t.connect({ password: 'secret' });
    const path = newPath();
    const questions: string[] = [];
    let answer = false;
    const m = await becomeMaster(client, settings(path, 'ask'), quiet, { confirm: async (q) => (questions.push(q), answer) });
    assert.ok(m);
    const run = async () => runSharedSession((await joinMaster(settings(path, 'auto'), quiet))!, { type: 'default', command: 'echo ok', tty: false, env: {}, stdinNull: true }, { stdin: Readable.from([]), stdout: new PassThrough(), stderr: new PassThrough() });
    const e = await exitOf(run());
    assert.match(e.message, /the master refused the session: Permission denied/);
    answer = true;
    assert.equal(await run(), 0);
    assert.deepEqual(questions, ['Allow shared connection?', 'Allow shared connection?']);
    await m.finish();
    assert.ok(!existsSync(path));
  } finally {
    await t.close();
  }
});

test('settings from a resolved config: ControlPath none, tokens through the expander, ControlPersist 0 is yes', () => {
  const cfg = (values: SshConfig['values']) => ({ values }) as SshConfig;
  assert.deepEqual(controlSettings(cfg({}), (v) => v), { master: 'no', path: null, persist: false });
  assert.deepEqual(controlSettings(cfg({ ControlPath: 'none', ControlMaster: 'auto' }), (v) => v), { master: 'auto', path: null, persist: false });
  assert.deepEqual(controlSettings(cfg({ ControlPath: '~/.ssh/%C', ControlPersist: 0 }), (v) => v.replace('%C', 'abc')), { master: 'no', path: '~/.ssh/abc', persist: true });
  assert.equal(controlSettings(cfg({ ControlPersist: 600 }), (v) => v).persist, 600);
});

test('forwarding specs as -O forward sends them (Unix socket paths as port -2)', () => {
  assert.deepEqual(muxForward({ type: 'local', listen: { kind: 'tcp', port: 8080 }, connect: { kind: 'tcp', host: 'db', port: 5432 } }), { kind: 'local', listenHost: '', listenPort: 8080, connectHost: 'db', connectPort: 5432 });
  assert.deepEqual(muxForward({ type: 'remote', listen: { kind: 'unix', path: '/r.sock' }, connect: { kind: 'unix', path: '/l.sock' } }), { kind: 'remote', listenHost: '/r.sock', listenPort: 0xfffffffe, connectHost: '/l.sock', connectPort: 0xfffffffe });
  assert.deepEqual(muxForward({ type: 'dynamic', listen: { kind: 'tcp', host: '*', port: 1080 } }), { kind: 'dynamic', listenHost: '*', listenPort: 1080, connectHost: '', connectPort: 0 });
  assert.deepEqual(muxForward({ type: 'remote-dynamic', listen: { kind: 'tcp', port: 1080 } }).kind, 'remote');
});

test("askpassConfirm: SSH_ASKPASS with SSH_ASKPASS_PROMPT=confirm; '' or yes allows, anything else or a failing program refuses", async () => {
  const dir = newPath().replace(/\/ctl$/, '');
  const { writeFileSync } = await import('node:fs');
  const prog = join(dir, 'askpass');
  writeFileSync(prog, '#!/bin/sh\necho "$1" >> "$0.log"; [ "$SSH_ASKPASS_PROMPT" = confirm ] || exit 1; cat "$0.answer"\n', { mode: 0o755 });
  const { askpassConfirm } = await import('../../src/cli/ssh/control.js');
  const ask = askpassConfirm({ SSH_ASKPASS: prog, PATH: process.env.PATH });
  const { readFileSync } = await import('node:fs');
  for (const [answer, allowed] of [['yes\n', true], ['\n', true], ['YES', true], ['no\n', false], ['sure\n', false]] as const) {
    writeFileSync(prog + '.answer', answer);
    assert.equal(await ask('Allow shared connection?'), allowed, JSON.stringify(answer));
  }
  assert.match(readFileSync(prog + '.log', 'utf8'), /^Allow shared connection\? $/m);
  assert.equal(await askpassConfirm({ SSH_ASKPASS: join(dir, 'missing') })('Allow?'), false);
});
