// Connection layer: channel lifecycle, requests, global requests and races.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChannelError } from '../../src/core/connection/connection.js';
import { Channel, ChannelTable } from '../../src/core/connection/channel.js';
import { OpenFailureReason, MSG_CONNECTION as M, ChannelData } from '../../src/messages/connection.js';
import {
  ReqExec,
  ReqEnv,
  ReqExitStatus,
  ReqExitSignal,
  OpenDirectTcpip,
  GlobalTcpipForward,
  GlobalTcpipForwardReply,
} from '../../src/messages/channel-types.js';
import { ConnPair, openPair } from './connection-helpers.js';

const text = (b: Uint8Array): string => new TextDecoder().decode(b);
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

test('open, confirm, data, eof and close in both directions', () => {
  const pair = new ConnPair();
  const { a, b } = pair;
  const opened = a.conn.openChannel('session', new Uint8Array(0));
  assert.equal(opened, 0);
  assert.equal(a.conn.channelInfo(opened)?.state, 'opening');
  pair.pump();
  const [req] = b.of('channel-open-request');
  assert.ok(req);
  assert.equal(req.channelType, 'session');
  assert.equal(b.conn.channelInfo(req.channel)?.state, 'open-request');
  b.conn.acceptChannel(req.channel);
  pair.pump();
  assert.deepEqual(a.of('channel-open-confirmed').map((e) => e.channel), [opened]);
  const info = a.conn.channelInfo(opened)!;
  assert.equal(info.state, 'open');
  assert.equal(info.remoteChannel, req.channel);
  assert.equal(info.remoteWindow, 2 * 1024 * 1024);
  assert.equal(info.remoteMaxPacket, 32 * 1024);
  assert.equal(a.conn.windowOf(opened), 2 * 1024 * 1024);

  assert.equal(a.conn.write(opened, enc('hello from a')), 12);
  assert.equal(b.conn.write(req.channel, enc('hello from b')), 12);
  pair.pump();
  assert.deepEqual(b.of('channel-data').map((e) => text(e.data)), ['hello from a']);
  assert.deepEqual(a.of('channel-data').map((e) => text(e.data)), ['hello from b']);
  assert.equal(a.conn.windowOf(opened), 2 * 1024 * 1024 - 12);

  // Half-close from a; b can still send.
  a.conn.eof(opened);
  a.conn.eof(opened); // repeated: nothing more sent
  pair.pump();
  assert.equal(b.of('channel-eof').length, 1);
  assert.equal(a.sentTypes().filter((t) => t === M.CHANNEL_EOF).length, 1);
  assert.throws(() => a.conn.write(opened, enc('x')), ChannelError);
  assert.equal(b.conn.write(req.channel, enc('still here')), 10);
  pair.pump();
  assert.equal(text(a.of('channel-data').at(-1)!.data), 'still here');

  b.conn.eof(req.channel);
  b.conn.close(req.channel);
  assert.equal(b.conn.channelInfo(req.channel)?.state, 'closing');
  pair.pump();
  assert.equal(a.of('channel-eof').length, 1);
  assert.deepEqual(a.of('channel-close').map((e) => e.channel), [opened]);
  assert.deepEqual(b.of('channel-close').map((e) => e.channel), [req.channel]);
  assert.equal(a.conn.openChannels, 0);
  assert.equal(b.conn.openChannels, 0);
  assert.equal(a.sentTypes().filter((t) => t === M.CHANNEL_CLOSE).length, 1);
  assert.equal(b.sentTypes().filter((t) => t === M.CHANNEL_CLOSE).length, 1);
  assert.throws(() => a.conn.write(opened, enc('x')), ChannelError);

  // And the other way round: b opens, a accepts with data, a closes.
  const bc = b.conn.openChannel('direct-tcpip', OpenDirectTcpip.encode({ host: 'h', port: 22, originatorAddress: 'o', originatorPort: 1 }));
  pair.pump();
  const req2 = a.of('channel-open-request').at(-1)!;
  assert.equal(OpenDirectTcpip.decode(req2.data).host, 'h');
  a.conn.acceptChannel(req2.channel, enc('extra'));
  pair.pump();
  assert.equal(text(b.of('channel-open-confirmed').at(-1)!.data), 'extra');
  a.conn.close(req2.channel);
  pair.pump();
  assert.equal(b.of('channel-close').at(-1)!.channel, bc);
  assert.equal(a.of('channel-close').at(-1)!.channel, req2.channel);
  assert.equal(a.conn.openChannels + b.conn.openChannels, 0);
});

