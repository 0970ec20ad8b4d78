// Channel types and global requests answered by name: what a library user
// registers on a Client or a ServerConnection works from the other side;
// what nobody registered is refused as the protocol says.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { ChannelOpenError } from '../../src/io/node/node-endpoint.js';
import type { Channel } from '../../src/io/node/channel.js';
import { Registries, type GlobalRequestAnswer, type RequestAnswerer } from '../../src/io/node/registries.js';
import { OpenFailureReason } from '../../src/messages/connection.js';
import { ProtocolError, TimeoutError } from '../../src/errors.js';
import type { ServerConnection } from '../../src/server/server.js';
import { startServer, passwordSecret, roundTrip } from './server-helpers.js';

const text = (b: Uint8Array) => Buffer.from(b).toString();
const bytes = (s: string) => new Uint8Array(Buffer.from(s));

/** A server whose connections are handed to `setup` as they come (before login). */
async function serverWith(setup: (conn: ServerConnection) => void) {
  const t = await startServer({ authenticate: passwordSecret });
  t.server.on('connection', setup);
  return t;
}

function refusedWith(reason: number) {
  return (e: unknown) => e instanceof ChannelOpenError && e.openReason === reason;
}

test('a channel type a library user registers on the server is opened by the client and carries data both ways', async () => {
  const seen: string[] = [];
  const t = await serverWith((conn) =>
    conn.handleChannelOpen('upper@example.com', (open) => {
      seen.push(text(open.data));
      const ch = open.accept();
      ch.on('data', (d: Buffer) => ch.write(d.toString().toUpperCase()));
      ch.on('end', () => ch.end());
    }),
  );
  try {
    const c = await t.connect({ password: 'secret' });
    const ch = await c.openChannel('upper@example.com', bytes('hello'));
    assert.equal((await roundTrip(ch, 'shout')).toString(), 'SHOUT');
    assert.deepEqual(seen, ['hello']);
  } finally {
    await t.close();
  }
});

test('a channel type registered on the client is opened by the server; unregistered types are refused with UNKNOWN_CHANNEL_TYPE both ways', async () => {
  const conns: ServerConnection[] = [];
  const t = await serverWith((conn) => conns.push(conn));
  try {
    const c = await t.connect({ password: 'secret' });
    c.handleChannelOpen('auth-agent@openssh.com', (open) => {
      const ch = open.accept();
      ch.end('agent here');
    });
    const conn = conns[0]!;
    const ch = await conn.openChannel('auth-agent@openssh.com');
    ch.resume();
    const [first] = (await once(ch, 'data')) as [Buffer];
    assert.equal(first.toString(), 'agent here');

    await assert.rejects(conn.openChannel('x11'), refusedWith(OpenFailureReason.UNKNOWN_CHANNEL_TYPE));
    // The client knows remote Unix-socket forwards now: this open, without the type's fields, is refused as malformed.
    await assert.rejects(conn.openChannel('forwarded-streamlocal@openssh.com'), refusedWith(OpenFailureReason.CONNECT_FAILED));
    await assert.rejects(c.openChannel('no-such-type@example.com'), refusedWith(OpenFailureReason.UNKNOWN_CHANNEL_TYPE));
    // Removed again: unknown.
    c.handleChannelOpen('auth-agent@openssh.com', null);
    await assert.rejects(conn.openChannel('auth-agent@openssh.com'), refusedWith(OpenFailureReason.UNKNOWN_CHANNEL_TYPE));
    assert.equal(c.node.error, null, 'refusals leave the connection up');
  } finally {
    await t.close();
  }
});

test("Nacre's own types are registered too: a user may replace or remove them", async () => {
  const t = await serverWith((conn) => {
    conn.handleChannelOpen('session', null);
    conn.handleChannelOpen('direct-tcpip', (open) => {
      // An in-process service instead of a TCP connection.
      const ch = open.accept();
      ch.end('served in process');
    });
  });
  try {
    const c = await t.connect({ password: 'secret' });
    await assert.rejects(c.exec('true'), refusedWith(OpenFailureReason.UNKNOWN_CHANNEL_TYPE));
    const ch = await c.openDirectTcpip({ host: 'db.internal', port: 5432 });
    assert.equal((await roundTrip(ch, '')).toString(), 'served in process');
  } finally {
    await t.close();
  }
});

