// The hostile-peer limits of the connection layer seen through the Node
// streams, the server and the client: tiny packets refused on both sides, one
// channel's big write shared with the event loop, small pieces of received
// data gathered, and idle session channels held to a small window.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { nodeChannel } from './node-channel.js';
import { ChannelData } from '../../src/messages/connection.js';
import { ReqExec } from '../../src/messages/channel-types.js';
import { WRITE_CALL_LIMIT } from '../../src/core/connection/connection.js';
import { ConnPair, openPair, concatAll } from '../core/connection-helpers.js';
import { startServer, passwordSecret, delay } from './server-helpers.js';

const KiB = 1024;
const MiB = 1024 * KiB;

test('a write far larger than one call may send goes out over several turns of the event loop', async () => {
  const pair = new ConnPair({}, { windowSize: 64 * MiB, receiveBudget: Infinity });
  const { mine } = openPair(pair, pair.a, { windowSize: 64 * MiB });
  const ch = nodeChannel(pair.a, mine);
  pair.a.outbox.length = 0;
  const sentBytes = (): number => pair.a.outbox.reduce((n, p) => n + ChannelData.decode(p).data.length, 0);
  let done = false;
  ch.write(Buffer.alloc(8 * MiB, 1), () => (done = true));
  // What the write did before anything else could run.
  assert.equal(sentBytes(), WRITE_CALL_LIMIT);
  let turns = 0;
  while (!done && turns < 1000) {
    await nextTurn();
    turns++;
  }
  assert.ok(done);
  assert.equal(sentBytes(), 8 * MiB);
  assert.ok(turns >= (8 * MiB) / WRITE_CALL_LIMIT - 1, `${turns} turns`);
});

test('1-byte packets are gathered: a reader that comes late finds a few buffers, in order, not one per byte', async () => {
  const pair = new ConnPair();
  const { mine } = openPair(pair);
  const ch = nodeChannel(pair.a, mine);
  const sent: Uint8Array[] = [];
  // 20,000 one-byte packets, one large one among them, then EOF.
  for (let i = 0; i < 20_000; i++) {
    const piece = i === 10_000 ? Buffer.alloc(40 * KiB, 7) : Buffer.from([i & 0xff]);
    sent.push(piece);
    ch.handleEvent({ type: 'channel-data', channel: mine, data: piece });
    // A socket read holds a few hundred such packets; a microtask ends each read.
    if (i % 500 === 499) await Promise.resolve();
  }
  ch.handleEvent({ type: 'channel-eof', channel: mine });
  const chunks: Buffer[] = [];
  ch.on('data', (c: Buffer) => chunks.push(c));
  await new Promise((r) => ch.once('end', r));
  assert.deepEqual(concatAll(chunks), concatAll(sent));
  assert.ok(chunks.length <= 45, `${chunks.length} buffers held for 20,000 packets`);
});

test('server: a session channel whose client allows packets under 1 KiB is refused, and other channels go on', async () => {
  let sessions = 0;
  const t = await startServer({
    authenticate: passwordSecret,
    session: (s) => {
      sessions++;
      s.onExec = (_cmd, ch) => {
        ch.write('ok');
        ch.exit(0);
      };
    },
  });
  try {
    const c = await t.connect({ password: 'secret' });
    const id = c.node.endpoint.openChannel(c.node.now(), 'session', undefined, { maxPacket: 1 });
    c.node.run();
    for (let i = 0; i < 100 && c.node.connection.channelInfo(id); i++) await delay(10);
    assert.equal(c.node.connection.channelInfo(id), undefined, 'the open was refused');
    assert.equal(sessions, 0);
    assert.equal((await c.exec('x')).stdout, 'ok');
  } finally {
    await t.close();
  }
});

test('client: a server allowing packets under 1 KiB fails exec at once instead of freezing the client', async () => {
  const t = await startServer({
    authenticate: passwordSecret,
    connection: { maxPacket: 1 },
    session: (s) => {
      s.onExec = (_cmd, ch) => {
        ch.resume();
        ch.on('end', () => ch.exit(0));
      };
    },
  });
  try {
    const c = await t.connect({ password: 'secret' });
    const started = Date.now();
    const outcome = await Promise.race([
      c.exec('cat', { stdin: Buffer.alloc(256 * KiB) }).then(
        () => 'resolved',
        (e: Error) => e.message,
      ),
      delay(3000).then(() => 'still pending after 3 s'),
    ]);
    assert.match(outcome, /maximum packet size 1 is below 1024/);
    assert.ok(Date.now() - started < 1000);
    assert.equal(c.node.error, null, 'the connection stays up');
  } finally {
    await t.close();
  }
});

