// src/mux: the control-socket protocol's codec (round trips, framing, fuzz),
// the stream windows, and master and client state machines wired to each
// other in memory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProtocolError } from '../../src/errors.js';
import { decodeMuxBody, encodeMuxBody, encodeMuxMessage, MuxFramer, MuxType, MAX_MUX_MESSAGE, type MuxMessage } from '../../src/mux/codec.js';
import { MuxMasterConnection, type MuxMasterHost, type MuxSessionSink, type MuxSessionBackend } from '../../src/mux/master.js';
import { MuxClientConnection, MuxRequestError, type MuxClientSession } from '../../src/mux/client.js';
import { IncomingStream, OutgoingStream, MUX_WINDOW } from '../../src/mux/window.js';
import { fuzz } from './fuzz-helpers.js';
import { Writer } from '../../src/wire/writer.js';

const fwd = { kind: 'remote', listenHost: 'localhost', listenPort: 0, connectHost: '127.0.0.1', connectPort: 22 } as const;
const SAMPLES: MuxMessage[] = [
  { type: 'hello', version: 4, extensions: [] },
  { type: 'hello', version: 4, extensions: [['session@nacre', '1'], ['x', '']] },
  { type: 'new-session', requestId: 1, command: 'uname -a' },
  { type: 'new-stdio-fwd', requestId: 2, host: 'h', port: 80 },
  { type: 'alive-check', requestId: 3 },
  { type: 'terminate', requestId: 4 },
  { type: 'open-fwd', requestId: 5, forward: fwd },
  { type: 'close-fwd', requestId: 6, forward: { ...fwd, kind: 'local', listenHost: '/tmp/s', listenPort: 0xfffffffe } },
  { type: 'stop-listening', requestId: 7 },
  { type: 'proxy', requestId: 8 },
  { type: 'ok', requestId: 9 },
  { type: 'permission-denied', requestId: 10, reason: 'no' },
  { type: 'failure', requestId: 11, reason: 'broken' },
  { type: 'exit-message', sessionId: 1, exitValue: 3 },
  { type: 'alive', requestId: 12, pid: 4242 },
  { type: 'session-opened', requestId: 13, sessionId: 2 },
  { type: 'remote-port', requestId: 14, port: 40000 },
  { type: 'tty-alloc-fail', sessionId: 2 },
  { type: 'nacre-session', requestId: 15, session: { kind: 'exec', command: 'ls', pty: null, env: [['LANG', 'C']] } },
  // A command that is not UTF-8 stays its bytes (test/core/mux-command-bytes.test.ts).
  { type: 'nacre-session', requestId: 17, session: { kind: 'exec', command: new Uint8Array([0x63, 0x61, 0x74, 0x20, 0x78, 0xff]), pty: null, env: [] } },
  { type: 'new-session', requestId: 18, command: new Uint8Array([0x6c, 0x73, 0x20, 0xfe]) },
  { type: 'nacre-session', requestId: 16, session: { kind: 'shell', command: '', pty: { term: 'xterm', cols: 80, rows: 24, width: 0, height: 0, modes: { ECHO: 1 } }, env: [] } },
  { type: 'nacre-resize', sessionId: 1, cols: 100, rows: 40, width: 0, height: 0 },
  { type: 'nacre-signal', sessionId: 1, signal: 'TERM' },
  { type: 'nacre-close', sessionId: 1 },
  { type: 'nacre-exit', sessionId: 1, code: 0, signal: null, coreDumped: false, message: '' },
  { type: 'nacre-exit', sessionId: 1, code: null, signal: 'KILL', coreDumped: true, message: 'killed' },
  { type: 'nacre-data', sessionId: 1, stream: 'stderr', data: new Uint8Array([1, 2, 3]) },
  { type: 'nacre-eof', sessionId: 1, stream: 'stdin' },
  { type: 'nacre-window', sessionId: 1, stream: 'stdout', bytes: 65536 },
];

function plain(m: MuxMessage): unknown {
  return JSON.parse(JSON.stringify(m, (_k, v) => (v instanceof Uint8Array ? [...v] : v)));
}

