// What a hostile peer can make the connection layer do: packets too small to
// be worth their cost, one write call's work, and the receive budget that
// bounds what the peer can make us hold across all channels.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  MSG_CONNECTION as M,
  ChannelClose,
  ChannelData,
  ChannelOpen,
  ChannelOpenConfirmation,
  ChannelOpenFailure,
  ChannelWindowAdjust,
  OpenFailureReason,
} from '../../src/messages/connection.js';
import { DEFAULT_RECEIVE_BUDGET, MIN_PEER_MAX_PACKET, WRITE_CALL_LIMIT } from '../../src/core/connection/connection.js';
import { ConnPair, openPair, bytes } from './connection-helpers.js';

const KiB = 1024;
const MiB = 1024 * KiB;

test('an incoming open whose max packet is below the floor is refused with the reason, unseen by the application', () => {
  const pair = new ConnPair();
  for (const maxPacket of [0, 1, MIN_PEER_MAX_PACKET - 1]) {
    pair.b.conn.handle(ChannelOpen.encode({ type: 'session', senderChannel: 7, initialWindow: 2 * MiB, maxPacket, rest: new Uint8Array(0) }));
    const reply = pair.b.outbox.pop()!;
    assert.equal(reply[0], M.CHANNEL_OPEN_FAILURE);
    const f = ChannelOpenFailure.decode(reply);
    assert.equal(f.recipientChannel, 7);
    assert.equal(f.reason, OpenFailureReason.ADMINISTRATIVELY_PROHIBITED);
    assert.match(f.description, new RegExp(`maximum packet size ${maxPacket} is below ${MIN_PEER_MAX_PACKET}`));
  }
  assert.equal(pair.b.of('channel-open-request').length, 0);
  assert.equal(pair.b.conn.openChannels, 0);
  // At the floor it is an ordinary open.
  pair.b.conn.handle(ChannelOpen.encode({ type: 'session', senderChannel: 7, initialWindow: 2 * MiB, maxPacket: MIN_PEER_MAX_PACKET, rest: new Uint8Array(0) }));
  assert.equal(pair.b.of('channel-open-request').length, 1);
});

test('a confirmation with a max packet below the floor fails the open, closes the channel and frees its number quietly', () => {
  const pair = new ConnPair();
  const { a } = pair;
  const ch = a.conn.openChannel('session');
  a.outbox.length = 0;
  a.conn.handle(ChannelOpenConfirmation.encode({ recipientChannel: ch, senderChannel: 3, initialWindow: 4 * MiB, maxPacket: 1, rest: new Uint8Array(0) }));
  const failed = a.of('channel-open-failed');
  assert.equal(failed.length, 1);
  assert.match(failed[0]!.description, /maximum packet size 1 is below 1024/);
  assert.equal(a.of('channel-open-confirmed').length, 0);
  assert.deepEqual(a.sentTypes().slice(-1), [M.CHANNEL_CLOSE]);
  assert.equal(ChannelClose.decode(a.outbox.at(-1)!).recipientChannel, 3);
  // Data the peer sent before seeing our CLOSE is dropped; its CLOSE frees the number without an event.
  a.conn.handle(ChannelData.encode({ recipientChannel: ch, data: bytes(1) }));
  a.conn.handle(ChannelClose.encode({ recipientChannel: ch }));
  assert.equal(a.of('channel-close').length, 0);
  assert.equal(a.of('channel-data').length, 0);
  assert.equal(a.conn.openChannels, 0);
  assert.equal(a.conn.openChannel('session'), ch);
});

test('one write call sends at most WRITE_CALL_LIMIT bytes however large the window; the rest goes on later calls', () => {
  const pair = new ConnPair({}, { windowSize: 64 * MiB, receiveBudget: Infinity });
  const { mine } = openPair(pair, pair.a, { windowSize: 64 * MiB });
  assert.equal(pair.a.conn.windowOf(mine), 64 * MiB);
  pair.a.outbox.length = 0;
  const data = new Uint8Array(8 * MiB);
  let sent = pair.a.conn.write(mine, data);
  assert.equal(sent, WRITE_CALL_LIMIT);
  assert.equal(pair.a.outbox.length, WRITE_CALL_LIMIT / (32 * KiB));
  assert.ok(pair.a.conn.windowOf(mine) > 0, 'window left: the caller retries on a later turn, not on channel-writable');
  while (sent < data.length) sent += pair.a.conn.write(mine, data.subarray(sent));
  assert.equal(pair.a.conn.windowOf(mine), 56 * MiB);
});