test('server: a session channel gets 64 KiB of window until its program starts, then the full window', async () => {
  const t = await startServer({
    authenticate: passwordSecret,
    session: (s) => {
      s.onExec = (_cmd, ch) => {
        ch.on('end', () => ch.exit(0));
      };
    },
  });
  try {
    const c = await t.connect({ password: 'secret' });
    // Nine idle sessions (the tenth starts a program), each filled as far as
    // the server lets the client send.
    const idle = await Promise.all(Array.from({ length: 9 }, () => c.node.openChannel('session')));
    for (const ch of idle) {
      assert.equal(c.node.connection.channelInfo(ch.id)!.remoteWindow, 64 * KiB);
      ch.write(Buffer.alloc(2 * MiB));
    }
    await delay(200);
    const serverConn = [...t.server.connections][0]!;
    let held = 0;
    for (const ch of idle) held += serverConn.node.connection.channelInfo(c.node.connection.channelInfo(ch.id)!.remoteChannel!)!.unconsumed;
    assert.equal(held, 9 * 64 * KiB, 'without the small window the server held 9 * 2 MiB');
    // A started program opens the window.
    const started = await c.node.openChannel('session');
    assert.equal(await started.request('exec', ReqExec.encode({ command: 'x' })), true);
    await delay(50);
    assert.equal(c.node.connection.channelInfo(started.id)!.remoteWindow, 2 * MiB);
    for (const ch of idle) ch.destroy();
    started.destroy();
  } finally {
    await t.close();
  }
});

test('small writes in one turn go out in one packet, or in the first packet of the large write after them', async () => {
  const pair = new ConnPair({}, {});
  const { mine } = openPair(pair, pair.a);
  const ch = nodeChannel(pair.a, mine);
  pair.a.outbox.length = 0;
  const datas = (): Uint8Array[] => pair.a.outbox.splice(0).map((p) => ChannelData.decode(p).data);
  const enc = (s: string) => new TextEncoder().encode(s);
  // Three small writes, then the turn ends: one CHANNEL_DATA with all three, in order.
  ch.write(enc('ab'));
  ch.write(enc('cd'));
  ch.write(enc('ef'));
  assert.equal(pair.a.outbox.length, 0, 'held until the end of the turn');
  await nextTurn();
  assert.deepEqual(datas().map((d) => Buffer.from(d).toString()), ['abcdef']);
  // A header then a body (an SFTP reply): one packet, the header first.
  const body = new Uint8Array(20 * KiB).fill(7);
  ch.write(enc('HEAD'));
  ch.write(body);
  await nextTurn();
  const got = datas();
  assert.equal(got.length, 1);
  assert.equal(Buffer.from(got[0]!.subarray(0, 4)).toString(), 'HEAD');
  assert.equal(got[0]!.length, 4 + body.length);
  // A request or EOF never overtakes held data.
  ch.write(enc('last'));
  ch.end();
  await nextTurn();
  assert.equal(Buffer.from(ChannelData.decode(pair.a.outbox[0]!).data).toString(), 'last');
  assert.equal(pair.a.outbox.length, 2, 'then CHANNEL_EOF');
  assert.equal(pair.a.outbox[1]![0], 96);
});

test('held writes of stdout and stderr keep their types and order', async () => {
  const pair = new ConnPair({}, {});
  const { mine } = openPair(pair, pair.a);
  const ch = nodeChannel(pair.a, mine);
  pair.a.outbox.length = 0;
  ch.write(Buffer.from('out1'));
  await ch.writeStderr(Buffer.from('err1'));
  ch.write(Buffer.from('out2'));
  await nextTurn();
  assert.deepEqual(pair.a.outbox.splice(0).map((p) => [p[0], Buffer.from(p.subarray(p[0] === 95 ? 13 : 9)).toString()]), [
    [94, 'out1'],
    [95, 'err1'],
    [94, 'out2'],
  ]);
});

test('what is held beyond the peer\'s max packet is split as any write is', async () => {
  const pair = new ConnPair({}, {});
  const { mine } = openPair(pair, pair.a, { maxPacket: 1024 });
  const ch = nodeChannel(pair.a, mine);
  pair.a.outbox.length = 0;
  const piece = (n: number, v: number) => new Uint8Array(n).fill(v);
  for (let i = 1; i <= 3; i++) ch.write(piece(1000, i));
  await nextTurn();
  for (let i = 4; i <= 6; i++) ch.write(piece(1000, i));
  ch.write(piece(5000, 7));
  await nextTurn();
  const msgs = pair.a.outbox.splice(0).map((p) => ChannelData.decode(p).data);
  assert.ok(msgs.every((m) => m.length <= 1024));
  assert.deepEqual(Buffer.concat(msgs), Buffer.concat([1, 2, 3, 4, 5, 6].map((v) => piece(1000, v)).concat([piece(5000, 7)])));
});

test('a small last piece of a large write waits for the next write, so packets follow the peer\'s max packet along the stream', async () => {
  const pair = new ConnPair({}, {});
  const { mine } = openPair(pair, pair.a);
  const ch = nodeChannel(pair.a, mine);
  pair.a.outbox.length = 0;
  const head = (i: number) => new Uint8Array(13).fill(100 + i);
  const body = (i: number) => new Uint8Array(32 * KiB).fill(i);
  // Two SFTP-style replies (a 13-byte header, a 32 KiB body) in one turn: 65,562 bytes.
  for (const i of [1, 2]) {
    ch.write(head(i));
    ch.write(body(i));
  }
  await nextTurn();
  const msgs = pair.a.outbox.splice(0).map((p) => ChannelData.decode(p).data);
  assert.deepEqual(msgs.map((m) => m.length), [32 * KiB, 32 * KiB, 26]);
  assert.deepEqual(Buffer.concat(msgs), Buffer.concat([head(1), body(1), head(2), body(2)]));
});
