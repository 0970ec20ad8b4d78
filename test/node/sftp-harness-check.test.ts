// The harnesses themselves: the hostile server speaks SFTP (short reads and
// shuffled replies included) to the raw client, so a failure in
// sftp-failures.test.ts is the code under test's, not the harness's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FXF } from '../../src/sftp/constants.js';
import { patterned, startHostileSftpServer } from './sftp-harness.js';
import { rawSftp } from './sftp-harness-flood.js';

test('hostile harness: short reads and shuffled replies, each request answered once', async () => {
  const h = await startHostileSftpServer(() => ({ shortRead: (_o, len) => len / 3, reorder: 8 }));
  try {
    const data = patterned(100_000);
    h.tree.writeFile('/f', data);
    const c = await h.connect();
    const raw = await rawSftp(c);
    assert.ok(raw.extensions.has('limits@openssh.com'));
    raw.send({ type: 'open', id: 1, path: '/f', pflags: FXF.READ, attrs: {} });
    const opened = await raw.next();
    assert.equal(opened?.type, 'handle');
    const handle = (opened as { handle: Uint8Array }).handle;
    for (let i = 0; i < 20; i++) raw.send({ type: 'read', id: 100 + i, handle, offset: i * 4096, length: 4096 });
    const seen = new Map<number, number>();
    const order: number[] = [];
    for (let i = 0; i < 20; i++) {
      const r = await raw.next();
      assert.equal(r?.type, 'data');
      const d = r as { id: number; data: Uint8Array };
      order.push(d.id);
      seen.set(d.id, d.data.length);
      const off = (d.id - 100) * 4096;
      assert.deepEqual(Buffer.from(d.data), data.subarray(off, off + d.data.length));
    }
    assert.equal(seen.size, 20);
    assert.ok([...seen.values()].every((n) => n < 4096), 'every read was short');
    assert.notDeepEqual(order, [...order].sort((a, b) => a - b), 'replies came out of order');
    assert.ok(h.stats.reordered > 0);
    raw.close();
  } finally {
    await h.close();
  }
});

test('hostile harness: the connection is cut after N bytes', async () => {
  const h = await startHostileSftpServer(() => ({ dropAfterBytes: 10_000 }));
  try {
    h.tree.writeFile('/f', patterned(50_000));
    const c = await h.connect();
    const raw = await rawSftp(c);
    raw.send({ type: 'open', id: 1, path: '/f', pflags: FXF.READ, attrs: {} });
    const handle = ((await raw.next()) as { handle: Uint8Array }).handle;
    for (let i = 0; i < 10; i++) raw.send({ type: 'read', id: 10 + i, handle, offset: i * 4096, length: 4096 });
    let got = 0;
    for (;;) {
      const r = await raw.next().catch(() => null);
      if (r === null) break;
      got++;
    }
    assert.ok(got <= 2, `at most the two replies before the cut, got ${got}`);
    assert.equal(h.stats.drops, 1);
  } finally {
    await h.close();
  }
});
