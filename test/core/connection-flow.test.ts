// Connection layer: windows, max packet, extended data, and bad input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writer } from '../../src/wire/writer.js';
import { MSG_CONNECTION as M, ChannelData, ChannelExtendedData, ChannelWindowAdjust } from '../../src/messages/connection.js';
import { ConnPair, openPair, bytes, concatAll } from './connection-helpers.js';

const MiB = 1024 * 1024;

function dataMsg(recipient: number, n: number): Uint8Array {
  return ChannelData.encode({ recipientChannel: recipient, data: bytes(n) });
}

test('a reader that never consumes stops the writer at the window; consuming re-opens it', () => {
  const pair = new ConnPair();
  const { a, b } = pair;
  const { mine, theirs } = openPair(pair);
  const payload = bytes(3 * MiB, 7);
  let sent = 0;
  // The writer keeps trying; the reader never calls consumed().
  for (let i = 0; i < 10; i++) {
    sent += a.conn.write(mine, payload.subarray(sent));
    pair.pump();
  }
  assert.equal(sent, 2 * MiB);
  assert.equal(a.conn.write(mine, payload.subarray(sent)), 0);
  assert.equal(a.conn.windowOf(mine), 0);
  const received = b.of('channel-data');
  const got = received.reduce((n, e) => n + e.data.length, 0);
  assert.equal(got, 2 * MiB, 'the reader holds no more than the window');
  assert.equal(b.conn.channelInfo(theirs)?.unconsumed, 2 * MiB);
  assert.equal(b.conn.channelInfo(theirs)?.localWindow, 0);
  assert.ok(received.every((e) => e.data.length <= 32 * 1024));
  assert.equal(a.of('channel-writable').length, 0);

  // Consuming less than half the window sends nothing.
  b.conn.consumed(theirs, MiB - 1);
  assert.equal(b.outbox.length, 0);
  b.conn.consumed(theirs, 1);
  assert.deepEqual(b.outbox.map((p) => p[0]), [M.CHANNEL_WINDOW_ADJUST]);
  assert.equal(ChannelWindowAdjust.decode(b.outbox[0]!).bytes, MiB);
  pair.pump();
  assert.deepEqual(a.of('channel-writable'), [{ type: 'channel-writable', channel: mine, window: MiB }]);
  assert.equal(b.conn.channelInfo(theirs)?.localWindow, MiB);

  // Now a consuming reader: everything arrives intact.
  pair.onEvent = (side, e) => {
    if (side === b && e.type === 'channel-data') side.conn.consumed(e.channel, e.data.length);
  };
  b.conn.consumed(theirs, MiB); // the rest of what it held
  pair.pump();
  while (sent < payload.length) {
    const n = a.conn.write(mine, payload.subarray(sent));
    sent += n;
    pair.pump();
    if (n === 0) assert.fail('writer stalled with a consuming reader');
  }
  const all = concatAll(b.of('channel-data').map((e) => e.data));
  assert.deepEqual(all, payload);
  // consumed() beyond what was received is clamped, never over-granting.
  b.conn.consumed(theirs, 10 * MiB);
  const info = b.conn.channelInfo(theirs)!;
  assert.ok(info.localWindow <= 2 * MiB);
  assert.equal(info.unconsumed, 0);
});

test('writes are split into messages of at most the peer’s max packet', () => {
  const pair = new ConnPair();
  const { mine } = openPair(pair, pair.a, { maxPacket: 1024 });
  assert.equal(pair.a.conn.channelInfo(mine)?.remoteMaxPacket, 1024);
  pair.a.outbox.length = 0;
  assert.equal(pair.a.conn.write(mine, bytes(4500)), 4500);
  assert.deepEqual(pair.a.outbox.map((p) => ChannelData.decode(p).data.length), [1024, 1024, 1024, 1024, 404]);
  pair.pump();
  const got = pair.b.of('channel-data');
  assert.equal(got.length, 5);
  assert.deepEqual(concatAll(got.map((e) => e.data)), bytes(4500));
});

test('a small window limits one write exactly', () => {
  const pair = new ConnPair();
  const { mine } = openPair(pair, pair.a, { windowSize: 2500, maxPacket: 1024 });
  pair.a.outbox.length = 0;
  assert.equal(pair.a.conn.write(mine, bytes(4000), 1), 2500);
  assert.deepEqual(pair.a.outbox.map((p) => ChannelExtendedData.decode(p).data.length), [1024, 1024, 452]);
  assert.equal(pair.a.conn.write(mine, bytes(1)), 0);
});