test('every message decodes to what was encoded', () => {
  for (const m of SAMPLES) assert.deepEqual(plain(decodeMuxBody(encodeMuxBody(m))), plain(m), m.type);
});

test("OpenSSH's wire layout: alive check and the reply -O check reads", () => {
  assert.deepEqual([...encodeMuxMessage({ type: 'alive-check', requestId: 1 })], [0, 0, 0, 8, 0x10, 0, 0, 4, 0, 0, 0, 1]);
  assert.equal(new DataView(encodeMuxBody({ type: 'alive', requestId: 1, pid: 7 }).buffer).getUint32(0), MuxType.S_ALIVE);
});

test('an unknown type is kept with its request id; trailing bytes after a known message are refused', () => {
  const m = decodeMuxBody(new Uint8Array([0x10, 0, 0, 0x99, 0, 0, 0, 5]));
  assert.deepEqual(m, { type: 'unknown', code: 0x10000099, requestId: 5 });
  const body = encodeMuxBody({ type: 'ok', requestId: 1 });
  assert.throws(() => decodeMuxBody(new Uint8Array([...body, 0])), ProtocolError);
});

test('the framer splits a stream cut at every byte, and refuses lengths past the limit before buffering', () => {
  const stream = new Uint8Array(SAMPLES.flatMap((m) => [...encodeMuxMessage(m)]));
  for (const cut of [1, 2, 3, 5, 7, 64]) {
    const f = new MuxFramer();
    const got: MuxMessage[] = [];
    for (let i = 0; i < stream.length; i += cut) {
      f.push(stream.subarray(i, i + cut));
      for (let b = f.next(); b; b = f.next()) got.push(decodeMuxBody(b));
    }
    assert.deepEqual(got.map(plain), SAMPLES.map(plain));
    assert.equal(f.pending, 0);
  }
  const f = new MuxFramer();
  f.push(new Uint8Array([0, 0x10, 0, 1]));
  assert.throws(() => f.next(), (e: unknown) => e instanceof ProtocolError && e.message.includes(String(MAX_MUX_MESSAGE)));
  const g = new MuxFramer();
  g.push(new Uint8Array([0, 0, 0, 2, 0, 0]));
  assert.throws(() => g.next(), ProtocolError);
});

test('fuzz: mutated and random bodies decode or fail with ProtocolError only', () => {
  const n = fuzz('mux-codec', SAMPLES.map(encodeMuxBody), 20000, decodeMuxBody, (e) => e instanceof ProtocolError);
  assert.ok(n > 20000);
});

test('fuzz: a master fed garbage closes with a reason and never throws', () => {
  let runs = 0;
  fuzz(
    'mux-master',
    SAMPLES.map(encodeMuxMessage),
    4000,
    (input) => {
      runs++;
      const m = new MuxMasterConnection(fakeHost().host);
      m.receive(encodeMuxMessage({ type: 'hello', version: 4, extensions: [] }));
      m.receive(input);
    },
    () => false,
  );
  assert.ok(runs > 4000);
});

test('outgoing stream: sends only within the window, queues the rest, EOF after the data', () => {
  const sent: MuxMessage[] = [];
  const o = new OutgoingStream((m) => sent.push(m), 1, 'stdout');
  assert.equal(o.write(new Uint8Array(MUX_WINDOW - 10)), true);
  assert.equal(o.write(new Uint8Array(100)), false, 'past the window: the caller must wait');
  o.end();
  const bytes = () => sent.reduce((n, m) => n + (m.type === 'nacre-data' ? m.data.length : 0), 0);
  assert.equal(bytes(), MUX_WINDOW);
  assert.equal(sent.at(-1)?.type, 'nacre-data');
  let drained = false;
  o.onDrain(() => (drained = true));
  o.grant(1000);
  assert.equal(bytes(), MUX_WINDOW + 90);
  assert.equal(sent.at(-1)?.type, 'nacre-eof');
  assert.ok(drained && o.finished);
  assert.throws(() => o.grant(0xffffffff), ProtocolError);
});

