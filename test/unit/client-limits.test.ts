// The client against servers that try to exhaust it: endless output (exec's
// maxBuffer), a CHANNEL_OPEN or a global request never answered while the
// connection is kept alive (channelOpenTimeout, globalRequestTimeout). The
// hostile servers are written here, on loopback.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constants as bufferConstants } from 'node:buffer';
import { createServer as netCreateServer, type Server as NetServer, type Socket } from 'node:net';
import { connect, type Client } from '../../src/client/client.js';
import { MaxBufferError } from '../../src/client/process.js';
import { TimeoutError } from '../../src/errors.js';
import { defaultAlgorithmLists } from '../../src/algorithms/index.js';
import type { SessionEvent } from '../../src/core/session.js';
import { NodeSession } from '../../src/io/node/node-session.js';
import { nodeRandom } from '../../src/io/node/transport-driver.js';
import { GlobalTcpipForward, GlobalTcpipForwardReply } from '../../src/messages/channel-types.js';
import { startServer, passwordSecret, delay, testHostKey } from './server-helpers.js';

/**
 * A server that logs anyone in, then sends IGNORE every 50 ms (which keeps
 * a client's keepalive content), and hands every other event to `onEvent`.
 */
async function hostileServer(onEvent: (e: SessionEvent, node: NodeSession) => void): Promise<{ port: number; nodes: NodeSession[]; close(): Promise<void> }> {
  const nodes: NodeSession[] = [];
  const sockets = new Set<Socket>();
  const listener: NetServer = netCreateServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    let ignores: NodeJS.Timeout | undefined;
    const node = new NodeSession(
      socket,
      { role: 'server', random: nodeRandom, now: Date.now(), algorithms: defaultAlgorithmLists(), hostKeys: [testHostKey()], auth: { failureDelayMs: 0 } },
      (e, n) => {
        if (e.type === 'auth-request') {
          n.session.answerAuth(n.now(), e.id, { result: 'success' });
          n.run();
          // Only after login: strict kex allows nothing but kex messages before NEWKEYS.
          ignores ??= setInterval(() => {
            if (node.error) return clearInterval(ignores);
            node.session.transport.ignore(node.now(), new Uint8Array(0));
            node.run();
          }, 50);
        } else onEvent(e, n);
      },
    );
    socket.once('close', () => {
      clearInterval(ignores);
      sockets.delete(socket);
    });
    nodes.push(node);
    node.run();
  });
  await new Promise<void>((r) => listener.listen(0, '127.0.0.1', r));
  return {
    port: (listener.address() as { port: number }).port,
    nodes,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        listener.close(() => r());
      }),
  };
}

function connectTo(port: number, options: Partial<Parameters<typeof connect>[0]> = {}): Promise<Client> {
  return connect({ host: '127.0.0.1', port, username: 'alice', password: 'x', verifyHostKey: () => true, readyTimeout: 5000, ...options });
}

/** Resolves once `check` holds, or fails after `ms`. */
async function eventually(check: () => boolean, what: string, ms = 2000): Promise<void> {
  for (const end = Date.now() + ms; !check(); await delay(10)) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
  }
}