test('extended data (stderr) arrives with its data type', () => {
  const pair = new ConnPair();
  const { mine, theirs } = openPair(pair);
  pair.b.conn.write(theirs, new TextEncoder().encode('oops'), 1);
  pair.b.conn.write(theirs, new TextEncoder().encode('fine'));
  pair.pump();
  const [err, out] = pair.a.of('channel-data');
  assert.deepEqual(err, { type: 'channel-data', channel: mine, data: new TextEncoder().encode('oops'), dataType: 1 });
  assert.equal(out?.dataType, undefined);
  assert.ok(!('dataType' in out!));
  // Extended data counts against the same window.
  assert.equal(pair.a.conn.channelInfo(mine)?.localWindow, 2 * MiB - 8);
});

test('a peer that sends beyond the window is a ProtocolError', () => {
  const pair = new ConnPair();
  const { mine, theirs } = openPair(pair, pair.a, {}, { windowSize: 1000, maxPacket: 1024 });
  // a advertised a 1000-byte window; b's side is honest, so forge the peer's messages.
  assert.equal(pair.b.conn.windowOf(theirs), 1000);
  pair.a.conn.handle(dataMsg(mine, 600));
  assert.throws(() => pair.a.conn.handle(dataMsg(mine, 401)), { name: 'ProtocolError', message: /window/ });
  const fresh = new ConnPair();
  const o = openPair(fresh, fresh.a, {}, { windowSize: 1000 });
  fresh.a.conn.handle(ChannelExtendedData.encode({ recipientChannel: o.mine, dataType: 1, data: bytes(1000) }));
  assert.throws(() => fresh.a.conn.handle(ChannelExtendedData.encode({ recipientChannel: o.mine, dataType: 1, data: bytes(1) })), {
    name: 'ProtocolError',
  });
});

test('a packet larger than our max packet is a ProtocolError', () => {
  const pair = new ConnPair({ maxPacket: 1024 });
  const { mine } = openPair(pair);
  pair.a.conn.handle(dataMsg(mine, 1024));
  assert.throws(() => pair.a.conn.handle(dataMsg(mine, 1025)), { name: 'ProtocolError', message: /max packet/ });
});

test('window adjust past 2^32-1 is a ProtocolError (as OpenSSH: fatal)', () => {
  const pair = new ConnPair();
  const { mine } = openPair(pair);
  const window = pair.a.conn.windowOf(mine);
  pair.a.conn.handle(ChannelWindowAdjust.encode({ recipientChannel: mine, bytes: 0xffffffff - window }));
  assert.equal(pair.a.conn.windowOf(mine), 0xffffffff);
  assert.equal(pair.a.of('channel-writable').at(-1)?.window, 0xffffffff);
  assert.throws(() => pair.a.conn.handle(ChannelWindowAdjust.encode({ recipientChannel: mine, bytes: 1 })), { name: 'ProtocolError' });
});

test('data after the peer’s EOF is dropped', () => {
  const pair = new ConnPair();
  const { mine, theirs } = openPair(pair);
  pair.b.conn.eof(theirs);
  pair.pump();
  pair.a.conn.handle(dataMsg(mine, 10));
  pair.a.conn.handle(new Uint8Array([M.CHANNEL_EOF, 0, 0, 0, mine])); // a second EOF: ignored too
  assert.equal(pair.a.of('channel-data').length, 0);
  assert.equal(pair.a.of('channel-eof').length, 1);
  assert.equal(pair.a.conn.channelInfo(mine)?.localWindow, 2 * MiB);
});

test('messages for unknown or not-yet-open channels are ProtocolErrors', () => {
  const pair = new ConnPair();
  const { a } = pair;
  assert.throws(() => a.conn.handle(dataMsg(77, 1)), { name: 'ProtocolError', message: /unknown channel 77/ });
  for (const t of [M.CHANNEL_EOF, M.CHANNEL_CLOSE, M.CHANNEL_SUCCESS, M.CHANNEL_FAILURE]) {
    assert.throws(() => a.conn.handle(new Uint8Array([t, 0, 0, 0, 5])), { name: 'ProtocolError' });
  }
  assert.throws(() => a.conn.handle(ChannelWindowAdjust.encode({ recipientChannel: 5, bytes: 1 })), { name: 'ProtocolError' });
  const confirm = new Writer().byte(M.CHANNEL_OPEN_CONFIRMATION).uint32(9).uint32(0).uint32(100).uint32(100).finish();
  assert.throws(() => a.conn.handle(confirm), { name: 'ProtocolError' });
  // Our own open not yet confirmed: the peer cannot send data on it.
  const ch = a.conn.openChannel('session');
  assert.throws(() => a.conn.handle(dataMsg(ch, 1)), { name: 'ProtocolError', message: /before its open completed/ });
  // A second confirmation of an open channel.
  pair.pump();
  pair.b.conn.acceptChannel(pair.b.of('channel-open-request')[0]!.channel);
  pair.pump();
  const again = new Writer().byte(M.CHANNEL_OPEN_CONFIRMATION).uint32(ch).uint32(0).uint32(100).uint32(100).finish();
  assert.throws(() => a.conn.handle(again), { name: 'ProtocolError' });
  const failure = new Writer().byte(M.CHANNEL_OPEN_FAILURE).uint32(ch).uint32(2).string('x').string('').finish();
  assert.throws(() => a.conn.handle(failure), { name: 'ProtocolError' });
});