test('open rejected by the application (unknown type)', () => {
  const pair = new ConnPair();
  pair.onEvent = (side, e) => {
    if (e.type === 'channel-open-request') side.conn.rejectChannel(e.channel, OpenFailureReason.UNKNOWN_CHANNEL_TYPE, `unknown type ${e.channelType}`);
  };
  const ch = pair.a.conn.openChannel('nonsense@example.com');
  pair.pump();
  const [failed] = pair.a.of('channel-open-failed');
  assert.deepEqual(failed, { type: 'channel-open-failed', channel: ch, reason: 3, description: 'unknown type nonsense@example.com' });
  assert.equal(pair.a.conn.openChannels, 0);
  assert.equal(pair.b.conn.openChannels, 0);
  // The number is free again.
  assert.equal(pair.a.conn.openChannel('session'), ch);
});

test('channel limit: incoming opens beyond it get RESOURCE_SHORTAGE, local opens throw', () => {
  const pair = new ConnPair({ maxChannels: 3 }, { maxChannels: 2 });
  pair.onEvent = (side, e) => {
    if (e.type === 'channel-open-request') side.conn.acceptChannel(e.channel);
  };
  const chans = [0, 1, 2].map(() => pair.a.conn.openChannel('session'));
  pair.pump();
  assert.equal(pair.b.of('channel-open-request').length, 2);
  assert.deepEqual(pair.a.of('channel-open-confirmed').map((e) => e.channel), [chans[0], chans[1]]);
  const [failed] = pair.a.of('channel-open-failed');
  assert.equal(failed?.channel, chans[2]);
  assert.equal(failed?.reason, OpenFailureReason.RESOURCE_SHORTAGE);
  assert.equal(pair.b.conn.openChannels, 2);
  assert.equal(pair.a.conn.openChannels, 2);

  pair.a.conn.openChannel('session');
  assert.throws(() => pair.a.conn.openChannel('session'), ChannelError);
});

test('channel requests: replies matched in order; wantReply=false needs no answer', () => {
  const pair = new ConnPair();
  const { mine, theirs } = openPair(pair);
  const { a, b } = pair;
  a.conn.channelRequest(mine, 'env', true, ReqEnv.encode({ name: 'LANG', value: 'C' }));
  a.conn.channelRequest(mine, 'xon-xoff', false, new Uint8Array([1]));
  a.conn.channelRequest(mine, 'exec', true, ReqExec.encode({ command: 'uname -a' }));
  a.conn.channelRequest(mine, 'signal', true);
  pair.pump();
  const reqs = b.of('channel-request');
  assert.deepEqual(reqs.map((r) => [r.requestType, r.wantReply]), [['env', true], ['xon-xoff', false], ['exec', true], ['signal', true]]);
  assert.equal(ReqExec.decode(reqs[2]!.data).command, 'uname -a');
  b.conn.answerChannelRequest(theirs, false);
  b.conn.answerChannelRequest(theirs, true);
  b.conn.answerChannelRequest(theirs, true);
  assert.throws(() => b.conn.answerChannelRequest(theirs, true), ChannelError);
  pair.pump();
  assert.deepEqual(a.of('channel-request-reply').map((r) => r.success), [false, true, true]);

  // A reply nobody asked for is the peer's fault.
  const stray = new Uint8Array([M.CHANNEL_SUCCESS, 0, 0, 0, mine]);
  assert.throws(() => a.conn.handle(stray), { name: 'ProtocolError' });
});