test('exec: endless output rejects with MaxBufferError once past maxBuffer, and the channel is closed', async () => {
  const MiB = 1024 * 1024;
  let written = 0;
  let serverSawClose = 0;
  const t = await startServer({
    authenticate: passwordSecret,
    session: (s) => {
      s.onExec = (cmd, ch) => {
        const chunk = Buffer.alloc(64 * 1024, cmd === 'yes-stderr' ? 0x65 : 0x6f);
        const out = cmd === 'yes-stderr' ? ch.stderr : ch;
        ch.once('channel-close', () => serverSawClose++);
        // Writes as fast as the client's window allows, forever.
        const pump = () => {
          while (!ch.closedByPeer) {
            written += chunk.length;
            if (!out.write(chunk)) return void out.once('drain', pump);
          }
        };
        pump();
        return true;
      };
    },
  });
  try {
    const c = await t.connect({ password: 'secret', maxBuffer: 2 * MiB });
    await assert.rejects(c.exec('yes'), (e: unknown) => {
      assert.ok(e instanceof MaxBufferError, String(e));
      assert.equal(e.stream, 'stdout');
      assert.equal(e.limit, 2 * MiB);
      assert.equal(typeof e.stdout, 'string');
      assert.equal(e.stdout.length, 2 * MiB); // the partial output, cut at the limit
      assert.equal(e.stdout, 'o'.repeat(2 * MiB));
      return true;
    });
    await eventually(() => serverSawClose === 1, 'the server to see the channel closed');
    const afterFirst = written;
    // The server stopped: what it wrote is the limit plus what was in flight (window, socket buffers).
    assert.ok(afterFirst < 2 * MiB + 8 * MiB, `server wrote ${afterFirst} bytes`);
    // Its CLOSE in answer to ours frees the channel on our side too.
    await eventually(() => c.node.channels.size === 0 && c.node.connection.openChannels === 0, 'the client to free the channel');

    // Per call, on stderr, as Buffers.
    await assert.rejects(c.exec('yes-stderr', { maxBuffer: 100_000, encoding: 'buffer' }), (e: unknown) => {
      assert.ok(e instanceof MaxBufferError, String(e));
      assert.equal(e.stream, 'stderr');
      assert.ok(Buffer.isBuffer(e.stderr) && e.stderr.length === 100_000);
      return true;
    });
    await eventually(() => serverSawClose === 2, 'the server to see the second channel closed');
    await delay(100);
    const settled = written;
    await delay(200);
    assert.equal(written, settled, 'the server writes no more once the channel is closed');
    assert.equal(c.node.error, null);
  } finally {
    await t.close();
  }
});

test('exec: output under maxBuffer is returned whole; bad maxBuffer values are RangeErrors', async () => {
  const t = await startServer({
    authenticate: passwordSecret,
    session: (s) => {
      s.onExec = (_cmd, ch) => {
        ch.write('é'.repeat(500)); // 1000 bytes of UTF-8
        ch.exit(0);
        return true;
      };
    },
  });
  try {
    const c = await t.connect({ password: 'secret' });
    assert.equal((await c.exec('x', { maxBuffer: 1000 })).stdout, 'é'.repeat(500));
    await assert.rejects(c.exec('x', { maxBuffer: 999 }), MaxBufferError);
    for (const bad of [0, -1, 1.5, Number.NaN, bufferConstants.MAX_LENGTH + 1]) {
      await assert.rejects(c.exec('x', { maxBuffer: bad }), RangeError);
      await assert.rejects(t.connect({ password: 'secret', maxBuffer: bad }), RangeError);
    }
    await assert.rejects(t.connect({ password: 'secret', channelOpenTimeout: -1 }), RangeError);
    await assert.rejects(t.connect({ password: 'secret', globalRequestTimeout: 2 ** 31 }), RangeError);
    assert.equal(c.node.error, null);
  } finally {
    await t.close();
  }
});

test('a CHANNEL_OPEN never answered: exec rejects with TimeoutError; a late confirmation or failure closes the channel cleanly', async () => {
  const opens: number[] = [];
  const s = await hostileServer((e) => {
    if (e.type === 'channel-open-request') opens.push(e.channel); // and never answer
  });
  try {
    // Keepalive on: the server's IGNOREs satisfy it, as in the report.
    const c = await connectTo(s.port, { channelOpenTimeout: 300, keepalive: { intervalMs: 200, countMax: 2 } });
    const started = Date.now();
    await assert.rejects(c.exec('true'), (e: unknown) => e instanceof TimeoutError && e.phase === 'channel open session');
    assert.ok(Date.now() - started < 2000);
    await assert.rejects(c.openDirectTcpip({ host: '192.0.2.1', port: 80 }), (e: unknown) => e instanceof TimeoutError && e.phase === 'channel open direct-tcpip');
    assert.equal(opens.length, 2);
    assert.equal(c.node.error, null, 'the connection stays up');

    // The server answers at last: the first confirmed, the second refused.
    const server = s.nodes[0]!;
    const late = server.acceptChannel(opens[0]!, 'session');
    let lateClosed = false;
    late.once('channel-close', () => (lateClosed = true));
    server.rejectChannel(opens[1]!, 2, 'connect failed');
    await eventually(() => lateClosed, 'the client to close the late channel');
    await delay(50);
    assert.equal(c.node.error, null);
    assert.equal(c.node.channels.size, 0);
    assert.equal(c.node.connection.openChannels, 0, 'both channel numbers are free again');
    await c.close();
  } finally {
    await s.close();
  }
});

