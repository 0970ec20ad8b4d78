// The transfers' local file calls: synchronous while quick, through the
// thread pool after a few slow ones; and the writer gathering a turn's
// pieces into one write when calls are synchronous.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalIo, SLOW_CALL_MS, SLOW_CALLS } from '../../src/client/sftp/local-io.js';
import { LocalWriter } from '../../src/client/sftp/local-writer.js';

function scratch(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'sftp-local-io-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

test('LocalIo stays synchronous through quick calls and a few slow ones, then goes to the thread pool', async () => {
  const s = scratch();
  try {
    const path = join(s.dir, 'f');
    writeFileSync(path, 'x');
    let t = 0;
    let slow = false;
    // Each call's two clock readings are SLOW_CALL_MS + 1 apart when `slow`.
    const io = new LocalIo(true, () => (slow ? (t += SLOW_CALL_MS + 1) : t));
    for (let i = 0; i < 100; i++) await io.lstat(path);
    assert.equal(io.synchronous, true);
    slow = true;
    for (let i = 1; i < SLOW_CALLS; i++) {
      await io.lstat(path);
      assert.equal(io.synchronous, true, `still synchronous after ${i} slow calls`);
    }
    await io.lstat(path);
    assert.equal(io.synchronous, false);
    // Errors come the same way either way.
    await assert.rejects(io.lstat(join(s.dir, 'missing')), (e: NodeJS.ErrnoException) => e.code === 'ENOENT');
    await assert.rejects(new LocalIo().lstat(join(s.dir, 'missing')), (e: NodeJS.ErrnoException) => e.code === 'ENOENT');
  } finally {
    s.cleanup();
  }
});

test('LocalIo.read answers before returning when synchronous, after when not, with the same bytes', async () => {
  const s = scratch();
  try {
    const path = join(s.dir, 'f');
    writeFileSync(path, 'hello world');
    const fd = openSync(path, 'r');
    try {
      for (const sync of [true, false]) {
        const io = new LocalIo(sync);
        const buf = Buffer.alloc(16);
        let answered = false;
        const got = new Promise<number>((resolve, reject) =>
          io.read(fd, buf, 0, 16, 6, (err, n) => {
            answered = true;
            if (err) reject(err);
            else resolve(n);
          }),
        );
        assert.equal(answered, sync);
        assert.equal(await got, 5);
        assert.equal(buf.subarray(0, 5).toString(), 'world');
      }
      // A failing read (a directory) is an error through the callback, not a throw.
      const dirFd = openSync(s.dir, 'r');
      try {
        for (const sync of [true, false]) {
          const err = await new Promise<NodeJS.ErrnoException | null>((r) => new LocalIo(sync).read(dirFd, Buffer.alloc(1), 0, 1, 0, (e) => r(e)));
          assert.equal(err?.code, 'EISDIR');
        }
      } finally {
        closeSync(dirFd);
      }
    } finally {
      closeSync(fd);
    }
  } finally {
    s.cleanup();
  }
});

test('LocalWriter with synchronous calls writes the pieces of one turn together, at its end', async () => {
  const s = scratch();
  try {
    const path = join(s.dir, 'f');
    const fd = openSync(path, 'w');
    try {
      const w = new LocalWriter(fd, 0, false, new LocalIo(true));
      const writes: number[] = [];
      w.onWritten = (n) => writes.push(n);
      w.add(Buffer.from('abc'));
      w.add(Buffer.from('def'));
      assert.equal(readFileSync(path, 'utf8'), '', 'nothing written before the turn ends');
      await w.idle();
      assert.deepEqual(writes, [6]);
      w.add(Buffer.from('ghi'));
      await w.idle();
      assert.equal(readFileSync(path, 'utf8'), 'abcdefghi');
      assert.equal(w.backlog, 0);
    } finally {
      closeSync(fd);
    }
  } finally {
    s.cleanup();
  }
});

test('LocalWriter with synchronous calls reports a failed write once', async () => {
  const s = scratch();
  try {
    const path = join(s.dir, 'f');
    writeFileSync(path, '');
    const fd = openSync(path, 'r'); // not open for writing: EBADF
    try {
      const w = new LocalWriter(fd, 0, false, new LocalIo(true));
      const errors: Error[] = [];
      w.onError = (e) => errors.push(e);
      w.add(new Uint8Array(10));
      w.add(new Uint8Array(10));
      await assert.rejects(w.idle(), (e: NodeJS.ErrnoException) => e.code === 'EBADF');
      assert.equal(errors.length, 1);
    } finally {
      closeSync(fd);
    }
  } finally {
    s.cleanup();
  }
});