test('exit-status and exit-signal travel as channel requests', () => {
  const pair = new ConnPair();
  const { mine, theirs } = openPair(pair);
  pair.b.conn.channelRequest(theirs, 'exit-status', false, ReqExitStatus.encode({ status: 42 }));
  pair.b.conn.channelRequest(theirs, 'exit-signal', false, ReqExitSignal.encode({ signal: 'TERM', coreDumped: true, message: 'bye', language: '' }));
  pair.pump();
  const [st, sig] = pair.a.of('channel-request');
  assert.equal(st?.channel, mine);
  assert.equal(st?.requestType, 'exit-status');
  assert.deepEqual(ReqExitStatus.decode(st!.data), { status: 42 });
  assert.equal(sig?.requestType, 'exit-signal');
  assert.deepEqual(ReqExitSignal.decode(sig!.data), { signal: 'TERM', coreDumped: true, message: 'bye', language: '' });
  assert.throws(() => ReqExitStatus.decode(new Uint8Array([0, 0, 1])), { name: 'ProtocolError' });
});

test('global requests: replies leave in arrival order even when answered out of order', () => {
  const pair = new ConnPair();
  const { a, b } = pair;
  const ids = [1, 2, 3].map(() => a.conn.globalRequest('tcpip-forward', true, GlobalTcpipForward.encode({ bindAddress: 'localhost', bindPort: 0 })));
  const quiet = a.conn.globalRequest('keepalive@openssh.com', false);
  pair.pump();
  const got = b.of('global-request');
  assert.equal(got.length, 4);
  assert.equal(got[3]!.wantReply, false);
  assert.equal(GlobalTcpipForward.decode(got[0]!.data).bindAddress, 'localhost');

  b.conn.answerGlobalRequest(got[3]!.id, true); // wanted no reply: nothing sent
  b.conn.answerGlobalRequest(got[2]!.id, true, GlobalTcpipForwardReply.encode({ boundPort: 3 }));
  assert.equal(b.outbox.length, 0, 'held until the first two are answered');
  b.conn.answerGlobalRequest(got[0]!.id, true, GlobalTcpipForwardReply.encode({ boundPort: 1 }));
  assert.equal(b.outbox.length, 1);
  b.conn.answerGlobalRequest(got[0]!.id, false); // answered twice: ignored
  b.conn.answerGlobalRequest(got[1]!.id, false);
  assert.equal(b.outbox.length, 3);
  assert.throws(() => b.conn.answerGlobalRequest(999, true), ChannelError);
  pair.pump();
  const replies = a.of('global-reply');
  assert.deepEqual(replies.map((r) => [r.id, r.success]), [[ids[0], true], [ids[1], false], [ids[2], true]]);
  assert.equal(GlobalTcpipForwardReply.decode(replies[0]!.data).boundPort, 1);
  assert.equal(replies[1]!.data.length, 0);
  assert.equal(GlobalTcpipForwardReply.decode(replies[2]!.data).boundPort, 3);
  assert.ok(!replies.some((r) => r.id === quiet));
  // An unsolicited reply breaks the protocol.
  assert.throws(() => a.conn.handle(new Uint8Array([M.REQUEST_FAILURE])), { name: 'ProtocolError' });
});

test('close while the open is pending: CLOSE follows the confirmation, outcome is channel-close', () => {
  const pair = new ConnPair();
  const { a, b } = pair;
  pair.onEvent = (side, e) => {
    if (e.type === 'channel-open-request') side.conn.acceptChannel(e.channel);
  };
  const ch = a.conn.openChannel('session');
  a.conn.close(ch);
  assert.equal(a.conn.channelInfo(ch)?.state, 'opening');
  pair.pump();
  assert.equal(a.of('channel-open-confirmed').length, 0);
  assert.deepEqual(a.of('channel-close').map((e) => e.channel), [ch]);
  assert.equal(b.of('channel-close').length, 1);
  assert.equal(a.conn.openChannels + b.conn.openChannels, 0);

  // The same when the peer refuses the open.
  pair.onEvent = (side, e) => {
    if (e.type === 'channel-open-request') side.conn.rejectChannel(e.channel, OpenFailureReason.ADMINISTRATIVELY_PROHIBITED, 'no');
  };
  const ch2 = a.conn.openChannel('session');
  a.conn.close(ch2);
  pair.pump();
  assert.equal(a.of('channel-open-failed').length, 0);
  assert.equal(a.of('channel-close').at(-1)?.channel, ch2);
  assert.equal(a.conn.openChannels, 0);
});

