// Sockets the server connects out for direct-tcpip / direct-streamlocal
// (src/server/forward-socket.ts): read into one shared, reused buffer and
// handed to the channel. Exact bytes under concurrency and backpressure,
// half-close both ways, a target that closes or resets early.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer as netCreateServer, type Server as NetServer, type Socket } from 'node:net';
import { startServer, passwordSecret, delay } from './server-helpers.js';

type Target = { port: number; sockets: Set<Socket>; close(): Promise<void> };

async function target(onSocket: (s: Socket) => void): Promise<Target> {
  const sockets = new Set<Socket>();
  const server: NetServer = netCreateServer({ allowHalfOpen: true }, (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    onSocket(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as { port: number }).port,
    sockets,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/** Everything a stream delivers until 'end'. */
function collect(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const parts: Buffer[] = [];
  stream.on('data', (d: Buffer) => parts.push(Buffer.from(d)));
  return once(stream, 'end').then(() => Buffer.concat(parts));
}

/**
 * Closes the servers when the test times out (node:test aborts its signal
 * then): a test stuck on an event would otherwise keep them, and with them
 * this file's process, open; so a hang fails here within the timeout.
 */
function closeOnTimeout(ctx: TestContext, ...closers: (() => Promise<void>)[]): void {
  ctx.signal.addEventListener('abort', () => void Promise.allSettled(closers.map((close) => close())), { once: true });
}

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

test('direct-tcpip: two downloads at once, one of them read slowly, arrive byte for byte', { timeout: 60_000 }, async (ctx) => {
  const payloads = new Map<string, Buffer>([
    ['a', randomBytes(6 * 1024 * 1024 + 123)],
    ['b', randomBytes(5 * 1024 * 1024 + 7)],
  ]);
  const far = await target((s) => {
    s.once('data', (d: Buffer) => s.end(payloads.get(d.toString('latin1', 0, 1)) ?? Buffer.alloc(0)));
  });
  const t = await startServer({ authenticate: passwordSecret, forwardLocal: () => true });
  closeOnTimeout(ctx, () => t.close(), () => far.close());
  try {
    const c = await t.connect({ password: 'secret' });
    const a = await c.openDirectTcpip({ host: '127.0.0.1', port: far.port });
    const b = await c.openDirectTcpip({ host: '127.0.0.1', port: far.port });
    const gotA = collect(a);
    // b reads in bursts: its window closes, and the server holds reads back.
    const parts: Buffer[] = [];
    const gotB = new Promise<Buffer>((resolve) => {
      b.on('data', (d: Buffer) => {
        parts.push(Buffer.from(d));
        if (parts.length % 8 === 0) {
          b.pause();
          setTimeout(() => b.resume(), 5);
        }
      });
      b.once('end', () => resolve(Buffer.concat(parts)));
    });
    a.write('a');
    b.write('b');
    a.end();
    b.end();
    assert.equal(sha(await gotA), sha(payloads.get('a')!));
    assert.equal(sha(await gotB), sha(payloads.get('b')!));
  } finally {
    await t.close();
    await far.close();
  }
});

test('direct-tcpip: the target ends first, the client still sends, then ends too', { timeout: 60_000 }, async (ctx) => {
  let fromClient: Promise<Buffer> | null = null;
  const far = await target((s) => {
    fromClient = collect(s);
    // Half-close at once: our side is done, the client's is not.
    s.end(Buffer.from('greeting'));
    s.once('end', () => s.end());
  });
  const t = await startServer({ authenticate: passwordSecret, forwardLocal: () => true });
  closeOnTimeout(ctx, () => t.close(), () => far.close());
  try {
    const c = await t.connect({ password: 'secret' });
    const ch = await c.openDirectTcpip({ host: '127.0.0.1', port: far.port });
    const got = await collect(ch);
    assert.equal(got.toString(), 'greeting');
    // The channel is half-closed only: data still goes the other way.
    const big = randomBytes(1024 * 1024);
    // Listened for now: the channel may close before the target has read the
    // last bytes (the server's socket is done once they are in the kernel).
    const closed = once(ch, 'close');
    ch.end(big);
    assert.ok((await fromClient!)!.equals(big));
    await closed;
  } finally {
    await t.close();
    await far.close();
  }
});

test('direct-tcpip: the client ends first, the target answers after reading everything', { timeout: 60_000 }, async (ctx) => {
  const far = await target((s) => {
    let n = 0;
    s.on('data', (d: Buffer) => (n += d.length));
    s.once('end', () => s.end(`read ${n}`));
  });
  const t = await startServer({ authenticate: passwordSecret, forwardLocal: () => true });
  closeOnTimeout(ctx, () => t.close(), () => far.close());
  try {
    const c = await t.connect({ password: 'secret' });
    const ch = await c.openDirectTcpip({ host: '127.0.0.1', port: far.port });
    const got = collect(ch);
    // Listened for now: 'close' may come in the same turn as 'end'.
    const closed = once(ch, 'close');
    ch.end(Buffer.alloc(3 * 1024 * 1024 + 5, 1));
    assert.equal((await got).toString(), `read ${3 * 1024 * 1024 + 5}`);
    await closed;
  } finally {
    await t.close();
    await far.close();
  }
});

test('direct-tcpip: a target that closes at once, or resets in the middle, closes the channel', { timeout: 60_000 }, async (ctx) => {
  let mode: 'close' | 'reset' = 'close';
  const far = await target((s) => {
    if (mode === 'close') return void s.destroy();
    // Once the channel is surely open (the client's first byte came).
    s.once('data', () => s.write(Buffer.alloc(256 * 1024, 2), () => s.resetAndDestroy()));
  });
  const t = await startServer({ authenticate: passwordSecret, forwardLocal: () => true });
  closeOnTimeout(ctx, () => t.close(), () => far.close());
  try {
    const c = await t.connect({ password: 'secret' });
    // The client ends its side on EOF, as ssh does once its local socket
    // closes. 'close' is listened for before the channel may close.
    const open = async () => {
      const ch = await c.openDirectTcpip({ host: '127.0.0.1', port: far.port });
      const closed = once(ch, 'close');
      ch.once('end', () => ch.end());
      ch.resume();
      return { ch, closed };
    };
    await (await open()).closed;
    mode = 'reset';
    const second = await open();
    second.ch.write('x');
    await second.closed;
    // The connection is still good for more.
    mode = 'close';
    await (await open()).closed;
  } finally {
    await t.close();
    await far.close();
  }
});

test('direct-tcpip: a client that does not read holds the target back instead of filling the server', { timeout: 60_000 }, async (ctx) => {
  const total = 128 * 1024 * 1024;
  const chunk = Buffer.alloc(256 * 1024, 3);
  let written = 0;
  let far: Target | null = null;
  far = await target((s) => {
    const pump = (): void => {
      while (written < total) {
        written += chunk.length;
        if (!s.write(chunk)) return void s.once('drain', pump);
      }
      s.end();
    };
    pump();
  });
  const t = await startServer({ authenticate: passwordSecret, forwardLocal: () => true });
  closeOnTimeout(ctx, () => t.close(), () => far!.close());
  try {
    const c = await t.connect({ password: 'secret' });
    const ch = await c.openDirectTcpip({ host: '127.0.0.1', port: far.port });
    ch.pause();
    // Let it run into the closed window; what the target got rid of is
    // bounded by the window and the sockets' buffers (the kernel's may grow
    // to a few MiB each), not by the total.
    let last = -1;
    while (written !== last) {
      last = written;
      await delay(200);
    }
    assert.ok(written < 64 * 1024 * 1024, `the target wrote ${written} bytes into a channel no one reads`);
    let got = 0;
    ch.on('data', (d: Buffer) => (got += d.length));
    ch.resume();
    await once(ch, 'end');
    assert.equal(got, total);
  } finally {
    await t.close();
    await far.close();
  }
});