test('a handler that does not answer refuses the open; one that throws refuses it with CONNECT_FAILED and reports the error', async () => {
  const errors: Error[] = [];
  const t = await serverWith((conn) => {
    conn.handleChannelOpen('forgetful@example.com', () => undefined);
    conn.handleChannelOpen('slow-forgetful@example.com', async () => undefined);
    conn.handleChannelOpen('throws@example.com', () => {
      throw new Error('handler bug');
    });
    conn.handleChannelOpen('rejects@example.com', async () => {
      throw new Error('async handler bug');
    });
    // Malformed data from the peer is the peer's fault, not an error to report.
    conn.handleChannelOpen('malformed@example.com', () => {
      throw new ProtocolError('malformed request');
    });
    conn.handleChannelOpen('too-late@example.com', (open) => {
      setImmediate(() => assert.throws(() => open.accept(), /answered already/));
    });
  });
  t.server.on('error', (e) => errors.push(e));
  try {
    const c = await t.connect({ password: 'secret' });
    await assert.rejects(c.openChannel('forgetful@example.com'), refusedWith(OpenFailureReason.ADMINISTRATIVELY_PROHIBITED));
    await assert.rejects(c.openChannel('slow-forgetful@example.com'), refusedWith(OpenFailureReason.ADMINISTRATIVELY_PROHIBITED));
    await assert.rejects(c.openChannel('throws@example.com'), refusedWith(OpenFailureReason.CONNECT_FAILED));
    await assert.rejects(c.openChannel('rejects@example.com'), refusedWith(OpenFailureReason.CONNECT_FAILED));
    await assert.rejects(c.openChannel('malformed@example.com'), refusedWith(OpenFailureReason.CONNECT_FAILED));
    await assert.rejects(c.openChannel('too-late@example.com'), refusedWith(OpenFailureReason.ADMINISTRATIVELY_PROHIBITED));
    assert.deepEqual(
      errors.map((e) => e.message),
      ['handler bug', 'async handler bug'],
    );
    assert.equal(c.node.error, null);
    assert.equal((await c.exec('true').catch((e: unknown) => e)) instanceof ChannelOpenError, true, 'sessions are still refused by default');
  } finally {
    await t.close();
  }
});

test('global requests: registered names answer (with data), unknown ones fail, both ways; replies keep request order', async () => {
  const conns: ServerConnection[] = [];
  let releaseSlow: (a: GlobalRequestAnswer) => void = () => undefined;
  const errors: Error[] = [];
  const t = await serverWith((conn) => {
    conns.push(conn);
    conn.handleGlobalRequest('echo@example.com', (req) => ({ success: true, data: req.data }));
    conn.handleGlobalRequest('no@example.com', () => false);
    conn.handleGlobalRequest('slow@example.com', () => new Promise<GlobalRequestAnswer>((r) => (releaseSlow = r)));
    conn.handleGlobalRequest('throws@example.com', () => {
      throw new Error('global handler bug');
    });
  });
  t.server.on('error', (e) => errors.push(e));
  try {
    const c = await t.connect({ password: 'secret' });
    const echoed = await c.globalRequest('echo@example.com', bytes('payload'));
    assert.equal(echoed.success, true);
    assert.equal(text(echoed.data), 'payload');
    assert.equal((await c.globalRequest('no@example.com')).success, false);
    assert.equal((await c.globalRequest('unknown@example.com')).success, false);
    assert.equal((await c.globalRequest('throws@example.com')).success, false);
    assert.deepEqual(
      errors.map((e) => e.message),
      ['global handler bug'],
    );

    // The slow request is answered after the quick one behind it: the
    // replies still leave in request order, as the client matches them.
    const slow = c.globalRequest('slow@example.com');
    const quick = c.globalRequest('echo@example.com', bytes('second'));
    const order: string[] = [];
    void slow.then(() => order.push('slow'));
    void quick.then(() => order.push('quick'));
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(order, [], 'the quick reply waits for the slow one');
    releaseSlow({ success: true, data: bytes('first') });
    assert.equal(text((await slow).data), 'first');
    assert.equal(text((await quick).data), 'second');
    assert.deepEqual(order, ['slow', 'quick']);

    // And from the server to a client handler.
    c.handleGlobalRequest('ping@example.com', (req) => ({ success: req.wantReply, data: bytes('pong') }));
    const pong = await conns[0]!.globalRequest('ping@example.com');
    assert.equal(text(pong.data), 'pong');
    assert.equal((await conns[0]!.globalRequest('unknown@example.com')).success, false);
  } finally {
    await t.close();
  }
});