test('both sides close at once: one CLOSE each, one channel-close each', () => {
  const pair = new ConnPair();
  const { mine, theirs } = openPair(pair);
  pair.a.conn.close(mine);
  pair.b.conn.close(theirs);
  pair.pump();
  for (const s of [pair.a, pair.b]) {
    assert.equal(s.of('channel-close').length, 1);
    assert.equal(s.sentTypes().filter((t) => t === M.CHANNEL_CLOSE).length, 1);
    assert.equal(s.conn.openChannels, 0);
  }
});

test('after our CLOSE, the peer’s in-flight data, requests and EOF are ignored', () => {
  const pair = new ConnPair();
  const { mine, theirs } = openPair(pair);
  const { a, b } = pair;
  b.conn.write(theirs, enc('late data'));
  b.conn.write(theirs, enc('late err'), 1);
  b.conn.channelRequest(theirs, 'exit-status', true, ReqExitStatus.encode({ status: 0 }));
  b.conn.eof(theirs);
  a.conn.close(mine);
  assert.throws(() => a.conn.write(mine, enc('x')), ChannelError);
  assert.throws(() => a.conn.channelRequest(mine, 'shell', true), ChannelError);
  pair.pump();
  assert.equal(a.of('channel-data').length, 0);
  assert.equal(a.of('channel-request').length, 0);
  assert.equal(a.of('channel-eof').length, 0);
  assert.equal(a.of('channel-close').length, 1);
  assert.equal(b.of('channel-close').length, 1);
  // Nothing but CLOSE went out from a for this channel after close().
  assert.equal(a.sentTypes().at(-1), M.CHANNEL_CLOSE);
});

test('500 channels at once, numbers reused lowest first after close', () => {
  // Budgets unlimited: every channel, reused ones too, gets the full window.
  const pair = new ConnPair({ receiveBudget: Infinity }, { receiveBudget: Infinity });
  const { a, b } = pair;
  pair.onEvent = (side, e) => {
    if (e.type === 'channel-open-request') side.conn.acceptChannel(e.channel);
    if (side === b && e.type === 'channel-data') side.conn.write(e.channel, e.data); // echo
  };
  const chans = Array.from({ length: 500 }, () => a.conn.openChannel('session'));
  assert.deepEqual(chans, Array.from({ length: 500 }, (_, i) => i));
  pair.pump();
  assert.equal(a.of('channel-open-confirmed').length, 500);
  assert.equal(b.conn.openChannels, 500);
  for (const c of chans) a.conn.write(c, enc(`ch${c}`));
  pair.pump();
  const echoes = new Map(a.of('channel-data').map((e) => [e.channel, text(e.data)]));
  assert.equal(echoes.size, 500);
  for (const c of chans) assert.equal(echoes.get(c), `ch${c}`);

  const closed = chans.filter((c) => c % 3 === 1);
  for (const c of closed) a.conn.close(c);
  pair.pump();
  assert.equal(a.of('channel-close').length, closed.length);
  assert.equal(a.conn.openChannels, 500 - closed.length);
  assert.equal(b.conn.openChannels, 500 - closed.length);
  const reopened = closed.map(() => a.conn.openChannel('session'));
  assert.deepEqual(reopened, closed);
  assert.equal(a.conn.openChannel('session'), 500);
  pair.pump();
  assert.equal(a.of('channel-open-confirmed').length, 500 + closed.length + 1);
  // Reused numbers carry fresh state.
  for (const c of reopened) assert.equal(a.conn.channelInfo(c)?.remoteWindow, 2 * 1024 * 1024);
});

test('an incoming open rejected automatically at the limit is never shown to the application', () => {
  const pair = new ConnPair({}, { maxChannels: 1 });
  pair.a.conn.openChannel('session');
  pair.a.conn.openChannel('session');
  pair.pump();
  assert.equal(pair.b.of('channel-open-request').length, 1);
  assert.equal(pair.a.of('channel-open-failed').length, 1);
  // The pending one still holds its number until answered.
  const req = pair.b.of('channel-open-request')[0]!;
  pair.b.conn.rejectChannel(req.channel, OpenFailureReason.CONNECT_FAILED, 'nope');
  pair.pump();
  assert.equal(pair.a.of('channel-open-failed').length, 2);
  assert.equal(pair.a.conn.openChannels + pair.b.conn.openChannels, 0);
});

