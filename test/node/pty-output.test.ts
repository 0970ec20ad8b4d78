// A program's output on a terminal reaches the client whole and byte for byte:
// the last line before it exits (node-pty's stream ends early on a hang-up,
// pty-drain.ts reads the rest), and bytes that are not UTF-8.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { Readable } from 'node:stream';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync, constants as fsConstants } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runAsCurrentUser } from '../../src/server/exec-handler.js';
import { drainBeforeClose, ptyIndex, readRemaining } from '../../src/server/pty-drain.js';
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
    assert.equal(drainBeforeClose({ _socket: socket, fd: f.fd }, (b) => delivered.push(b.toString()), () => true), true);
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

test('drainBeforeClose: what a paused stream holds comes first (as its data), then the descriptor; destroy happens even if delivering throws', () => {
  const f = fifoWith(Buffer.from('from-fd'));
  try {
    const stream = new Readable({ read: () => undefined });
    const order: string[] = [];
    stream.on('data', (d: Buffer) => order.push(`data ${d.toString()}`));
    stream.pause();
    stream.push(Buffer.from('held'));
    assert.equal(stream.readableLength, 4);
    drainBeforeClose({ _socket: stream, fd: f.fd }, (b) => order.push(`drain ${b.toString()}`), () => true);
    stream.destroy();
    assert.deepEqual(order, ['data held', 'drain from-fd']);
    assert.equal(stream.destroyed, true);
  } finally {
    f.done();
  }
  const g = fifoWith(Buffer.from('x'));
  try {
    let destroyed = 0;
    const socket = { destroy: () => destroyed++ };
    drainBeforeClose(
      { _socket: socket, fd: g.fd },
      () => {
        throw new Error('channel gone');
      },
      () => true,
    );
    assert.throws(() => socket.destroy(), /channel gone/);
    assert.equal(destroyed, 1);
  } finally {
    g.done();
  }
  // A stream destroyed already: its descriptor is not read (the number may be another file's by now).
  const h = fifoWith(Buffer.from('not ours'));
  try {
    let read = false;
    const socket = { destroyed: true, destroy: () => undefined };
    drainBeforeClose({ _socket: socket, fd: h.fd }, () => (read = true), () => true);
    socket.destroy();
    assert.equal(read, false);
    // Nor once what the stream held, handed out, led its listener to destroy it.
    const closing = new Readable({ read: () => undefined });
    closing.on('data', () => closing.destroy());
    closing.pause();
    closing.push(Buffer.from('held'));
    drainBeforeClose({ _socket: closing, fd: h.fd }, () => (read = true), () => true);
    closing.destroy();
    assert.equal(closing.destroyed, true);
    assert.equal(read, false);
    // Nor is a descriptor that is no terminal (here a FIFO) by default: the number may have been reused.
    const other = { destroy: () => undefined };
    drainBeforeClose({ _socket: other, fd: h.fd }, () => (read = true));
    other.destroy();
    assert.equal(read, false);
  } finally {
    h.done();
  }
});

test('node-pty: a terminal paused when its program exits loses none of its output', { skip: ptySkipReason }, async () => {
  const pty = createRequire(import.meta.url)('@lydell/node-pty') as {
    spawn(file: string, args: string[], o: { encoding: null }): { onData(cb: (d: Buffer) => void): void; onExit(cb: () => void): void; pause(): void; on(e: 'error', cb: () => void): void };
  };
  // 6000 bytes: more than one read of the master, less than what the terminal holds, so the program exits while we do not read.
  const n = 6000;
  const term = pty.spawn('/bin/sh', ['-c', `stty raw -echo; head -c ${n} /dev/zero | tr '\\0' x`], { encoding: null });
  term.on('error', () => undefined);
  let total = 0;
  drainBeforeClose(term, (b) => (total += b.length));
  term.onData((d) => {
    total += d.length;
    term.pause();
  });
  await new Promise<void>((resolve) => term.onExit(resolve));
  assert.equal(total, n);
});

test('ptyIndex tells two terminals apart (their device numbers do not), and is null for other files', { skip: ptySkipReason }, async () => {
  const pty = createRequire(import.meta.url)('@lydell/node-pty') as {
    spawn(file: string, args: string[], o: { encoding: null }): { fd: number; onExit(cb: () => void): void; kill(): void; on(e: 'error', cb: () => void): void };
  };
  const a = pty.spawn('/bin/sh', ['-c', 'sleep 5'], { encoding: null });
  const b = pty.spawn('/bin/sh', ['-c', 'sleep 5'], { encoding: null });
  for (const t of [a, b]) t.on('error', () => undefined);
  try {
    const [ia, ib] = [ptyIndex(a.fd), ptyIndex(b.fd)];
    if (process.platform === 'linux') {
      assert.match(ia ?? '', /^\d+$/);
      assert.match(ib ?? '', /^\d+$/);
      assert.notEqual(ia, ib);
    }
    const f = fifoWith(Buffer.alloc(0));
    assert.equal(ptyIndex(f.fd), null);
    f.done();
  } finally {
    for (const t of [a, b]) t.kill();
  }
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
