// AuthServer on its own: signatures, limits, timing, pipelining, bad input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AuthPair, FakeIo, HOST_KEY, SESSION_ID, key, signWith } from './auth-harness.js';
import { AuthServer, type AuthServerConfig } from '../../src/core/auth/server.js';
import type { AuthServerEvent } from '../../src/core/auth/events.js';
import { publickeyRequestHead, signedData, withSignature, encodeInfoResponse, type PublickeyFields } from '../../src/core/auth/codec.js';
import {
  UserauthFailure,
  UserauthKeyboardInteractive,
  UserauthNone,
  UserauthPassword,
  UserauthPkOk,
} from '../../src/messages/userauth.js';
import { DisconnectReason, ProtocolError, TimeoutError } from '../../src/errors.js';
import { FakeClock } from '../../src/testing/clock.js';
import { toHex } from '../../src/wire/bytes.js';
import { Reader } from '../../src/wire/reader.js';
import { Writer } from '../../src/wire/writer.js';
import { signCertificate, type KeySigner } from '../../src/keys/index.js';

const alice = key('alice');
const mallory = key('mallory');

type Req = Extract<AuthServerEvent, { type: 'auth-request' }>;

function makeServer(options: AuthServerConfig = {}) {
  const clock = new FakeClock();
  const io = new FakeIo<AuthServerEvent>(clock);
  const server = new AuthServer(io, options, clock.now);
  const requests = () => io.events.filter((e): e is Req => e.type === 'auth-request');
  const types = () => io.sent.map((p) => p[0]);
  return { clock, io, server, requests, types };
}

const none = (username = 'u') => UserauthNone.encode({ username, service: 'ssh-connection', method: 'none' });
const password = (pw: string, username = 'u') =>
  UserauthPassword.encode({ username, service: 'ssh-connection', method: 'password', change: false, password: pw });

function pkFields(k: KeySigner, over: Partial<PublickeyFields> = {}): PublickeyFields {
  return { username: 'u', service: 'ssh-connection', algorithm: k.algorithms[0]!, publicKey: k.publicBlob, ...over };
}
function signedRequest(fields: PublickeyFields, signer: KeySigner): Uint8Array {
  const head = publickeyRequestHead(fields, true);
  return withSignature(head, signer.sign(fields.algorithm, signedData(SESSION_ID, head)));
}

test('publickey query gets PK_OK after the application accepts the key', () => {
  const s = makeServer({ failureDelayMs: 0 });
  s.server.handle(publickeyRequestHead(pkFields(alice), false));
  const [q] = s.requests();
  assert.ok(q && q.method === 'publickey' && !q.signed && !q.verified);
  s.server.answerAuth(q.id, { result: 'success' });
  const pkOk = UserauthPkOk.decode(s.io.sent.at(-1)!);
  assert.equal(pkOk.algorithm, 'ssh-ed25519');
  assert.equal(toHex(pkOk.publicKey), toHex(alice.publicBlob));
  assert.equal(s.server.authenticated, false);
  // a signed request with no query before it is fine too
  s.server.handle(signedRequest(pkFields(alice), alice));
  const signed = s.requests()[1]!;
  assert.ok(signed.method === 'publickey' && signed.signed && signed.verified);
  s.server.answerAuth(signed.id, { result: 'success' });
  assert.equal(s.server.authenticated, true);
  assert.equal(s.io.authenticated, true);
  assert.deepEqual(s.types(), [60, 52]);
});

/** A FakeIo that counts session id reads: every signature check needs it, nothing else on the server reads it. */
class CountingIo extends FakeIo<AuthServerEvent> {
  sessionIdReads = 0;
  override sessionId(): Uint8Array {
    this.sessionIdReads++;
    return super.sessionId();
  }
}

function countingServer(options: AuthServerConfig = {}) {
  const clock = new FakeClock();
  const io = new CountingIo(clock);
  const server = new AuthServer(io, options, clock.now);
  const requests = () => io.events.filter((e): e is Req => e.type === 'auth-request');
  return { clock, io, server, requests, types: () => io.sent.map((p) => p[0]) };
}

