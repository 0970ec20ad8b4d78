// The SFTP client's outbox: order kept across small (gathered) and large
// (uncopied) pieces, one channel write per burst of small ones, and
// afterSent waiting for what the channel holds back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Outbox } from '../../src/client/sftp/outbox.js';
import type { Channel } from '../../src/io/node/channel.js';

/** A channel whose sendData records pieces and holds back those the test says. */
function fakeChannel(holdLarge: boolean) {
  const writes: Uint8Array[] = [];
  const releases: (() => void)[] = [];
  const channel = {
    sendData(b: Uint8Array): Promise<void> | undefined {
      writes.push(b);
      if (holdLarge && b.length >= 16 * 1024) return new Promise<void>((r) => releases.push(r));
      return undefined;
    },
  };
  return { channel: channel as unknown as Channel, writes, releases };
}

const tick = () => new Promise<void>((r) => setImmediate(r));

test('small pieces of one burst go out as one write, in order, after the large piece before them', async () => {
  const f = fakeChannel(false);
  const box = new Outbox(f.channel);
  const large = new Uint8Array(20_000).fill(9);
  box.push(new Uint8Array([1, 2]));
  box.push(new Uint8Array([3]));
  box.push(large);
  box.push(new Uint8Array([4]));
  box.push(new Uint8Array([5, 6]));
  assert.equal(f.writes.length, 2, 'the gathered pieces before the large one, then the large one itself');
  assert.deepEqual([...f.writes[0]!], [1, 2, 3]);
  assert.equal(f.writes[1], large, 'a large piece is not copied');
  await tick();
  assert.equal(f.writes.length, 3);
  assert.deepEqual([...f.writes[2]!], [4, 5, 6]);
});

test('a burst larger than the gathering buffer is split in order', async () => {
  const f = fakeChannel(false);
  const box = new Outbox(f.channel);
  const all: number[] = [];
  for (let i = 0; i < 100; i++) {
    const piece = new Uint8Array(1000).fill(i);
    all.push(...piece);
    box.push(piece);
  }
  await tick();
  assert.ok(f.writes.length >= 4 && f.writes.length <= 5);
  assert.deepEqual(f.writes.flatMap((w) => [...w]), all);
});

test('pieces wait while the channel holds one back; afterSent fires once all before it are taken', async () => {
  const f = fakeChannel(true);
  const box = new Outbox(f.channel);
  const events: string[] = [];
  box.push(new Uint8Array(20_000));
  box.afterSent(() => events.push('first'));
  box.push(new Uint8Array(30_000));
  box.afterSent(() => events.push('second'));
  assert.equal(f.writes.length, 1, 'the second waits for the first');
  assert.deepEqual(events, []);
  f.releases.shift()!();
  await tick();
  assert.deepEqual(events, ['first']);
  assert.equal(f.writes.length, 2);
  f.releases.shift()!();
  await tick();
  assert.deepEqual(events, ['first', 'second']);
  let now = false;
  box.afterSent(() => (now = true));
  assert.ok(now, 'nothing held: at once');
});
