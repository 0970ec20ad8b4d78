// A Writable's caller may reuse a chunk's buffer once the write's callback
// has run. createWriteStream calls back once the channel has taken the
// WRITE (not when the server answers), so the channel must not keep any of
// the caller's bytes past that: a 32 KiB chunk and its WRITE header make
// one full packet and a few bytes over, which the channel holds for the
// next packet.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sha256, startHostileSftpServer } from './sftp-harness.js';

test('createWriteStream: a buffer reused after each write callback is sent as it was at the write', { timeout: 60_000 }, async () => {
  const h = await startHostileSftpServer();
  try {
    const sftp = await (await h.connect()).sftp();
    const ws = sftp.createWriteStream('/reused');
    const buf = Buffer.alloc(32 * 1024);
    const expected: Buffer[] = [];
    for (let i = 0; i < 40; i++) {
      buf.fill(i + 1);
      expected.push(Buffer.from(buf));
      await new Promise<void>((resolve, reject) => ws.write(buf, (err) => (err ? reject(err) : resolve())));
    }
    await new Promise<void>((resolve, reject) => {
      ws.once('error', reject);
      ws.end(() => resolve());
    });
    const got = h.tree.readFile('/reused')!;
    const want = Buffer.concat(expected);
    assert.equal(got.length, want.length);
    assert.equal(sha256(got), sha256(want));
  } finally {
    await h.close();
  }
});