test('a signed request for a key the application refuses is never verified', () => {
  const s = countingServer({ failureDelayMs: 0 });
  const answers: string[] = [];
  s.io.onEvent = (e) => {
    if (e.type !== 'auth-request') return;
    // the application is asked first and sees no proof yet
    answers.push(`${e.method === 'publickey' && e.signed} reads=${s.io.sessionIdReads}`);
    s.server.answerAuth(e.id, { result: 'failure' });
  };
  // a good signature by a key nobody authorised, then a garbage one
  s.server.handle(signedRequest(pkFields(mallory), mallory));
  s.server.handle(withSignature(publickeyRequestHead(pkFields(mallory), true), new Uint8Array([0, 0, 0, 1, 0x41])));
  assert.deepEqual(answers, ['true reads=0', 'true reads=0']);
  assert.equal(s.io.sessionIdReads, 0, 'no signature was checked');
  assert.deepEqual(s.types(), [51, 51]);
});

test('an accepted key with a bad signature fails; a good signature logs in', () => {
  const s = countingServer({ failureDelayMs: 0, maxAttempts: 10 });
  s.io.onEvent = (e) => {
    if (e.type === 'auth-request') s.server.answerAuth(e.id, { result: 'success' });
  };
  // mallory signs a request that claims alice's key
  s.server.handle(signedRequest(pkFields(alice), mallory));
  // a signature over other data (wrong session id)
  const head = publickeyRequestHead(pkFields(alice), true);
  s.server.handle(withSignature(head, alice.sign('ssh-ed25519', signedData(new Uint8Array(32), head))));
  // garbage signature blob
  s.server.handle(withSignature(head, new Uint8Array([0, 0, 0, 1, 0x41])));
  assert.deepEqual(s.types(), [51, 51, 51]);
  assert.equal(s.io.sessionIdReads, 3, 'each accepted key was verified');
  assert.equal(s.server.authenticated, false);
  assert.ok(!s.io.events.some((e) => e.type === 'auth-success'));
  // partial success needs the signature too
  s.io.onEvent = (e) => {
    if (e.type === 'auth-request') s.server.answerAuth(e.id, { result: 'partial', methods: ['password'] });
  };
  s.server.handle(signedRequest(pkFields(alice), mallory));
  assert.equal(UserauthFailure.decode(s.io.sent.at(-1)!).partialSuccess, false);
  // the real signature
  s.io.onEvent = (e) => {
    if (e.type === 'auth-request') s.server.answerAuth(e.id, { result: 'success' });
  };
  s.server.handle(signedRequest(pkFields(alice), alice));
  assert.equal(s.server.authenticated, true);
  const done = s.io.events.at(-1)!;
  assert.ok(done.type === 'auth-success' && done.publicKey, 'auth-success names the proven key');
  assert.equal(toHex(done.publicKey.blob), toHex(alice.publicBlob));
  assert.equal(done.publicKey.algorithm, 'ssh-ed25519');
});

test('the key and signature checked are those of the request asked about, even if the caller reuses its buffer', () => {
  const s = makeServer({ failureDelayMs: 0 });
  const payload = signedRequest(pkFields(alice), alice);
  s.server.handle(payload);
  const [r] = s.requests();
  assert.ok(r && r.method === 'publickey');
  // the transport hands the next packet over in the same memory while the application decides
  payload.set(signedRequest(pkFields(mallory), mallory).subarray(0, payload.length));
  assert.equal(toHex(r.publicKey), toHex(alice.publicBlob));
  s.server.answerAuth(r.id, { result: 'success' });
  assert.equal(s.server.authenticated, true);
});

