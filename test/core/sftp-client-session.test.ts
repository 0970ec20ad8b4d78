// The sans-I/O SFTP client session: INIT/VERSION, request ids, replies
// matched to their requests in any order, and the protocol errors that end a
// session (a reply nobody asked for, a reply of the wrong type, a malformed
// packet) failing every waiting request cleanly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SftpClientSession, quickReply, type SftpServerHello } from '../../src/sftp/client-session.js';
import { FXP, FX, MAX_RECEIVE_PACKET } from '../../src/sftp/constants.js';
import { FxpInit, FxpVersion, decodeRequest, decodeResponse, encodeResponse, type SftpResponse } from '../../src/sftp/messages.js';
import { SftpReplyReader, type ReceivedPacket } from '../../src/sftp/client-receiver.js';
import { seededRandom } from '../../src/testing/random.js';
import { SftpFramer, frame } from '../../src/sftp/framing.js';
import { ProtocolError } from '../../src/errors.js';
import { fuzz } from './fuzz-helpers.js';

/** A session with its output collected as whole packets, and a server that has said hello. */
function harness(extensions: [string, Uint8Array][] = []) {
  const framer = new SftpFramer(MAX_RECEIVE_PACKET);
  const sent: Uint8Array[] = [];
  const s = new SftpClientSession((b) => {
    framer.push(b.slice());
    for (let p = framer.next(); p !== undefined; p = framer.next()) sent.push(p);
  });
  let hello: SftpServerHello | null = null;
  let failure: Error | null = null;
  s.onHello = (h) => (hello = h);
  s.onFailure = (e) => (failure = e);
  s.start();
  s.receive(frame(FxpVersion.encode({ version: 3, extensions })));
  return { s, sent, hello: () => hello, failure: () => failure };
}

const reply = (r: SftpResponse) => frame(encodeResponse(r));
const ok = (id: number): SftpResponse => ({ type: 'status', id, code: FX.OK, text: { message: '', lang: '' } });

test('INIT goes out first; VERSION gives the version and the extensions with their data', () => {
  const h = harness([
    ['posix-rename@openssh.com', new TextEncoder().encode('1')],
    ['limits@openssh.com', new TextEncoder().encode('1')],
  ]);
  assert.deepEqual(FxpInit.decode(h.sent[0]!), { version: 3, extensions: [] });
  assert.equal(h.hello()!.version, 3);
  assert.deepEqual([...h.hello()!.extensions.keys()], ['posix-rename@openssh.com', 'limits@openssh.com']);
  assert.equal(new TextDecoder().decode(h.hello()!.extensions.get('limits@openssh.com')), '1');
});

test('a first packet other than VERSION, or a version below 3, fails the session', () => {
  for (const first of [reply(ok(0)), frame(FxpVersion.encode({ version: 2, extensions: [] }))]) {
    const s = new SftpClientSession(() => undefined);
    let failure: Error | null = null;
    s.onFailure = (e) => (failure = e);
    s.start();
    s.receive(first);
    assert.ok(failure! instanceof ProtocolError);
  }
});

test('requests get increasing ids; replies in any order reach their own requests', () => {
  const h = harness();
  const got: string[] = [];
  const ids = ['a', 'b', 'c'].map((p) => h.s.request({ type: 'stat', path: p }, (r) => got.push(`${p}:${r?.type}`)));
  assert.deepEqual(ids, [0, 1, 2]);
  assert.deepEqual(
    h.sent.slice(1).map((p) => decodeRequest(p)),
    ['a', 'b', 'c'].map((path, id) => ({ type: 'stat', id, path })),
  );
  assert.equal(h.s.outstanding, 3);
  // One chunk holding two replies, out of order, then the third split across chunks.
  const two = new Uint8Array([...reply({ type: 'attrs', id: 2, attrs: { size: 5 } }), ...reply(ok(0))]);
  h.s.receive(two);
  const third = reply({ type: 'status', id: 1, code: FX.NO_SUCH_FILE, text: { message: 'No such file', lang: '' } });
  h.s.receive(third.subarray(0, 3));
  h.s.receive(third.subarray(3));
  assert.deepEqual(got, ['c:attrs', 'a:status', 'b:status']);
  assert.equal(h.s.outstanding, 0);
  assert.equal(h.failure(), null);
});

