// NodeFileSystem's inline calls (node-fs-inline.ts): the gate closes for a
// back-off period after a slow call, longer each time; and a file's reads
// and writes give the same bytes inline as through the pool: sized to the
// size the open found, read on when the file grew, shrunk, or was written
// past its end through the handle.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NodeFileSystem } from '../../src/server/sftp/node-fs.js';
import { INLINE, InlineGate, SLOW_MS, VERY_SLOW_MS } from '../../src/server/sftp/node-fs-inline.js';
import type { OpenMode } from '../../src/sftp/filesystem.js';

function mode(m: Partial<OpenMode>): OpenMode {
  return { read: false, write: false, append: false, create: false, truncate: false, exclusive: false, ...m };
}

test('the inline gate: three slow calls within a second, or one very slow, close it for a second, then two; errors are timed too', () => {
  let now = 1000;
  const gate = new InlineGate(true, () => now);
  const slow = (ms: number) => gate.run(() => (now += ms));
  assert.equal(gate.open, true);
  assert.equal(gate.run(() => 7), 7);
  slow(SLOW_MS + 1);
  slow(SLOW_MS + 1);
  assert.equal(gate.open, true, 'two strikes leave it open (a preempted call now and then)');
  now += 1500;
  slow(SLOW_MS + 1);
  assert.equal(gate.open, true, 'the strikes of more than a second ago have lapsed');
  slow(SLOW_MS + 1);
  slow(SLOW_MS + 1);
  assert.equal(gate.slowCalls, 5);
  assert.equal(gate.open, false, 'three within a second close it');
  now += 999;
  assert.equal(gate.open, false);
  now += 1;
  assert.equal(gate.open, true, 'open again after the first back-off (1 s)');
  assert.throws(
    () =>
      gate.run(() => {
        now += VERY_SLOW_MS + 1;
        throw new Error('EIO');
      }),
    /EIO/,
  );
  assert.equal(gate.open, false, 'one very slow call closes it, one that throws too');
  now += 1999;
  assert.equal(gate.open, false, 'the second back-off is 2 s');
  now += 1;
  assert.equal(gate.open, true);
  now += 61_000;
  slow(VERY_SLOW_MS + 1);
  now += 1000;
  assert.equal(gate.open, true, 'after a quiet minute the back-off starts over at 1 s');
  assert.equal(gate.closings, 3);
  assert.equal(new InlineGate(false, () => now).open, false, 'a disabled gate never opens');
});

for (const inline of [true, false]) {
  test(`reads and writes of a regular file ${inline ? 'inline' : 'through the pool'}: sized by the open's fstat, read on past it`, async (t) => {
    const saved = INLINE.enabled;
    INLINE.enabled = inline;
    const dir = mkdtempSync(join(tmpdir(), 'nacre-sftp-inline-'));
    t.after(() => {
      INLINE.enabled = saved;
      rmSync(dir, { recursive: true, force: true });
    });
    const fs = new NodeFileSystem({ startDirectory: dir });
    const file = join(dir, 'f');
    const body = Buffer.alloc(4096, 7);
    writeFileSync(file, body);
    const h = await fs.open('f', mode({ read: true, write: true }), {});
    // sftp asks for 255 KiB: a 4 KiB file gives 4 KiB, then the end.
    assert.deepEqual(Buffer.from(await h.read(0, 261120)), body);
    assert.equal((await h.read(4096, 261120)).length, 0);
    // Grown by another writer: the next read past the old end finds it.
    appendFileSync(file, Buffer.alloc(100_000, 1));
    const grown = await h.read(4096, 261120);
    assert.equal(grown.length, 100_000);
    assert.ok(Buffer.from(grown).every((b) => b === 1));
    // Shrunk: reads inside the old size find the new end.
    truncateSync(file, 10);
    assert.equal((await h.read(0, 261120)).length, 10);
    assert.equal((await h.read(10, 100)).length, 0);
    // Written past the end through the handle (small writes, and one over the inline size).
    await h.write(20, Buffer.from('abc'));
    await h.write(23, Buffer.alloc(70_000, 9));
    // A WRITE's pieces, small and over the inline size, through writev.
    await h.writev!(30, [Buffer.from('xy'), Buffer.from('z')]);
    await h.writev!(40, [Buffer.alloc(40_000, 3), Buffer.alloc(40_000, 4)]);
    const all = await h.read(0, 1 << 20);
    assert.equal(all.length, 80_040);
    assert.deepEqual(Buffer.from(all.subarray(20, 23)), Buffer.from('abc'));
    assert.deepEqual(Buffer.from(all.subarray(30, 33)), Buffer.from('xyz'));
    assert.ok(all.subarray(40, 40_040).every((b) => b === 3) && all.subarray(40_040).every((b) => b === 4));
    await h.setstat({ size: 70_023 });
    assert.equal((await h.stat()).size, 70_023);
    await h.close();
    await assert.rejects(h.read(0, 10), { code: 'EBADF' });
    assert.equal(readFileSync(file).length, 70_023);
    await assert.rejects(fs.open('missing', mode({ read: true }), {}), { code: 'ENOENT' });
  });
}