test('a key parsed for one request is reused only for the same blob, and still fits the algorithm and verifies', () => {
  const s = makeServer({ failureDelayMs: 0, maxAttempts: 20 });
  s.io.onEvent = (e) => {
    if (e.type === 'auth-request') s.server.answerAuth(e.id, { result: 'success' });
  };
  // alice's key accepted in a query: parsed once here
  s.server.handle(publickeyRequestHead(pkFields(alice), false));
  assert.deepEqual(s.types(), [60]);
  // the same blob under an algorithm of another key type is still refused before the application is asked
  s.server.handle(publickeyRequestHead(pkFields(alice, { algorithm: 'ecdsa-sha2-nistp256' }), false));
  const rsaHead = publickeyRequestHead(pkFields(alice, { algorithm: 'rsa-sha2-256' }), true);
  s.server.handle(withSignature(rsaHead, alice.sign('ssh-ed25519', signedData(SESSION_ID, rsaHead))));
  assert.equal(s.requests().length, 1);
  assert.deepEqual(s.types(), [60, 51, 51]);
  // another key in between, then alice's blob signed by mallory: verified against alice's key, so refused
  s.server.handle(publickeyRequestHead(pkFields(mallory), false));
  s.server.handle(signedRequest(pkFields(alice), mallory));
  assert.deepEqual(s.types(), [60, 51, 51, 60, 51]);
  // mallory's blob signed by alice: refused too
  s.server.handle(signedRequest(pkFields(mallory), alice));
  assert.equal(s.server.authenticated, false);
  // the real signature after all that
  s.server.handle(signedRequest(pkFields(alice), alice));
  assert.equal(s.server.authenticated, true);
});

test('a bad signature is a counted failure held as long as a refused key', () => {
  const s = makeServer({ failureDelayMs: 100, maxAttempts: 3 });
  let refuse = true;
  s.io.onEvent = (e) => {
    if (e.type === 'auth-request') s.server.answerAuth(e.id, refuse ? { result: 'failure' } : { result: 'success' });
  };
  // refused key, good signature
  s.server.handle(signedRequest(pkFields(mallory), mallory));
  assert.deepEqual(s.types(), []);
  s.clock.advance(99);
  s.server.handleTimeout(s.clock.now);
  assert.deepEqual(s.types(), []);
  s.clock.advance(1);
  s.server.handleTimeout(s.clock.now);
  assert.deepEqual(s.types(), [51]);
  // accepted key, bad signature: the same delay
  refuse = false;
  s.server.handle(signedRequest(pkFields(alice), mallory));
  s.clock.advance(99);
  s.server.handleTimeout(s.clock.now);
  assert.deepEqual(s.types(), [51]);
  s.clock.advance(1);
  s.server.handleTimeout(s.clock.now);
  assert.deepEqual(s.types(), [51, 51]);
  // and it counts towards maxAttempts
  s.server.handle(signedRequest(pkFields(alice), mallory));
  s.clock.advance(100);
  s.server.handleTimeout(s.clock.now);
  assert.equal(s.io.failures.length, 1);
  assert.match(s.io.failures[0]!.message, /too many authentication failures/);
});

test('forged signature end to end: the client signs with the wrong key', () => {
  const pair = new AuthPair(
    { username: 'alice', credentials: [{ method: 'publickey', keys: [alice] }] },
    {},
    { server: (r) => (r.method === 'publickey' ? { result: 'success' } : { result: 'failure' }), sign: (e) => mallory.sign(e.algorithm, e.data) },
  ).start();
  // the application accepted the key both times; the signature let nobody in
  assert.deepEqual(
    pair.serverRequests().filter((r) => r.method === 'publickey').map((r) => r.method === 'publickey' && r.signed),
    [false, true],
  );
  assert.deepEqual(pair.trace(), ['c50', 's51', 'c50', 's60', 'c50', 's51']);
  assert.equal(pair.server.authenticated, false);
});

test('refused signature algorithms and mismatched key types', () => {
  const rsa = key('rsa', 'ssh-rsa', 2048);
  const s = makeServer({ failureDelayMs: 0, maxAttempts: 10 });
  // SHA-1 ssh-rsa is not accepted by default
  s.server.handle(signedRequest(pkFields(rsa, { algorithm: 'ssh-rsa' }), rsa));
  // an algorithm that does not match the key
  s.server.handle(publickeyRequestHead(pkFields(alice, { algorithm: 'rsa-sha2-256' }), false));
  // a garbage key blob
  s.server.handle(publickeyRequestHead(pkFields(alice, { publicKey: new Uint8Array([0, 0, 0, 3, 0x61, 0x62, 0x63]) }), false));
  assert.equal(s.requests().length, 0);
  assert.deepEqual(s.types(), [51, 51, 51]);
  // ssh-rsa can be enabled
  const t = makeServer({ failureDelayMs: 0, acceptedAlgorithms: ['ssh-rsa'] });
  t.server.handle(signedRequest(pkFields(rsa, { algorithm: 'ssh-rsa' }), rsa));
  assert.equal(t.requests().length, 1);
});

