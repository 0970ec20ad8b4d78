// A program's output on a terminal reaches the client whole and byte for byte:
// the last line before it exits (node-pty's stream ends early on a hang-up,
// pty-drain.ts reads the rest), and bytes that are not UTF-8.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync, constants as fsConstants } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runAsCurrentUser } from '../../src/server/exec-handler.js';
import { drainBeforeClose, readRemaining } from '../../src/server/pty-drain.js';
import { startServer, passwordSecret } from './server-helpers.js';
import { ptySkipReason } from './pty-loader.js';

/** A FIFO opened read-write and non-blocking (as libuv leaves a terminal's master), with `data` written into it. */
function fifoWith(data: Buffer): { fd: number; done(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'nacre-drain-'));
  const path = join(dir, 'f');
  execFileSync('mkfifo', [path]);
  const fd = openSync(path, fsConstants.O_RDWR | fsConstants.O_NONBLOCK);
  if (data.length > 0) writeSync(fd, data);
  return {
    fd,
    done() {
      closeSync(fd);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

test('readRemaining reads what is there and stops at EAGAIN, within its limit', () => {
  const f = fifoWith(Buffer.from('last line\r\n'));
  try {
    assert.equal(Buffer.concat(readRemaining(f.fd)).toString(), 'last line\r\n');
    assert.deepEqual(readRemaining(f.fd), []);
    writeSync(f.fd, Buffer.alloc(5000, 1));
    assert.equal(Buffer.concat(readRemaining(f.fd, 1000)).length, 1000);
    assert.equal(Buffer.concat(readRemaining(f.fd)).length, 4000);
  } finally {
    f.done();
  }
  assert.deepEqual(readRemaining(-1), []);
});

test('drainBeforeClose hands over what is left once, as the stream is destroyed, then destroys it', () => {
  const f = fifoWith(Buffer.from('tail'));
  try {
    const calls: string[] = [];
    const socket = { destroy: (e?: Error) => calls.push(`destroy ${e?.message ?? ''}`) };
    const delivered: string[] = [];
    assert.equal(drainBeforeClose({ _socket: socket, fd: f.fd }, (b) => delivered.push(b.toString())), true);
    assert.deepEqual(delivered, []);
    socket.destroy(new Error('x'));
    writeSync(f.fd, Buffer.from('later'));
    socket.destroy();
    assert.deepEqual(delivered, ['tail']);
    assert.deepEqual(calls, ['destroy x', 'destroy ']);
  } finally {
    f.done();
  }
  // Without node-pty's internals: nothing is changed.
  assert.equal(drainBeforeClose({}, () => undefined), false);
  assert.equal(drainBeforeClose({ _socket: {}, fd: 3 }, () => undefined), false);
});

test('a program on a terminal: its last line always arrives, and bytes that are not UTF-8 arrive as written', { skip: ptySkipReason }, async () => {
  const t = await startServer({ authenticate: passwordSecret, session: (s) => runAsCurrentUser(s, { shell: '/bin/sh' }) });
  try {
    const c = await t.connect({ password: 'secret' });
    for (let i = 0; i < 20; i++) {
      const p = await c.spawn(`ls -l /proc/self/fd; printf 'end-\\377\\376-%d\\n' ${i}`, { pty: { term: 'xterm', cols: 80, rows: 24 } });
      const chunks: Buffer[] = [];
      p.stdout.on('data', (d: Buffer) => chunks.push(d));
      const exit = await p.exit;
      assert.equal(exit.code, 0);
      const out = Buffer.concat(chunks);
      assert.ok(out.includes(Buffer.from(`end-\xff\xfe-${i}\r\n`, 'latin1')), `round ${i}: ${JSON.stringify(out.toString('latin1'))}`);
    }
  } finally {
    await t.close();
  }
});
