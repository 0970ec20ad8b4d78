// The session relays without a terminal, against OpenSSH 10's sshd, through
// the same entry the tmux tests use: standard input to the command with EOF
// at its end, -n (nothing read, EOF at once), stdout and stderr kept apart,
// exit statuses (a signal is 255), megabytes both ways with backpressure,
// and a forced PTY (-tt) on piped input, where escapes still work.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findOpenSsh, type Sshd } from './openssh.js';
import { startKeyedSshd, type KeyedSshd } from './nacre-run.js';
import type { EntryConfig } from './term-session-entry.js';

const o = findOpenSsh();
const skip = o ? false : 'OpenSSH is not installed (see scripts/install-test-peers.sh)';
const ENTRY = join(dirname(fileURLToPath(import.meta.url)), 'term-session-entry.js');

let dir = '';
let key = '';
let sshd: Sshd;
let peer: KeyedSshd | undefined;
before(async () => {
  if (skip) return;
  peer = await startKeyedSshd(o!, 'session');
  ({ dir, key, sshd } = peer);
});
after(async () => {
  if (skip) return;
  await peer?.stop();
});

interface Run {
  readonly code: number | null;
  readonly stdout: Buffer;
  readonly stderr: string;
}

let counter = 0;
/** Runs the entry with `config`; `input` is written to its stdin, which is ended unless `keepOpen`. */
function run(config: Omit<EntryConfig, 'port' | 'key'>, input: Buffer | string = '', keepOpen = false): Promise<Run> {
  const file = join(dir, `config-${++counter}.json`);
  writeFileSync(file, JSON.stringify({ port: sshd.port, key, ...config }));
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [ENTRY, file], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out), stderr });
    });
    child.stdin.on('error', () => undefined);
    if (keepOpen) child.stdin.write(input);
    else child.stdin.end(input);
  });
}

test('stdin goes to the command and its EOF ends it; stdout and stderr stay apart; the exit status comes back', { skip }, async () => {
  const r = await run({ pty: false, command: 'cat; echo to-stderr >&2; exit 7' }, 'line one\nline two\n');
  assert.equal(r.stdout.toString(), 'line one\nline two\n');
  assert.equal(r.stderr, 'to-stderr\n');
  assert.equal(r.code, 7);
});

test('-n: standard input is not read and the command sees EOF at once', { skip }, async () => {
  // stdin stays open: without -n this would wait forever.
  const r = await run({ pty: false, command: 'wc -c', stdinNull: true }, 'never read', true);
  assert.equal(r.stdout.toString().trim(), '0');
  assert.equal(r.code, 0);
});

test('a command killed by a signal gives 255, as ssh', { skip }, async () => {
  const r = await run({ pty: false, command: 'kill -TERM $$' });
  assert.equal(r.code, 255);
});

test('our stdout closing (nacre host yes | head -1) ends the session instead of hanging or crashing', { skip }, async () => {
  const file = join(dir, 'config-epipe.json');
  writeFileSync(file, JSON.stringify({ port: sshd.port, key, pty: false, command: 'yes' }));
  const child = spawn(process.execPath, [ENTRY, file], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout.once('data', () => child.stdout.destroy());
  child.stdin.end();
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  // The remote `yes` dies of SIGPIPE once its channel is closed: 255, as ssh.
  assert.equal(code, 255, stderr);
  assert.doesNotMatch(stderr, /Error|EPIPE/);
});

test('8 MiB through cat and back, unchanged (backpressure both ways)', { skip }, async () => {
  const data = randomBytes(8 * 1024 * 1024);
  const r = await run({ pty: false, command: 'cat' }, data);
  assert.equal(r.code, 0);
  assert.equal(r.stdout.length, data.length);
  assert.equal(createHash('sha256').update(r.stdout).digest('hex'), createHash('sha256').update(data).digest('hex'));
});

test('a forced PTY on piped input (-tt): the remote side has a terminal, and ~. still disconnects', { skip }, async () => {
  const file = join(dir, 'config-tt.json');
  writeFileSync(file, JSON.stringify({ port: sshd.port, key, pty: true, command: 'tty; cat' }));
  const child = spawn(process.execPath, [ENTRY, file], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  // Once the remote side echoed a line, `~.` at the start of the next one disconnects.
  let typed = false;
  await new Promise<void>((resolve) => {
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (!typed && /\/dev\/pts\/\d+\r\n/.test(stdout)) {
        typed = true;
        child.stdin.write('hello\n');
      }
      if (stdout.includes('hello')) resolve();
    });
  });
  child.stdin.write('~.');
  assert.equal(await exited, 255);
  assert.match(stdout, /^\/dev\/pts\/\d+\r\nhello\r\n/);
  assert.match(stderr, /~\.\r\n/);
  assert.match(stderr, /Connection to 127\.0\.0\.1 closed\.\r\n$/);
});

test('EscapeChar none: ~. is plain data', { skip }, async () => {
  const r = await run({ pty: true, command: 'head -c 3; echo; exit 4', escapeChar: null }, '~.\n', true);
  assert.equal(r.code, 4);
  assert.match(r.stdout.toString(), /~\./);
});

test('without a PTY, escapes are off (as ssh): ~. reaches the command', { skip }, async () => {
  const r = await run({ pty: false, command: 'cat' }, 'a\n~.\n');
  assert.equal(r.stdout.toString(), 'a\n~.\n');
  assert.equal(r.code, 0);
});