test('WRITE goes out as a header and the body itself, not a copy', () => {
  const pieces: Uint8Array[] = [];
  const s = new SftpClientSession((b) => pieces.push(b));
  s.start();
  s.receive(frame(FxpVersion.encode({ version: 3, extensions: [] })));
  const body = new Uint8Array(100_000).fill(7);
  s.write(new Uint8Array([1, 2]), 12345, body, () => undefined);
  assert.equal(pieces.length, 3);
  assert.equal(pieces[2], body, 'the body is the caller\'s buffer');
  const framer = new SftpFramer(MAX_RECEIVE_PACKET);
  framer.push(pieces[1]!);
  framer.push(pieces[2]!);
  const w = decodeRequest(framer.next()!);
  assert.equal(w.type, 'write');
  assert.equal(w.type === 'write' && w.offset, 12345);
  assert.equal(w.type === 'write' && w.data.length, 100_000);
});

test('READ is framed as the codec would frame it, offsets past 2^32 included', () => {
  const h = harness();
  const handle = new Uint8Array([9, 8, 7]);
  for (const offset of [0, 1, 0xffffffff, 0x1_0000_0000, 2 ** 40 + 12345, Number.MAX_SAFE_INTEGER]) {
    h.s.read(handle, offset, 32768, () => undefined);
    const r = decodeRequest(h.sent.at(-1)!);
    assert.deepEqual(r, { type: 'read', id: h.sent.length - 2, handle, offset, length: 32768 });
  }
});

test('a reply to an unknown id fails the session: every waiting request gets the error, later requests too', () => {
  const h = harness();
  const errors: (Error | undefined)[] = [];
  h.s.request({ type: 'stat', path: 'x' }, (r, e) => errors.push(r === null ? e : undefined));
  h.s.receive(reply(ok(99)));
  assert.ok(h.failure() instanceof ProtocolError);
  assert.match(h.failure()!.message, /id 99/);
  assert.equal(errors.length, 1);
  assert.equal(errors[0], h.failure());
  let late: Error | undefined;
  assert.equal(h.s.request({ type: 'stat', path: 'y' }, (_r, e) => (late = e)), -1);
  assert.equal(late, h.failure());
  // Nothing further is handled.
  h.s.receive(reply(ok(0)));
});

test('a reply of the wrong type for its request fails the session', () => {
  for (const [req, bad] of [
    [{ type: 'stat', path: 'x' }, { type: 'handle', id: 0, handle: new Uint8Array(4) }],
    [{ type: 'read', handle: new Uint8Array(4), offset: 0, length: 10 }, { type: 'name', id: 0, names: [] }],
    [{ type: 'open', path: 'x', pflags: 1, attrs: {} }, { type: 'data', id: 0, data: new Uint8Array(3) }],
    [{ type: 'close', handle: new Uint8Array(4) }, { type: 'attrs', id: 0, attrs: {} }],
  ] as const) {
    const h = harness();
    let err: Error | undefined;
    h.s.request(req, (_r, e) => (err = e));
    h.s.receive(reply(bad as SftpResponse));
    assert.ok(err instanceof ProtocolError, `${req.type} answered with ${bad.type}`);
    assert.match(err.message, new RegExp(`${bad.type} reply to ${req.type}`));
  }
});

test('an extended request takes the reply type its caller names', () => {
  const h = harness();
  let got: SftpResponse | null = null;
  h.s.request({ type: 'extended', request: 'limits@openssh.com', data: new Uint8Array(0) }, (r) => (got = r), 'extended-reply');
  h.s.receive(reply({ type: 'extended-reply', id: 0, data: new Uint8Array(32) }));
  assert.equal(got!.type, 'extended-reply');
  const h2 = harness();
  h2.s.request({ type: 'extended', request: 'posix-rename@openssh.com', data: new Uint8Array(0) }, () => undefined);
  h2.s.receive(reply({ type: 'extended-reply', id: 0, data: new Uint8Array(0) }));
  assert.ok(h2.failure() instanceof ProtocolError, 'a status-only extension answered with data');
});

test('close fails every waiting request with the error given', () => {
  const h = harness();
  const errs: (Error | undefined)[] = [];
  for (let i = 0; i < 5; i++) h.s.request({ type: 'stat', path: String(i) }, (_r, e) => errs.push(e));
  const lost = new Error('channel closed');
  h.s.close(lost);
  assert.deepEqual(errs, [lost, lost, lost, lost, lost]);
  assert.equal(h.s.outstanding, 0);
});