test('an RSA key with an absurd exponent is a failed attempt, refused before the application is asked', () => {
  const rsa = key('rsa', 'ssh-rsa', 2048);
  const r = new Reader(rsa.publicBlob);
  r.text();
  r.mpintBytes();
  const hostile = new Writer().string('ssh-rsa').mpintFromBytes(new Uint8Array(383).fill(0xff)).mpintFromBytes(r.mpintBytes()).finish().slice();
  const s = countingServer({ failureDelayMs: 0 });
  s.io.onEvent = (e) => {
    if (e.type === 'auth-request') s.server.answerAuth(e.id, { result: 'success' });
  };
  const fields = pkFields(rsa, { algorithm: 'rsa-sha2-256', publicKey: hostile });
  s.server.handle(publickeyRequestHead(fields, false));
  s.server.handle(signedRequest(fields, rsa));
  assert.equal(s.requests().length, 0);
  assert.equal(s.io.sessionIdReads, 0);
  assert.deepEqual(s.types(), [51, 51]);
  assert.deepEqual(s.io.failures, []);
  // the connection goes on: the real key still logs in
  s.server.handle(signedRequest(pkFields(rsa, { algorithm: 'rsa-sha2-256' }), rsa));
  assert.equal(s.server.authenticated, true);
});

test('hostbound: the host key must be the one of this connection', () => {
  const s = makeServer({ failureDelayMs: 0 });
  const other = key('other-host');
  s.server.handle(publickeyRequestHead(pkFields(alice, { hostKey: other.publicBlob }), false));
  s.server.handle(signedRequest(pkFields(alice, { hostKey: other.publicBlob }), alice));
  assert.equal(s.requests().length, 0);
  assert.deepEqual(s.types(), [51, 51]);
  s.server.handle(signedRequest(pkFields(alice, { hostKey: HOST_KEY.publicBlob }), alice));
  const [r] = s.requests();
  assert.ok(r && r.method === 'publickey' && r.signed && r.hostbound);

  // end to end: the client believes in another host key
  const pair = new AuthPair(
    { username: 'alice', credentials: [{ method: 'publickey', keys: [alice] }] },
    {},
    { server: () => ({ result: 'success' }), sign: signWith(alice) },
    ({ clientIo }) => {
      clientIo.setExtension('publickey-hostbound@openssh.com', '0');
      clientIo.hostKey = other.publicBlob;
    },
  );
  // make none fail so the key is offered
  pair.apps.server = (r) => (r.method === 'publickey' ? { result: 'success' } : { result: 'failure' });
  pair.start();
  assert.equal(pair.serverRequests().filter((r) => r.method === 'publickey').length, 0);
  assert.equal(pair.server.authenticated, false);
});

test('attempt limit: the 6th failure disconnects with NO_MORE_AUTH_METHODS_AVAILABLE (as sshd)', () => {
  const s = makeServer({ failureDelayMs: 0 });
  s.server.handle(none());
  s.server.answerAuth(s.requests()[0]!.id, { result: 'failure' }); // the first none is free
  for (let i = 1; i <= 6; i++) {
    s.server.handle(password(`guess${i}`));
    s.server.answerAuth(s.requests().at(-1)!.id, { result: 'failure' });
    if (i < 6) assert.equal(s.io.failures.length, 0, `failure ${i}`);
  }
  assert.deepEqual(s.types(), [51, 51, 51, 51, 51, 51]);
  const err = s.io.failures[0];
  assert.ok(err instanceof ProtocolError);
  assert.equal(err.reason, DisconnectReason.NO_MORE_AUTH_METHODS_AVAILABLE);
  // nothing more is heard after the disconnect
  s.server.handle(password('late'));
  assert.equal(s.requests().length, 7);
});

test('refused key queries count as failures (as in sshd)', () => {
  const s = makeServer({ failureDelayMs: 0, maxAttempts: 2 });
  for (let i = 0; i < 3; i++) {
    s.server.handle(publickeyRequestHead(pkFields(key(`k${i}`)), false));
    s.server.answerAuth(s.requests().at(-1)!.id, { result: 'failure' });
  }
  assert.equal(s.io.failures[0]?.reason, DisconnectReason.NO_MORE_AUTH_METHODS_AVAILABLE);
});