test('the receive budget: the first channels get their whole window, later ones one packet until others close', () => {
  const pair = new ConnPair({}, { receiveBudget: 4 * MiB });
  const { a, b } = pair;
  const theirs: number[] = [];
  const windows: number[] = [];
  for (let i = 0; i < 5; i++) {
    const o = openPair(pair);
    theirs.push(o.theirs);
    windows.push(a.conn.channelInfo(o.mine)!.remoteWindow);
  }
  const free = 32 * KiB;
  const full = 2 * MiB;
  assert.deepEqual(windows, [full, full, 4 * MiB - 2 * (full - free) + free, free, free]);
  assert.equal(b.conn.receiveCommitted, 4 * MiB);
  // Closing a channel with a whole window gives its share back for the next one.
  b.conn.close(theirs[0]!);
  pair.pump();
  assert.equal(b.conn.receiveCommitted, 4 * MiB - (full - free));
  const next = openPair(pair);
  assert.equal(a.conn.channelInfo(next.mine)!.remoteWindow, full);
  assert.equal(b.conn.receiveCommitted, 4 * MiB);
});

test('a peer filling the windows of many idle channels is held to maxChannels * maxPacket + receiveBudget', () => {
  const budget = 1 * MiB;
  const pair = new ConnPair({ receiveBudget: Infinity }, { receiveBudget: budget, maxChannels: 64 });
  const { a, b } = pair;
  pair.onEvent = (side, e) => {
    if (side === b && e.type === 'channel-open-request') side.conn.acceptChannel(e.channel);
  };
  const chans = Array.from({ length: 64 }, () => a.conn.openChannel('session'));
  pair.pump();
  const chunk = new Uint8Array(2 * MiB);
  for (const c of chans) while (a.conn.write(c, chunk) > 0);
  pair.pump();
  // b's application reads nothing: everything sent is held.
  let held = 0;
  for (const e of b.of('channel-data')) held += e.data.length;
  assert.equal(held, 64 * 32 * KiB + budget, 'without the budget this was 64 * 2 MiB');
  assert.equal(held, b.conn.receiveBound);
  // The defaults: 1024 channels of 32 KiB plus 32 MiB.
  assert.equal(new ConnPair().a.conn.receiveBound, 1024 * 32 * KiB + DEFAULT_RECEIVE_BUDGET);
});

test('growWindow: a channel opened small grows to the connection window within the budget, once', () => {
  const pair = new ConnPair({}, { receiveBudget: 3 * MiB });
  const { a, b } = pair;
  const first = openPair(pair, a, { windowSize: 64 * KiB });
  assert.equal(a.conn.channelInfo(first.mine)!.remoteWindow, 64 * KiB);
  b.outbox.length = 0;
  assert.equal(b.conn.growWindow(first.theirs), 2 * MiB);
  assert.deepEqual(b.outbox.map((p) => ChannelWindowAdjust.decode(p).bytes), [2 * MiB - 64 * KiB]);
  pair.pump();
  assert.equal(a.conn.channelInfo(first.mine)!.remoteWindow, 2 * MiB);
  // Growing again, or to less, does nothing.
  assert.equal(b.conn.growWindow(first.theirs), 2 * MiB);
  assert.equal(b.conn.growWindow(first.theirs, 1000), 2 * MiB);
  // A second channel grows only as far as the budget reaches.
  const second = openPair(pair, a, { windowSize: 64 * KiB });
  assert.equal(b.conn.growWindow(second.theirs), 32 * KiB + (3 * MiB - (2 * MiB - 32 * KiB)));
  assert.equal(b.conn.receiveCommitted, 3 * MiB);
  // After the peer's EOF there is nothing to grow for.
  const third = openPair(pair, a, { windowSize: 64 * KiB });
  a.conn.eof(third.mine);
  pair.pump();
  b.outbox.length = 0;
  assert.equal(b.conn.growWindow(third.theirs), 32 * KiB);
  assert.equal(b.outbox.length, 0);
});