test('incoming stream: data past the window or after EOF is a ProtocolError; consumption grants in half windows', () => {
  const sent: MuxMessage[] = [];
  const i = new IncomingStream((m) => sent.push(m), 1, 'stdin');
  i.received(MUX_WINDOW);
  assert.throws(() => i.received(1), ProtocolError);
  i.consumed(MUX_WINDOW / 2 - 1);
  assert.equal(sent.length, 0);
  i.consumed(1);
  assert.deepEqual(sent, [{ type: 'nacre-window', sessionId: 1, stream: 'stdin', bytes: MUX_WINDOW / 2 }]);
  i.received(MUX_WINDOW / 2);
  i.receivedEof();
  assert.throws(() => i.received(1), ProtocolError);
});

// A master and a client joined in memory; the master's sessions are fakes
// the test drives.
interface FakeSession {
  readonly sink: MuxSessionSink;
  readonly stdin: Uint8Array[];
  stdinEnded: boolean;
  closed: boolean;
  signals: string[];
  resized: number[];
  /** stdin callbacks not yet called: the "remote" is slow. */
  readonly held: (() => void)[];
  holdStdin: boolean;
}

function fakeHost() {
  const events: string[] = [];
  const sessions: FakeSession[] = [];
  const out: Uint8Array[] = [];
  const host: MuxMasterHost = {
    pid: 1234,
    send: (b) => void out.push(b),
    close: (reason) => void events.push(`close: ${reason}`),
    terminate: () => void events.push('terminate'),
    stopListening: () => void events.push('stop'),
    openForward: async (f) => {
      if (f.connectHost === 'refuse') throw new Error('administratively prohibited');
      return { allocatedPort: 40001 };
    },
    closeForward: async () => void events.push('cancel'),
    openSession: async (req, sink): Promise<MuxSessionBackend> => {
      if (req.command === 'refuse') throw new Error('the server refused to run "refuse"');
      const s: FakeSession = { sink, stdin: [], stdinEnded: false, closed: false, signals: [], resized: [], held: [], holdStdin: false };
      sessions.push(s);
      return {
        stdin: (d, done) => {
          s.stdin.push(d);
          if (s.holdStdin) s.held.push(done);
          else done();
        },
        stdinEnd: () => void (s.stdinEnded = true),
        signal: (n) => void s.signals.push(n),
        resize: (c, r) => void s.resized.push(c, r),
        close: () => void (s.closed = true),
      };
    },
  };
  return { host, events, sessions, out };
}

function pair() {
  const h = fakeHost();
  const clientClosed: string[] = [];
  let master!: MuxMasterConnection;
  const client = new MuxClientConnection({ send: (b) => queueMicrotask(() => master.receive(b)), close: (r) => void clientClosed.push(r) });
  h.host.send = (b) => void queueMicrotask(() => client.receive(b));
  master = new MuxMasterConnection(h.host);
  return { ...h, master, client, clientClosed };
}

const tick = () => new Promise((r) => setImmediate(r));

test('master and client: hello, alive check, forward (port 0 answered with the port), refusal, stop, terminate', async () => {
  const p = pair();
  const hello = await p.client.hello;
  assert.equal(hello.version, 4);
  assert.equal(await p.client.aliveCheck(), 1234);
  assert.equal(await p.client.openForward(fwd), 40001);
  assert.equal(await p.client.openForward({ ...fwd, kind: 'local', listenPort: 9000 }), null);
  await assert.rejects(p.client.openForward({ ...fwd, connectHost: 'refuse' }), (e: unknown) => e instanceof MuxRequestError && e.message === 'administratively prohibited');
  await p.client.closeForward(fwd);
  await p.client.stopListening();
  await p.client.terminate();
  assert.deepEqual(p.events, ['cancel', 'stop', 'terminate']);
});