/** A connection stand-in that records what the registries send. */
function recorder(): RequestAnswerer & { sent: string[]; error: Error | null } {
  return {
    sent: [],
    error: null,
    acceptChannel(id, type) {
      this.sent.push(`accept ${id} ${type}`);
      return {} as Channel;
    },
    rejectChannel(id, reason, description) {
      this.sent.push(`reject ${id} ${reason} ${description}`);
    },
    answerGlobalRequest(id, success, data) {
      this.sent.push(`answer ${id} ${success} ${data ? text(data) : '-'}`);
    },
  };
}

test('registries: one answer per open, none after the connection is gone, no reply unless wanted, no data on failure', () => {
  const host = recorder();
  const reported: unknown[] = [];
  const r = new Registries(host, (e) => reported.push(e));
  r.channelOpen.set('t', (open) => {
    open.accept();
    assert.throws(() => open.accept(), /answered already/);
    open.reject(2, 'ignored');
    assert.equal(open.answered, true);
  });
  r.openChannel(1, 't', new Uint8Array(0));
  r.openChannel(2, 'other', new Uint8Array(0));
  assert.deepEqual(host.sent, ['accept 1 t', 'reject 2 3 unknown channel type other']);

  host.sent.length = 0;
  r.globalRequest.set('g', (req) => ({ success: req.data.length > 0, data: bytes('reply') }));
  r.request(3, 'g', true, bytes('x'));
  r.request(4, 'g', true, new Uint8Array(0));
  r.request(5, 'g', false, bytes('x'));
  r.request(6, 'unknown', false, new Uint8Array(0));
  assert.deepEqual(host.sent, ['answer 3 true reply', 'answer 4 false -']);

  // The connection ended while a handler ran: nothing is sent, accept throws.
  host.sent.length = 0;
  host.error = new Error('connection lost');
  r.channelOpen.set('late', (open) => {
    assert.throws(() => open.accept(), /connection lost/);
  });
  r.openChannel(7, 'late', new Uint8Array(0));
  r.request(8, 'g', true, bytes('x'));
  assert.deepEqual(host.sent, []);

  // A throwing error sink does not escape.
  const r2 = new Registries(recorder(), () => {
    throw new Error('sink');
  });
  r2.channelOpen.set('bad', () => {
    throw new Error('bug');
  });
  assert.doesNotThrow(() => r2.openChannel(1, 'bad', new Uint8Array(0)));
  assert.deepEqual(reported, []);
});