test('ids wrap at 2^32 and skip an id still waiting', () => {
  const h = harness();
  const internals = h.s as unknown as { nextId: number };
  h.s.request({ type: 'stat', path: 'old' }, () => undefined); // id 0, left waiting
  internals.nextId = 0xffffffff;
  assert.equal(h.s.request({ type: 'stat', path: 'a' }, () => undefined), 0xffffffff);
  assert.equal(h.s.request({ type: 'stat', path: 'b' }, () => undefined), 1, 'id 0 is still waiting');
});

test('a packet longer than the limit, or of an unknown type, fails the session', () => {
  const h = harness();
  const big = new Uint8Array(4);
  new DataView(big.buffer).setUint32(0, MAX_RECEIVE_PACKET + 1);
  h.s.receive(big);
  assert.ok(h.failure() instanceof ProtocolError);
  const h2 = harness();
  h2.s.request({ type: 'stat', path: 'x' }, () => undefined);
  h2.s.receive(frame(new Uint8Array([FXP.INIT, 0, 0, 0, 0])));
  assert.ok(h2.failure() instanceof ProtocolError);
});

test('fuzz: malformed replies end the session with a ProtocolError, never a crash', () => {
  const samples = [
    reply({ type: 'status', id: 0, code: FX.EOF, text: { message: 'End of file', lang: 'en' } }),
    reply({ type: 'data', id: 0, data: new Uint8Array(40).fill(1) }),
    reply({ type: 'name', id: 0, names: [{ filename: 'a', longname: '-rw-r--r-- 1 a a 0 Jan 1 a', attrs: { size: 1, uid: 1, gid: 2, mode: 0o100644, atime: 1, mtime: 2 } }] }),
    reply({ type: 'attrs', id: 0, attrs: { size: 10, extended: [['x@y', new Uint8Array(3)]] } }),
    reply({ type: 'handle', id: 0, handle: new Uint8Array(8) }),
  ].map((p) => p.subarray(4)); // mutate payloads; each is framed again below
  const n = fuzz('sftp-client-session', samples, 3000, (payload) => {
    const h = harness();
    let err: Error | undefined;
    let got: SftpResponse | null = null;
    // Every kind of request waits on id 0..4 so that any reply type may be valid for one.
    for (const type of ['stat', 'read', 'readdir', 'open'] as const) {
      const body =
        type === 'read' ? { type, handle: new Uint8Array(1), offset: 0, length: 64 } : type === 'open' ? { type, path: 'p', pflags: 1, attrs: {} } : type === 'readdir' ? { type, handle: new Uint8Array(1) } : { type, path: 'p' };
      h.s.request(body, (r, e) => {
        if (r) got = r;
        else err = e;
      });
    }
    h.s.receive(frame(payload));
    if (h.failure()) {
      assert.equal(err, h.failure());
      throw h.failure();
    }
    return got;
  }, (e) => e instanceof ProtocolError);
  assert.ok(n > 3000);
});

test('the reply reader: DATA bodies come as views of the chunks they arrived in, other packets whole, across any split', () => {
  const random = seededRandom('sftp-reply-reader');
  const packets: SftpResponse[] = [];
  for (let i = 0; i < 40; i++) {
    const n = random(2).reduce((a, b) => a * 256 + b, 0) % 5000;
    if (i % 3 === 0) packets.push(ok(i));
    else if (i % 7 === 0) packets.push({ type: 'data', id: i, data: new Uint8Array(0) });
    else packets.push({ type: 'data', id: i, data: random(n) });
  }
  const stream = new Uint8Array(packets.flatMap((p) => [...reply(p)]));
  for (const maxChunk of [1, 3, 13, 100, 4096, stream.length]) {
    const chunks: Uint8Array[] = [];
    for (let at = 0; at < stream.length; ) {
      const n = 1 + (random(2).reduce((a, b) => a * 256 + b, 0) % maxChunk);
      chunks.push(stream.slice(at, at + n)); // each chunk a buffer of its own
      at += n;
    }
    const got: ReceivedPacket[] = [];
    const r = new SftpReplyReader(MAX_RECEIVE_PACKET);
    for (const c of chunks) r.push(c, (p) => got.push(p));
    assert.equal(got.length, packets.length, `split at most ${maxChunk}`);
    got.forEach((g, i) => {
      const want = packets[i]!;
      if (want.type === 'data') {
        assert.equal(g.kind, 'data');
        if (g.kind !== 'data') return;
        assert.equal(g.id, want.id);
        assert.equal(g.length, want.data.length);
        assert.deepEqual(Buffer.concat(g.pieces), Buffer.from(want.data));
        for (const p of g.pieces) assert.ok(chunks.some((c) => c.buffer === p.buffer), 'a piece is a view of a received chunk');
      } else {
        assert.equal(g.kind, 'packet');
        if (g.kind === 'packet') assert.deepEqual(decodeResponse(g.payload), want);
      }
    });
  }
});