test('grace time: the login times out with the fake clock', () => {
  const s = makeServer({ graceTimeMs: 30_000 });
  assert.equal(s.server.nextDeadline(), s.clock.now + 30_000);
  s.server.handle(none());
  s.clock.advance(29_999);
  s.server.handleTimeout(s.clock.now);
  assert.equal(s.io.failures.length, 0);
  s.clock.advance(1);
  s.server.handleTimeout(s.clock.now);
  const err = s.io.failures[0];
  assert.ok(err instanceof TimeoutError);
  assert.equal(err.phase, 'login grace time');
  assert.equal(s.server.nextDeadline(), null);
  // a late application answer changes nothing
  s.server.answerAuth(s.requests()[0]!.id, { result: 'success' });
  assert.equal(s.server.authenticated, false);

  const off = makeServer({ graceTimeMs: 0 });
  assert.equal(off.server.nextDeadline(), null);
  const def = makeServer();
  assert.equal(def.server.nextDeadline(), def.clock.now + 120_000);
});

test('failure delay: the reply waits until 100 ms after the request, known user or not', () => {
  const users: Record<string, string> = { alice: 'secret' };
  for (const user of ['alice', 'nobody']) {
    const s = makeServer();
    const t0 = s.clock.now;
    s.server.handle(password('wrong', user));
    s.clock.advance(10);
    const r = s.requests()[0]!;
    // the application refuses at once (unknown user) or after checking (known user)
    s.server.answerAuth(r.id, users[r.username] === (r.method === 'password' && r.password) ? { result: 'success' } : { result: 'failure' });
    assert.deepEqual(s.types(), [], `${user}: nothing before the delay`);
    assert.equal(s.server.nextDeadline(), t0 + 100);
    s.clock.advance(89);
    s.server.handleTimeout(s.clock.now);
    assert.deepEqual(s.types(), [], `${user}: still nothing at 99 ms`);
    s.clock.advance(1);
    s.server.handleTimeout(s.clock.now);
    assert.deepEqual(s.types(), [51], `${user}: FAILURE at 100 ms`);
    assert.equal(s.server.nextDeadline(), t0 + 120_000);
  }
});

test('failure delay: a slow answer is not delayed further; success is never delayed', () => {
  const s = makeServer();
  s.server.handle(password('x'));
  s.clock.advance(250);
  s.server.answerAuth(s.requests()[0]!.id, { result: 'failure' });
  assert.deepEqual(s.types(), [51]);
  s.server.handle(password('y'));
  s.server.answerAuth(s.requests()[1]!.id, { result: 'success' });
  assert.deepEqual(s.types(), [51, 52]);
});

test('failure delay end to end with the pair', () => {
  const pair = new AuthPair(
    { username: 'u', credentials: [{ method: 'password', password: 'bad' }] },
    { failureDelayMs: 100 },
    { server: () => ({ result: 'failure' }) },
  ).start();
  // the none probe is answered at once, the password failure is held
  assert.deepEqual(pair.trace(), ['c50', 's51', 'c50']);
  pair.advance(99);
  assert.deepEqual(pair.trace(), ['c50', 's51', 'c50']);
  pair.advance(1);
  assert.deepEqual(pair.trace(), ['c50', 's51', 'c50', 's51']);
  assert.equal(pair.clientIo.failures.length, 1);
});

test('pipelined requests are answered one at a time, in order', () => {
  const s = makeServer({ failureDelayMs: 100 });
  s.server.handle(none());
  s.server.handle(password('a'));
  s.server.handle(publickeyRequestHead(pkFields(alice), false));
  assert.equal(s.requests().length, 1);
  s.server.answerAuth(s.requests()[0]!.id, { result: 'failure' });
  // none's failure is not held, so the password request is asked about now
  assert.deepEqual(s.types(), [51]);
  assert.equal(s.requests().length, 2);
  s.server.answerAuth(s.requests()[1]!.id, { result: 'failure' });
  // the held password failure keeps the key query waiting
  assert.equal(s.requests().length, 2);
  s.clock.advance(100);
  s.server.handleTimeout(s.clock.now);
  assert.deepEqual(s.types(), [51, 51]);
  const q = s.requests()[2]!;
  assert.equal(q.method, 'publickey');
  s.server.answerAuth(q.id, { result: 'success' });
  assert.deepEqual(s.types(), [51, 51, 60]);
  // a stale answer is ignored
  s.server.answerAuth(q.id, { result: 'failure' });
  assert.deepEqual(s.types(), [51, 51, 60]);
});