test('malformed and unknown messages are ProtocolErrors', () => {
  const pair = new ConnPair();
  const { mine } = openPair(pair);
  const conn = pair.a.conn;
  const bad: Uint8Array[] = [
    new Uint8Array(0),
    new Uint8Array([M.CHANNEL_DATA, 0, 0]),
    new Writer().byte(M.CHANNEL_DATA).uint32(mine).uint32(100).raw(bytes(10)).finish(), // string runs past the end
    new Writer().byte(M.CHANNEL_DATA).uint32(mine).uint32(0xffffffff).finish(), // absurd length: no allocation
    new Writer().byte(M.CHANNEL_DATA).uint32(mine).string(bytes(3)).byte(0).finish(), // trailing byte
    new Writer().byte(M.CHANNEL_OPEN).string('session').uint32(1).uint32(100).finish(), // no max packet
    new Writer().byte(M.CHANNEL_OPEN).uint32(0xfffffff0).finish(),
    new Writer().byte(M.CHANNEL_OPEN_FAILURE).uint32(mine).uint32(1).finish(),
    new Writer().byte(M.CHANNEL_WINDOW_ADJUST).uint32(mine).finish(),
    new Writer().byte(M.CHANNEL_REQUEST).uint32(mine).string('exec').finish(), // no want-reply
    new Writer().byte(M.CHANNEL_REQUEST).uint32(mine).string(new Uint8Array([0xff, 0xfe])).byte(0).finish(), // bad UTF-8
    new Writer().byte(M.CHANNEL_EXTENDED_DATA).uint32(mine).uint32(1).finish(),
    new Writer().byte(M.GLOBAL_REQUEST).string('x').finish(),
    new Uint8Array([M.CHANNEL_EOF, 0, 0, 0, mine, 0]),
    new Uint8Array([M.CHANNEL_CLOSE, 0]),
    new Uint8Array([M.REQUEST_FAILURE, 1]),
    new Uint8Array([101]),
    new Uint8Array([127]),
    new Uint8Array([50]),
  ];
  for (const p of bad) assert.throws(() => conn.handle(p), { name: 'ProtocolError' }, `payload ${Buffer.from(p).toString('hex')}`);
  // The channel is untouched by all of that.
  assert.equal(conn.channelInfo(mine)?.state, 'open');
  assert.equal(pair.a.events.filter((e) => e.type !== 'channel-open-confirmed').length, 0);
});

test('options are validated', () => {
  assert.throws(() => new ConnPair({ windowSize: 0 }), RangeError);
  assert.throws(() => new ConnPair({ maxPacket: 2 ** 32 }), RangeError);
  assert.throws(() => new ConnPair({ maxChannels: 1.5 }), RangeError);
});

test('throughput: 64 MiB through one channel', () => {
  const pair = new ConnPair();
  const { mine } = openPair(pair);
  pair.onEvent = (side, e) => {
    if (e.type === 'channel-data') side.conn.consumed(e.channel, e.data.length);
  };
  const chunk = bytes(MiB);
  let total = 0;
  const start = performance.now();
  while (total < 64 * MiB) {
    total += pair.a.conn.write(mine, chunk.subarray(0, Math.min(MiB, 64 * MiB - total)));
    pair.pump();
  }
  const ms = performance.now() - start;
  const got = pair.b.of('channel-data').reduce((n, e) => n + e.data.length, 0);
  assert.equal(got, 64 * MiB);
  console.log(`# connection layer: 64 MiB in ${ms.toFixed(0)} ms (${((64 / ms) * 1000).toFixed(0)} MiB/s, no transport)`);
});