test('command misuse throws ChannelError', () => {
  const pair = new ConnPair();
  assert.throws(() => pair.a.conn.write(7, enc('x')), ChannelError);
  assert.throws(() => pair.a.conn.acceptChannel(0), ChannelError);
  const ch = pair.a.conn.openChannel('session');
  assert.throws(() => pair.a.conn.write(ch, enc('x')), ChannelError, 'not open yet');
  assert.throws(() => pair.a.conn.acceptChannel(ch), ChannelError, 'our own open');
  assert.throws(() => pair.a.conn.eof(ch), ChannelError);
  pair.pump();
  const req = pair.b.of('channel-open-request')[0]!;
  assert.throws(() => pair.b.conn.close(req.channel), ChannelError, 'incoming opens are answered, not closed');
  pair.b.conn.acceptChannel(req.channel);
  pair.pump();
  assert.throws(() => pair.a.conn.write(ch, enc('x'), -1), RangeError);
  assert.equal(pair.a.conn.write(ch, new Uint8Array(0)), 0);
  // Late calls on a channel that is gone are harmless.
  pair.a.conn.close(ch);
  pair.pump();
  pair.a.conn.consumed(ch, 100);
  pair.a.conn.answerChannelRequest(ch, true);
  assert.equal(pair.a.conn.windowOf(ch), 0);
  assert.equal(pair.a.conn.channelInfo(ch), undefined);
});

test('channel numbers: always the lowest free one (random allocate/release against a model)', () => {
  const table = new ChannelTable(64);
  const live = new Set<number>();
  let seed = 12345;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  for (let step = 0; step < 20_000; step++) {
    if (!table.full && (live.size === 0 || rand(3) !== 0)) {
      let expected = 0;
      while (live.has(expected)) expected++;
      const ch = table.allocate((n) => new Channel(n, 'x', 'open', 1, 1));
      assert.equal(ch.local, expected);
      live.add(ch.local);
    } else {
      const all = [...live];
      const victim = all[rand(all.length)]!;
      table.release(victim);
      live.delete(victim);
    }
    assert.equal(table.size, live.size);
  }
});

test('a channel table before its first channel and after its last: empty, and numbering starts again at 0', () => {
  const table = new ChannelTable(2);
  assert.equal(table.size, 0);
  assert.equal(table.full, false);
  assert.equal(table.get(0), undefined);
  assert.deepEqual([...table.values()], []);
  table.release(0); // nothing to release: no effect
  assert.equal(table.size, 0);
  const a = table.allocate((n) => new Channel(n, 'x', 'open', 1, 1));
  const b = table.allocate((n) => new Channel(n, 'x', 'open', 1, 1));
  assert.deepEqual([a.local, b.local], [0, 1]);
  assert.equal(table.full, true);
  assert.deepEqual([...table.values()], [a, b]);
  table.release(0);
  table.release(1);
  assert.equal(table.size, 0);
  assert.deepEqual([...table.values()], []);
  assert.equal(table.allocate((n) => new Channel(n, 'x', 'open', 1, 1)).local, 0);
});

test('write with a prefix: the prefix leads the first message, the count is of the data only, and a prefix that cannot fit is refused', () => {
  const pair = new ConnPair({}, {});
  const { mine } = openPair(pair, pair.a);
  pair.a.outbox.length = 0;
  const data = new Uint8Array(80 * 1024).fill(1);
  assert.equal(pair.a.conn.write(mine, data, undefined, Uint8Array.from([9, 9, 9])), data.length);
  const msgs = pair.a.outbox.splice(0).map((p) => ChannelData.decode(p).data);
  assert.deepEqual([...msgs[0]!.subarray(0, 4)], [9, 9, 9, 1]);
  assert.equal(msgs.reduce((n, m) => n + m.length, 0), 3 + data.length);
  assert.ok(msgs.every((m) => m.length <= 32 * 1024));
  // A prefix alone is one message.
  assert.equal(pair.a.conn.write(mine, new Uint8Array(0), undefined, Uint8Array.from([5])), 0);
  assert.deepEqual([...ChannelData.decode(pair.a.outbox.splice(0)[0]!).data], [5]);
  // Larger than the peer's packet: refused, nothing sent.
  assert.throws(() => pair.a.conn.write(mine, data, undefined, new Uint8Array(64 * 1024)), ChannelError);
  assert.equal(pair.a.outbox.length, 0);
});