test('requests after success are ignored', () => {
  const s = makeServer();
  s.server.handle(none());
  s.server.handle(password('queued'));
  s.server.answerAuth(s.requests()[0]!.id, { result: 'success' });
  s.server.handle(password('late'));
  s.server.handle(encodeInfoResponse([]));
  assert.equal(s.requests().length, 1);
  assert.deepEqual(s.types(), [52]);
  assert.deepEqual(s.io.events.at(-1), { type: 'auth-success', username: 'u', method: 'none' });
});

test('partial success changes the offered methods; none is then refused', () => {
  const s = makeServer({ failureDelayMs: 0 });
  s.server.handle(password('first'));
  s.server.answerAuth(s.requests()[0]!.id, { result: 'partial', methods: ['keyboard-interactive'] });
  assert.deepEqual(UserauthFailure.decode(s.io.sent[0]!), { methods: ['keyboard-interactive'], partialSuccess: true });
  s.server.handle(password('again'));
  s.server.handle(none());
  assert.equal(s.requests().length, 1);
  assert.deepEqual(UserauthFailure.decode(s.io.sent[1]!), { methods: ['keyboard-interactive'], partialSuccess: false });
  s.server.handle(UserauthKeyboardInteractive.encode({ username: 'u', service: 'ssh-connection', method: 'keyboard-interactive', language: '', submethods: '' }));
  assert.equal(s.requests().at(-1)!.method, 'keyboard-interactive');
});

test('other services and unknown methods fail; configured methods are enforced', () => {
  const s = makeServer({ failureDelayMs: 0, methods: ['publickey'] });
  s.server.handle(UserauthNone.encode({ username: 'u', service: 'ssh-connection', method: 'hostbased' }));
  s.server.handle(password('x'));
  assert.equal(s.requests().length, 0);
  assert.deepEqual(UserauthFailure.decode(s.io.sent[1]!), { methods: ['publickey'], partialSuccess: false });
  const t = makeServer({ failureDelayMs: 0 });
  t.server.handle(UserauthNone.encode({ username: 'u', service: 'other-service', method: 'none' }));
  assert.equal(t.requests().length, 0);
  assert.deepEqual(t.types(), [51]);
});

test('keyboard-interactive responses come back as requests; mismatched answers throw RangeError', () => {
  const s = makeServer({ failureDelayMs: 0 });
  s.server.handle(UserauthKeyboardInteractive.encode({ username: 'u', service: 'ssh-connection', method: 'keyboard-interactive', language: '', submethods: 'otp' }));
  const first = s.requests()[0]!;
  assert.throws(() => s.server.answerAuth(first.id, { result: 'change-password', prompt: 'no' }), RangeError);
  assert.throws(
    () => s.server.answerAuth(first.id, { result: 'prompt', prompts: Array.from({ length: 101 }, () => ({ prompt: 'p', echo: false })) }),
    RangeError,
  );
  s.server.answerAuth(first.id, { result: 'prompt', prompts: [{ prompt: 'code', echo: false }] });
  assert.deepEqual(s.types(), [60]);
  s.server.handle(encodeInfoResponse(['123']));
  const second = s.requests()[1]!;
  assert.deepEqual(second, { type: 'auth-request', id: second.id, username: 'u', method: 'keyboard-interactive', submethods: 'otp', responses: ['123'] });
  s.server.answerAuth(second.id, { result: 'success' });
  assert.equal(s.server.authenticated, true);
});