test('a session: output, stdin, EOF both ways, resize, signal, then the exit after all output', async () => {
  const p = pair();
  const got = { stdout: '', stderr: '', ends: [] as string[], exit: null as unknown };
  const s = await p.client.openSession(
    { kind: 'exec', command: 'cmd', pty: null, env: [] },
    { output: (n, d) => void (got[n] += Buffer.from(d).toString()), end: (n) => void got.ends.push(n), exit: (e) => void (got.exit = e) },
  );
  const fake = p.sessions[0]!;
  s.write(Buffer.from('input'));
  s.end();
  s.resize(100, 30);
  s.signal('SIGINT');
  fake.sink.output('stdout', Buffer.from('out'));
  fake.sink.output('stderr', Buffer.from('err'));
  fake.sink.exit({ code: 3, signal: null });
  await tick();
  assert.equal(got.exit, null, 'no exit before both streams ended');
  fake.sink.end('stdout');
  fake.sink.end('stderr');
  await tick();
  assert.equal(Buffer.concat(fake.stdin).toString(), 'input');
  assert.ok(fake.stdinEnded);
  assert.deepEqual(fake.resized, [100, 30]);
  assert.deepEqual(fake.signals, ['INT']);
  assert.equal(got.stdout, 'out');
  assert.equal(got.stderr, 'err');
  assert.deepEqual(got.ends, ['stdout', 'stderr']);
  assert.deepEqual(got.exit, { code: 3, signal: null, coreDumped: false, message: '' });
});

test('a refused session is a MuxRequestError with the reason; the connection lives on', async () => {
  const p = pair();
  await assert.rejects(p.client.openSession({ kind: 'exec', command: 'refuse', pty: null, env: [] }, { output() {}, end() {}, exit() {} }), /refused to run/);
  assert.equal(await p.client.aliveCheck(), 1234);
});

test('backpressure: a client that does not consume gets one window of output, then the master pauses its source', async () => {
  const p = pair();
  let received = 0;
  const s: MuxClientSession = await p.client.openSession({ kind: 'exec', command: 'cat', pty: null, env: [] }, { output: (_n, d) => void (received += d.length), end() {}, exit() {} });
  const fake = p.sessions[0]!;
  const chunk = new Uint8Array(32 * 1024);
  let writes = 0;
  while (fake.sink.output('stdout', chunk)) writes++;
  await tick();
  assert.equal(received, MUX_WINDOW, 'exactly one window arrived');
  assert.equal(writes, MUX_WINDOW / chunk.length, 'the write that fills the window still succeeds');
  let resumed = false;
  fake.sink.onDrain('stdout', () => (resumed = true));
  s.consumed('stdout', MUX_WINDOW);
  await tick();
  await tick();
  assert.ok(resumed, 'consuming reopens the window and the source resumes');
  assert.equal(received, MUX_WINDOW + chunk.length);
});

test('backpressure the other way: a slow remote stdin holds the client writer at one window', async () => {
  const p = pair();
  const s = await p.client.openSession({ kind: 'exec', command: 'cat', pty: null, env: [] }, { output() {}, end() {}, exit() {} });
  const fake = p.sessions[0]!;
  fake.holdStdin = true;
  const chunk = new Uint8Array(64 * 1024);
  let accepted = 0;
  while (s.write(chunk)) accepted++;
  await tick();
  const bytes = () => fake.stdin.reduce((n, b) => n + b.length, 0);
  assert.equal(bytes(), MUX_WINDOW);
  let drained = false;
  s.onDrain(() => (drained = true));
  for (const done of fake.held.splice(0)) done();
  await tick();
  await tick();
  assert.ok(drained);
  assert.equal(bytes(), MUX_WINDOW + chunk.length);
});

test('a client sending past its window is cut off, and its sessions are closed', async () => {
  const p = pair();
  await p.client.openSession({ kind: 'exec', command: 'cat', pty: null, env: [] }, { output() {}, end() {}, exit() {} });
  p.sessions[0]!.holdStdin = true;
  p.master.receive(encodeMuxMessage({ type: 'nacre-data', sessionId: 1, stream: 'stdin', data: new Uint8Array(60000) }));
  for (let i = 0; i < 5; i++) p.master.receive(encodeMuxMessage({ type: 'nacre-data', sessionId: 1, stream: 'stdin', data: new Uint8Array(60000) }));
  assert.match(p.events.join(), /close: mux: the peer sent/);
  assert.ok(p.sessions[0]!.closed);
});