test('a channel request never answered: exec rejects with TimeoutError and the channel is closed; the connection goes on', async () => {
  let execs = 0;
  const s = await hostileServer((e, n) => {
    if (e.type === 'channel-open-request') {
      const ch = n.acceptChannel(e.channel, 'session');
      ch.onRequest = (type) => {
        if (type === 'exec') execs++; // and never answer
      };
    }
  });
  try {
    const c = await connectTo(s.port, { channelRequestTimeout: 300 });
    const started = Date.now();
    await assert.rejects(c.exec('true'), (e: unknown) => e instanceof TimeoutError && e.phase === 'channel request exec');
    assert.ok(Date.now() - started < 2000);
    assert.equal(execs, 1);
    // The client closed the channel: once the server's CLOSE is back, its number is free.
    await eventually(() => c.node.connection.openChannels === 0, 'the channel to close');
    await assert.rejects(c.subsystem('sftp'), (e: unknown) => e instanceof TimeoutError && e.phase === 'channel request subsystem');
    assert.equal(c.node.error, null, 'the connection stays up');
    await assert.rejects(connectTo(s.port, { channelRequestTimeout: -1 }), RangeError);
    await c.close();
  } finally {
    await s.close();
  }
});

test('a global request never answered: forwardRemote rejects with TimeoutError; a late success is cancelled and later replies still match', async () => {
  const held: { id: number; port: number }[] = [];
  const cancelled: number[] = [];
  let answerAtOnce = false;
  const s = await hostileServer((e, n) => {
    if (e.type !== 'global-request') return;
    if (e.name === 'cancel-tcpip-forward') cancelled.push(GlobalTcpipForward.decode(e.data).bindPort);
    if (e.name !== 'tcpip-forward') return;
    const port = 4000 + held.length;
    held.push({ id: e.id, port });
    if (answerAtOnce) {
      n.answerGlobalRequest(e.id, true, GlobalTcpipForwardReply.encode({ boundPort: port }));
    }
  });
  try {
    const c = await connectTo(s.port, { globalRequestTimeout: 300, keepalive: false });
    await assert.rejects(c.forwardRemote({ bindPort: 0 }), (e: unknown) => e instanceof TimeoutError && e.phase === 'global request tcpip-forward');
    assert.equal(c.node.error, null);

    // The late reply goes to the request it answers (cancelled, since nobody waits for it),
    // and the next request gets its own reply.
    const server = s.nodes[0]!;
    answerAtOnce = true;
    const next = c.forwardRemote({ bindPort: 0 });
    await eventually(() => held.length === 2, 'the second request');
    server.answerGlobalRequest(held[0]!.id, true, GlobalTcpipForwardReply.encode({ boundPort: held[0]!.port }));
    const fwd = await next;
    assert.equal(fwd.port, 4001);
    await eventually(() => cancelled.length === 1, 'the late forward to be cancelled');
    assert.deepEqual(cancelled, [4000]);
    assert.equal(c.node.error, null);
    await c.close();
  } finally {
    await s.close();
  }
});

test("a channel listener that throws when the connection dies does not keep the other channels or 'closed' pending", async () => {
  const t = await startServer({ authenticate: passwordSecret, session: (s) => void (s.onExec = () => true) });
  try {
    const c = await t.connect({ password: 'secret' });
    const first = await c.spawn('a');
    const second = await c.spawn('b');
    first.channel.on('channel-close', () => {
      throw new Error('a careless listener');
    });
    [...t.server.connections][0]!.node.disconnect(11, 'going away');
    const settled = Promise.all([first.exit, second.exit, c.closed]).then(() => 'settled');
    assert.equal(await Promise.race([settled, delay(2000).then(() => 'pending')]), 'settled');
  } finally {
    await t.close();
  }
});