test('malformed or unexpected client messages throw ProtocolError', () => {
  const bad: [string, (s: ReturnType<typeof makeServer>) => void][] = [
    ['empty', (s) => s.server.handle(new Uint8Array(0))],
    ['server-only message', (s) => s.server.handle(UserauthFailure.encode({ methods: [], partialSuccess: false }))],
    ['message 60', (s) => s.server.handle(new Uint8Array([60]))],
    ['truncated head', (s) => s.server.handle(none().subarray(0, 10))],
    ['trailing bytes on none', (s) => s.server.handle(new Uint8Array([...none(), 0]))],
    ['password without its fields', (s) => s.server.handle(UserauthNone.encode({ username: 'u', service: 'ssh-connection', method: 'password' }))],
    ['publickey without its fields', (s) => s.server.handle(UserauthNone.encode({ username: 'u', service: 'ssh-connection', method: 'publickey' }))],
    ['signed request missing the signature', (s) => s.server.handle(publickeyRequestHead(pkFields(alice), true))],
    ['huge length', (s) => s.server.handle(new Uint8Array([50, 0xff, 0xff, 0xff, 0xff]))],
    ['INFO_RESPONSE with no prompt pending', (s) => s.server.handle(encodeInfoResponse([]))],
    [
      'INFO_RESPONSE claiming 2^32-1 responses',
      (s) => {
        s.server.handle(UserauthKeyboardInteractive.encode({ username: 'u', service: 'ssh-connection', method: 'keyboard-interactive', language: '', submethods: '' }));
        s.server.answerAuth(s.requests()[0]!.id, { result: 'prompt', prompts: [{ prompt: 'p', echo: false }] });
        s.server.handle(new Uint8Array([61, 0xff, 0xff, 0xff, 0xff]));
      },
    ],
    [
      'INFO_RESPONSE with the wrong number of responses',
      (s) => {
        s.server.handle(UserauthKeyboardInteractive.encode({ username: 'u', service: 'ssh-connection', method: 'keyboard-interactive', language: '', submethods: '' }));
        s.server.answerAuth(s.requests()[0]!.id, { result: 'prompt', prompts: [{ prompt: 'p', echo: false }] });
        s.server.handle(encodeInfoResponse(['a', 'b']));
      },
    ],
    [
      'change of user name',
      (s) => {
        s.server.handle(none('u'));
        s.server.handle(none('root'));
      },
    ],
    [
      'INFO_RESPONSE pipelined before the INFO_REQUEST',
      (s) => {
        s.server.handle(UserauthKeyboardInteractive.encode({ username: 'u', service: 'ssh-connection', method: 'keyboard-interactive', language: '', submethods: '' }));
        s.server.handle(encodeInfoResponse(['early']));
      },
    ],
    [
      'too many pipelined requests',
      (s) => {
        for (let i = 0; i < 100; i++) s.server.handle(none());
      },
    ],
  ];
  for (const [name, run] of bad) {
    const s = makeServer();
    assert.throws(() => run(s), ProtocolError, name);
    // after a thrown error the machine stays silent while the session disconnects
    const sent = s.io.sent.length;
    s.server.handle(none());
    assert.equal(s.io.sent.length, sent, name);
  }
});

test('pipelined failures are spaced by the delay however long the application takes (no user enumeration by timing)', () => {
  // The application answers at once for an unknown user and after a 30 ms
  // password hash for a known one; a client sends five passwords at once.
  const replyTimes = (appMs: number): number[] => {
    const s = makeServer({ failureDelayMs: 100, maxAttempts: 10 });
    s.server.handle(none());
    s.server.answerAuth(s.requests()[0]!.id, { result: 'failure' });
    const start = s.clock.now;
    for (let i = 0; i < 5; i++) s.server.handle(password(`guess${i}`));
    const times: number[] = [];
    let answered = 1;
    let answerAt = start + appMs;
    for (let t = 0; t <= 1000 && times.length < 5; t++) {
      if (s.requests().length > answered && s.clock.now >= answerAt) {
        s.server.answerAuth(s.requests()[answered]!.id, { result: 'failure' });
        answered++;
      }
      s.server.handleTimeout(s.clock.now);
      while (s.types().length - 1 > times.length) times.push(s.clock.now - start);
      if (s.requests().length > answered && answerAt < s.clock.now) answerAt = s.clock.now + appMs;
      s.clock.advance(1);
    }
    return times;
  };
  const unknown = replyTimes(0);
  const known = replyTimes(30);
  assert.equal(unknown.length, 5);
  assert.deepEqual(unknown, known);
  assert.deepEqual(unknown, [100, 200, 300, 400, 500]);
});