test("OpenSSH's session request: refused with a reason, the descriptor bytes skipped, the next request answered", () => {
  const h = fakeHost();
  const m = new MuxMasterConnection(h.host);
  const replies = () => {
    const f = new MuxFramer();
    for (const b of h.out) f.push(b);
    const all: MuxMessage[] = [];
    for (let b = f.next(); b; b = f.next()) all.push(decodeMuxBody(b));
    return all;
  };
  m.receive(encodeMuxMessage({ type: 'hello', version: 4, extensions: [] }));
  // ssh sends the request, then three descriptors with one byte each; the next request comes in the same read.
  m.receive(new Uint8Array([...encodeMuxMessage({ type: 'new-session', requestId: 1, command: 'id' }), 0, 0]));
  m.receive(new Uint8Array([0, ...encodeMuxMessage({ type: 'alive-check', requestId: 2 })]));
  const r = replies();
  assert.equal(r[0]?.type, 'hello');
  assert.equal(r[1]?.type, 'failure');
  assert.match((r[1] as { reason: string }).reason, /cannot receive file descriptors/);
  assert.deepEqual(r[2], { type: 'alive', requestId: 2, pid: 1234 });
  assert.deepEqual(h.events, []);
});

test('the master refuses a wrong first message or version, and a client-bound message', () => {
  for (const first of [encodeMuxMessage({ type: 'alive-check', requestId: 1 }), encodeMuxMessage({ type: 'hello', version: 3, extensions: [] })]) {
    const h = fakeHost();
    new MuxMasterConnection(h.host).receive(first);
    assert.equal(h.events.length, 1);
    assert.match(h.events[0]!, /^close: mux: /);
  }
  const h = fakeHost();
  const m = new MuxMasterConnection(h.host);
  m.receive(encodeMuxMessage({ type: 'hello', version: 4, extensions: [] }));
  m.receive(encodeMuxMessage({ type: 'alive', requestId: 1, pid: 1 }));
  assert.match(h.events[0]!, /a master's message/);
});

test('the client: the connection closing fails pending requests and ends sessions with no status', async () => {
  const p = pair();
  let exit: unknown = null;
  await p.client.openSession({ kind: 'exec', command: 'x', pty: null, env: [] }, { output() {}, end() {}, exit: (e) => void (exit = e) });
  const pending = p.client.aliveCheck();
  p.client.disconnected();
  await assert.rejects(pending, (e: unknown) => e instanceof MuxRequestError && e.kind === 'closed');
  assert.deepEqual(exit, { code: null, signal: null, message: 'the control connection closed' });
});

test('ControlMaster ask: a refused request is MUX_S_PERMISSION_DENIED and nothing runs; alive checks are not asked', async () => {
  const p = pair();
  const asked: string[] = [];
  p.host.permit = async (what) => (asked.push(what), false);
  assert.equal(await p.client.aliveCheck(), 1234);
  await assert.rejects(p.client.terminate(), (e: unknown) => e instanceof MuxRequestError && e.kind === 'permission-denied');
  await assert.rejects(p.client.openForward({ ...fwd, kind: 'local', listenPort: 80 }), /Permission denied/);
  await assert.rejects(p.client.openSession({ kind: 'exec', command: 'x', pty: null, env: [] }, { output() {}, end() {}, exit() {} }), /Permission denied/);
  assert.deepEqual(asked, ['Terminate shared connection?', 'Open local forward localhost:80 -> 127.0.0.1:22?', 'Allow shared connection?']);
  assert.deepEqual(p.events, []);
  assert.equal(p.sessions.length, 0);
});

test('fuzz: a client fed garbage after the hello closes with a reason and never throws', () => {
  let runs = 0;
  const replies: MuxMessage[] = [
    { type: 'ok', requestId: 1 },
    { type: 'alive', requestId: 1, pid: 5 },
    { type: 'nacre-data', sessionId: 1, stream: 'stdout', data: new Uint8Array([1, 2]) },
    { type: 'nacre-exit', sessionId: 1, code: 0, signal: null, coreDumped: false, message: '' },
  ];
  fuzz(
    'mux-client',
    replies.map(encodeMuxMessage),
    4000,
    (input) => {
      runs++;
      const c = new MuxClientConnection({ send() {}, close() {} });
      c.receive(encodeMuxMessage({ type: 'hello', version: 4, extensions: [['session@nacre', '1']] }));
      c.aliveCheck().catch(() => {});
      c.receive(input);
    },
    () => false,
  );
  assert.ok(runs > 4000);
});

test("the session request as OpenSSH's mux.c writes it (uint32 flags, TERM, command, environment) is read and refused", () => {
  const w = new Writer();
  w.uint32(MuxType.C_NEW_SESSION).uint32(7).string('').uint32(1).uint32(0).uint32(1).uint32(0).uint32(0x7e).string('xterm-256color').string('uname -a').string('LANG=C');
  const m = decodeMuxBody(w.finish());
  assert.deepEqual(m, { type: 'new-session', requestId: 7, command: 'uname -a' });
});

test('terminate: a master that closes instead of answering (as OpenSSH often does) has done it; one already gone has not', async () => {
  const sent: Uint8Array[] = [];
  const c = new MuxClientConnection({ send: (b) => void sent.push(b), close() {} });
  c.receive(encodeMuxMessage({ type: 'hello', version: 4, extensions: [] }));
  const t = c.terminate();
  c.disconnected('the master closed the connection');
  await t;
  await assert.rejects(c.terminate(), (e: unknown) => e instanceof MuxRequestError && e.kind === 'closed');
});

test('stdin, EOF and window messages for a session that just ended are dropped, not a protocol error; for one never opened they are', async () => {
  const p = pair();
  let exited = false;
  const s = await p.client.openSession({ kind: 'exec', command: 'x', pty: null, env: [] }, { output() {}, end() {}, exit: () => void (exited = true) });
  const fake = p.sessions[0]!;
  fake.sink.end('stdout');
  fake.sink.end('stderr');
  fake.sink.exit({ code: 0, signal: null });
  // The client writes before it hears of the exit.
  s.write(Buffer.from('late input'));
  s.end();
  p.master.receive(encodeMuxMessage({ type: 'nacre-window', sessionId: s.id, stream: 'stdout', bytes: 10 }));
  await tick();
  assert.ok(exited);
  assert.deepEqual(p.events, []);
  assert.equal(await p.client.aliveCheck(), 1234);
  p.master.receive(encodeMuxMessage({ type: 'nacre-data', sessionId: 99, stream: 'stdin', data: new Uint8Array(1) }));
  assert.match(p.events.join(), /no session 99/);
});

test('the client: output and exit in the same read as the session-opened reply reach the session', async () => {
  const sent: Uint8Array[] = [];
  const client = new MuxClientConnection({ send: (b) => void sent.push(b), close: () => undefined });
  client.receive(encodeMuxMessage({ type: 'hello', version: 4, extensions: [['session@nacre', '1']] }));
  const hello = await client.hello;
  const extension = hello.extensions[0]![0];
  assert.equal(extension, 'session@nacre');
  const out: string[] = [];
  let exit: unknown = null;
  const opening = client.openSession({ kind: 'exec', command: 'uname', pty: null, env: [] }, {
    output: (_s, d) => void out.push(Buffer.from(d).toString()),
    end() {},
    exit: (e) => void (exit = e),
  });
  // Let openSession send its request (it first awaits the hello).
  await new Promise((r) => setImmediate(r));
  const request = decodeMuxBody(sent.at(-1)!.subarray(4));
  assert.equal(request.type, 'nacre-session');
  const requestId = (request as { requestId: number }).requestId;
  client.receive(
    Buffer.concat([
      encodeMuxMessage({ type: 'session-opened', requestId, sessionId: 7 }),
      encodeMuxMessage({ type: 'nacre-data', sessionId: 7, stream: 'stdout', data: Buffer.from('Linux\n') }),
      encodeMuxMessage({ type: 'nacre-exit', sessionId: 7, code: 0, signal: null, coreDumped: false, message: '' }),
    ]),
  );
  await opening;
  assert.deepEqual(out, ['Linux\n']);
  assert.deepEqual(exit, { code: 0, signal: null, coreDumped: false, message: '' });
});