test('the reply reader refuses a DATA whose data length disagrees with its packet length', () => {
  const bad = reply({ type: 'data', id: 1, data: new Uint8Array(10) });
  new DataView(bad.buffer, bad.byteOffset).setUint32(9, 11);
  assert.throws(() => new SftpReplyReader(MAX_RECEIVE_PACKET).push(bad, () => undefined), ProtocolError);
  const h = harness();
  h.s.read(new Uint8Array(1), 0, 100, () => undefined);
  h.s.receive(bad);
  assert.ok(h.failure() instanceof ProtocolError);
});

test('a DATA reply to a READ reaches its data handler in pieces; to another request it fails the session', () => {
  const h = harness();
  let pieces: Uint8Array[] = [];
  let total = -1;
  h.s.read(new Uint8Array(1), 0, 100, () => assert.fail('not the reply handler'), (p, n) => ((pieces = p), (total = n)));
  const r = reply({ type: 'data', id: 0, data: new Uint8Array([1, 2, 3, 4, 5]) });
  h.s.receive(r.subarray(0, 15));
  h.s.receive(r.subarray(15));
  assert.equal(total, 5);
  assert.deepEqual(Buffer.concat(pieces), Buffer.from([1, 2, 3, 4, 5]));
  assert.equal(pieces.length, 2);
  const h2 = harness();
  h2.s.request({ type: 'stat', path: 'x' }, () => undefined);
  h2.s.receive(reply({ type: 'data', id: 0, data: new Uint8Array(5) }));
  assert.match(h2.failure()!.message, /data reply to stat/);
});

test('quickReply reads STATUS and HANDLE exactly as decodeResponse does, and leaves every other shape to it', () => {
  const enc = new TextEncoder();
  const u32 = (v: number) => [(v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];
  const str = (b: Uint8Array | number[]) => [...u32(b.length), ...b];
  const shapes: Uint8Array[] = [
    new Uint8Array([FXP.STATUS, ...u32(7), ...u32(0), ...str(enc.encode('Success')), ...str([])]),
    new Uint8Array([FXP.STATUS, ...u32(0xffffffff), ...u32(2), ...str(enc.encode('No such file')), ...str([])]),
    new Uint8Array([FXP.STATUS, ...u32(1), ...u32(4), ...str([0xff, 0xfe, 0x41]), ...str([])]), // not UTF-8: replaced, as the schema does
    new Uint8Array([FXP.STATUS, ...u32(1), ...u32(4), ...str(enc.encode('x')), ...str(enc.encode('en'))]), // a language tag: the schema's
    new Uint8Array([FXP.STATUS, ...u32(1), ...u32(4)]), // no message (old servers): the schema's
    new Uint8Array([FXP.HANDLE, ...u32(9), ...str([1, 2, 3, 4])]),
    new Uint8Array([FXP.HANDLE, ...u32(9), ...str([])]),
    new Uint8Array([FXP.HANDLE, ...u32(9), ...str(new Array(257).fill(1))]), // too long a handle
  ];
  let rng = 12345;
  const rand = (n: number) => ((rng = (rng * 1103515245 + 12345) >>> 0) % n);
  const cases: Uint8Array[] = [...shapes];
  for (const s of shapes) {
    for (let i = 0; i < 400; i++) {
      const c = s.slice(0, rand(s.length + 3) <= s.length ? rand(s.length + 1) : s.length);
      const m = new Uint8Array(c.length + rand(3));
      m.set(c);
      if (m.length > 1 && rand(2)) { const at = 1 + rand(m.length - 1); m[at] = m[at]! ^ (1 << rand(8)); }
      cases.push(m);
    }
  }
  let quick = 0;
  for (const c of cases) {
    const q = quickReply(c);
    let full: unknown;
    try {
      full = decodeResponse(c);
    } catch (err) {
      assert.equal(q, null, `quickReply read a packet decodeResponse refuses (${(err as Error).message})`);
      continue;
    }
    if (q !== null) {
      quick++;
      assert.deepEqual(q, full);
    }
  }
  assert.ok(quick > 100, `${quick} packets read quickly`);
});