test('a user certificate signs with its certified key under the *-cert-v01 name; the blob is the certificate', () => {
  const ca = key('ca');
  const rsa = key('rsa-user', 'ssh-rsa', 2048);
  const certify = (k: KeySigner) =>
    signCertificate({ publicKey: k.publicBlob, kind: 'user', principals: ['u'], random: (n) => new Uint8Array(n).fill(7) }, ca).blob;
  const aliceCert = certify(alice);
  const rsaCert = certify(rsa);
  const s = countingServer({ failureDelayMs: 0, maxAttempts: 10 });
  const seen: string[] = [];
  s.io.onEvent = (e) => {
    if (e.type !== 'auth-request' || e.method !== 'publickey') return;
    seen.push(e.algorithm);
    s.server.answerAuth(e.id, { result: 'success' });
  };
  const certFields = (algorithm: string, blob: Uint8Array) => pkFields(alice, { algorithm, publicKey: blob });
  const signCert = (algorithm: string, blob: Uint8Array, signer: KeySigner, signAlg: string) => {
    const head = publickeyRequestHead(certFields(algorithm, blob), true);
    return withSignature(head, signer.sign(signAlg, signedData(SESSION_ID, head)));
  };
  // the name must fit the blob: an ed25519 certificate is not an RSA one, a plain key is no certificate
  s.server.handle(publickeyRequestHead(certFields('rsa-sha2-512-cert-v01@openssh.com', aliceCert), false));
  s.server.handle(publickeyRequestHead(certFields('ssh-ed25519-cert-v01@openssh.com', alice.publicBlob), false));
  s.server.handle(publickeyRequestHead(certFields('ssh-ed25519', aliceCert), false));
  assert.deepEqual(seen, [], 'mismatched names never reach the application');
  // signed by another key than the certified one
  s.server.handle(signCert('ssh-ed25519-cert-v01@openssh.com', aliceCert, mallory, 'ssh-ed25519'));
  assert.equal(s.server.authenticated, false);
  // RSA with SHA-2 under rsa-sha2-512-cert-v01
  s.server.handle(signCert('rsa-sha2-512-cert-v01@openssh.com', rsaCert, rsa, 'rsa-sha2-512'));
  assert.equal(s.server.authenticated, true);
  const done = s.io.events.at(-1)!;
  assert.ok(done.type === 'auth-success' && done.publicKey);
  assert.equal(toHex(done.publicKey.blob), toHex(rsaCert));
  assert.deepEqual(seen, ['ssh-ed25519-cert-v01@openssh.com', 'rsa-sha2-512-cert-v01@openssh.com']);
});

test('servers made from one acceptedAlgorithms list each apply it (the set is shared, not rebuilt per connection)', () => {
  const rsa = key('rsa', 'ssh-rsa', 2048);
  const list = ['ssh-rsa'];
  for (let i = 0; i < 2; i++) {
    const s = makeServer({ failureDelayMs: 0, acceptedAlgorithms: list });
    s.server.handle(signedRequest(pkFields(rsa, { algorithm: 'ssh-rsa' }), rsa));
    assert.equal(s.requests().length, 1, `server ${i} takes ssh-rsa`);
    const t = makeServer({ failureDelayMs: 0, acceptedAlgorithms: list });
    t.server.handle(signedRequest(pkFields(alice), alice));
    assert.equal(t.requests().length, 0, `server ${i} refuses what the list leaves out`);
  }
  // The default list is untouched by either.
  const d = makeServer({ failureDelayMs: 0 });
  d.server.handle(signedRequest(pkFields(rsa, { algorithm: 'ssh-rsa' }), rsa));
  assert.equal(d.requests().length, 0);
});

test('a certificate algorithm is accepted only when its plain algorithm is', () => {
  const ca = key('ca');
  const cert = signCertificate({ publicKey: alice.publicBlob, kind: 'user', principals: ['u'], random: (n) => new Uint8Array(n) }, ca).blob;
  const s = makeServer({ failureDelayMs: 0, acceptedAlgorithms: ['ecdsa-sha2-nistp256'] });
  s.server.handle(publickeyRequestHead(pkFields(alice, { algorithm: 'ssh-ed25519-cert-v01@openssh.com', publicKey: cert }), false));
  assert.equal(s.requests().length, 0);
  assert.deepEqual(s.types(), [51]);
});
