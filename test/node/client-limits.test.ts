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
import { NodeEndpoint } from '../../src/io/node/node-endpoint.js';
import type { GlobalRequestAnswer, IncomingChannelOpen } from '../../src/io/node/registries.js';
import { nodeRandom } from '../../src/io/node/transport-driver.js';
import { GlobalTcpipForward, GlobalTcpipForwardReply } from '../../src/messages/channel-types.js';
import { startServer, passwordSecret, delay, testHostKey } from './server-helpers.js';

/**
 * A server that logs anyone in, then sends IGNORE every 50 ms (which keeps
 * a client's keepalive content); `register` sets the channel-open and
 * global-request handlers of each connection.
 */
async function hostileServer(register: (node: NodeEndpoint) => void): Promise<{ port: number; nodes: NodeEndpoint[]; close(): Promise<void> }> {
  const nodes: NodeEndpoint[] = [];
  const sockets = new Set<Socket>();
  const listener: NetServer = netCreateServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    let ignores: NodeJS.Timeout | undefined;
    const node = new NodeEndpoint(
      socket,
      { role: 'server', random: nodeRandom, now: Date.now(), algorithms: defaultAlgorithmLists(), hostKeys: [testHostKey()], auth: { failureDelayMs: 0 } },
      (e, n) => {
        if (e.type === 'auth-request') {
          n.endpoint.answerAuth(n.now(), e.id, { result: 'success' });
          n.run();
          // Only after login: strict kex allows nothing but kex messages before NEWKEYS.
          ignores ??= setInterval(() => {
            if (node.error) return clearInterval(ignores);
            node.endpoint.transport.ignore(node.now(), new Uint8Array(0));
            node.run();
          }, 50);
        }
      },
    );
    socket.once('close', () => {
      clearInterval(ignores);
      sockets.delete(socket);
    });
    register(node);
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
  const opens: IncomingChannelOpen[] = [];
  // Handlers that never answer: the open stays unanswered while their promise is pending.
  const hold = (open: IncomingChannelOpen) => {
    opens.push(open);
    return new Promise<void>(() => undefined);
  };
  const s = await hostileServer((node) => {
    node.channelOpenHandlers.set('session', hold);
    node.channelOpenHandlers.set('direct-tcpip', hold);
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
    const late = opens[0]!.accept();
    let lateClosed = false;
    late.once('channel-close', () => (lateClosed = true));
    opens[1]!.reject(2, 'connect failed');
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
  const s = await hostileServer((node) =>
    node.channelOpenHandlers.set('session', (open) => {
      open.accept().onRequest = (type) => {
        if (type === 'exec') execs++; // and never answer
      };
    }),
  );
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
  const held: { answer: (a: GlobalRequestAnswer) => void; port: number }[] = [];
  const cancelled: number[] = [];
  let answerAtOnce = false;
  const s = await hostileServer((node) => {
    node.globalRequestHandlers.set('cancel-tcpip-forward', (req) => {
      cancelled.push(GlobalTcpipForward.decode(req.data).bindPort);
      return false;
    });
    node.globalRequestHandlers.set('tcpip-forward', () => {
      const port = 4000 + held.length;
      const reply = { success: true, data: GlobalTcpipForwardReply.encode({ boundPort: port }) };
      if (answerAtOnce) {
        held.push({ answer: () => undefined, port });
        return reply;
      }
      // Answered when the test says so.
      return new Promise<GlobalRequestAnswer>((resolve) => held.push({ answer: resolve, port }));
    });
  });
  try {
    const c = await connectTo(s.port, { globalRequestTimeout: 300, keepalive: false });
    await assert.rejects(c.forwardRemote({ bindPort: 0 }), (e: unknown) => e instanceof TimeoutError && e.phase === 'global request tcpip-forward');
    assert.equal(c.node.error, null);

    // The late reply goes to the request it answers (cancelled, since nobody waits for it),
    // and the next request gets its own reply.
    answerAtOnce = true;
    const next = c.forwardRemote({ bindPort: 0 });
    await eventually(() => held.length === 2, 'the second request');
    held[0]!.answer({ success: true, data: GlobalTcpipForwardReply.encode({ boundPort: held[0]!.port }) });
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