test('a global-request handler that answers something else than a GlobalRequestAnswer still gets its request a failure reply, so later replies are not held back', async () => {
  const host = recorder();
  const reported: unknown[] = [];
  const r = new Registries(host, (e) => reported.push(e));
  // What plain JavaScript handlers return by mistake: nothing, a promise of nothing, strings, bad data.
  r.globalRequest.set('nothing', (() => undefined) as never);
  r.globalRequest.set('later-nothing', (async () => undefined) as never);
  r.globalRequest.set('null', (() => null) as never);
  r.globalRequest.set('string-data', (() => ({ success: true, data: 'text' })) as never);
  r.globalRequest.set('no-success', (() => ({ data: bytes('x') })) as never);
  r.globalRequest.set('ok', () => ({ success: true, data: bytes('fine') }));
  assert.doesNotThrow(() => r.request(1, 'nothing', true, new Uint8Array(0)));
  r.request(2, 'later-nothing', true, new Uint8Array(0));
  r.request(3, 'null', true, new Uint8Array(0));
  r.request(4, 'string-data', true, new Uint8Array(0));
  r.request(5, 'no-success', true, new Uint8Array(0));
  r.request(6, 'ok', true, new Uint8Array(0));
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(host.sent.sort(), ['answer 1 false -', 'answer 2 false -', 'answer 3 false -', 'answer 4 false -', 'answer 5 false -', 'answer 6 true fine']);
  assert.equal(reported.length, 5);
  assert.ok(reported.every((e) => e instanceof TypeError && /global request/.test(e.message)));
});

test('an accept() that throws (a bad windowSize) leaves the open to be refused with CONNECT_FAILED at once, not unanswered', async () => {
  const thrown: unknown[] = [];
  const t = await serverWith((conn) =>
    conn.handleChannelOpen('tiny@example.com', (open) => {
      try {
        open.accept({ windowSize: 0 });
      } catch (err) {
        thrown.push(err);
        assert.equal(open.answered, false);
        throw err;
      }
    }),
  );
  try {
    // Without an answer the open would only end at channelOpenTimeout.
    const c = await t.connect({ password: 'secret', channelOpenTimeout: 5000 });
    await assert.rejects(c.openChannel('tiny@example.com'), refusedWith(OpenFailureReason.CONNECT_FAILED));
    assert.equal(thrown.length, 1);
    assert.ok(thrown[0] instanceof RangeError, String(thrown[0]));
    assert.equal(c.node.error, null);
  } finally {
    await t.close();
  }
});

test('a handler that never settles: after the reply timeout the request fails and the open is refused, so later replies (keepalives) are not held back for good', async () => {
  const host = recorder();
  const reported: unknown[] = [];
  const r = new Registries(host, (e) => reported.push(e), { channelOpen: 30, globalRequest: 30 });
  const never = new Promise<never>(() => undefined);
  r.globalRequest.set('stuck', () => never);
  r.globalRequest.set('quiet', () => never);
  r.channelOpen.set('stuck', () => never);
  r.request(1, 'stuck', true, new Uint8Array(0));
  r.request(2, 'quiet', false, new Uint8Array(0));
  r.openChannel(3, 'stuck', new Uint8Array(0));
  for (const end = Date.now() + 5000; host.sent.length < 2 && Date.now() < end; ) await new Promise((res) => setTimeout(res, 10));
  assert.deepEqual(host.sent.sort(), ['answer 1 false -', 'reject 3 2 stuck channel not answered in time']);
  assert.equal(reported.length, 2);
  assert.ok(reported.every((e) => e instanceof TimeoutError));

  // Over the wire: the client's handler never answers; the server's next request still gets its reply.
  const conns: ServerConnection[] = [];
  const t = await serverWith((conn) => conns.push(conn));
  try {
    const c = await t.connect({ password: 'secret', globalRequestTimeout: 200, channelOpenTimeout: 200 });
    c.handleGlobalRequest('stuck@example.com', () => never);
    c.handleGlobalRequest('fine@example.com', () => true);
    c.handleChannelOpen('stuck@example.com', () => never);
    const conn = conns[0]!;
    const [stuck, fine] = await Promise.all([conn.globalRequest('stuck@example.com'), conn.globalRequest('fine@example.com')]);
    assert.equal(stuck.success, false);
    assert.equal(fine.success, true);
    await assert.rejects(conn.openChannel('stuck@example.com'), refusedWith(OpenFailureReason.CONNECT_FAILED));
  } finally {
    await t.close();
  }
});
