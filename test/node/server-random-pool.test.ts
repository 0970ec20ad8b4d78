// The server's pooled random source (src/server/random-pool.ts): every draw
// is a fresh copy of the length asked, no two draws share bytes, draws across
// a refill and above the pooled size work, and byte values look uniform.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pooledRandom } from '../../src/server/random-pool.js';

test('pooled random: fresh copies, no repeats across refills, large draws', () => {
  const random = pooledRandom();
  const seen = new Set<string>();
  const counts = new Array<number>(256).fill(0);
  for (let i = 0; i < 2000; i++) {
    const n = [1, 4, 16, 32, 33, 64, 256][i % 7]!;
    const b = random(n);
    assert.equal(b.length, n);
    assert.ok(b instanceof Uint8Array);
    for (const x of b) counts[x]!++;
    if (n >= 16) {
      const hex = Buffer.from(b).toString('hex');
      assert.ok(!seen.has(hex), 'a draw repeated');
      seen.add(hex);
    }
  }
  // A caller may keep and change what it got without touching later draws.
  const a = random(32);
  a.fill(0);
  assert.notDeepEqual(random(32), a);
  assert.equal(random(4096).length, 4096);
  assert.equal(random(0).length, 0);
  // ~125,000 bytes over 256 values: each near 490; a stuck pool would show.
  const total = counts.reduce((x, y) => x + y, 0);
  for (const c of counts) assert.ok(Math.abs(c - total / 256) < total / 256 / 2, `byte count ${c} of ${total}`);
});
