// Security-key (sk-) public keys and signatures (OpenSSH PROTOCOL.u2f), with
// node:crypto keys standing in for the FIDO token.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  parseSecurityKeyBlob,
  parseSecurityKeySignature,
  securityKeySignedData,
  verifySecurityKeySignature,
  SK_USER_PRESENT,
  SK_USER_VERIFIED,
  type SecurityKeyType,
} from '../../src/keys/security-key.js';
import { describePublicKey, fingerprintSha256, randomart } from '../../src/keys/fingerprint.js';
import { findUserKeyAlgorithm, findHostKeyAlgorithm, secureUserKeyAlgorithms } from '../../src/algorithms/hostkey.js';
import { AuthServer } from '../../src/core/auth/server.js';
import { DEFAULT_ACCEPTED_ALGORITHMS } from '../../src/core/auth/server.js';
import type { AuthServerEvent } from '../../src/core/auth/events.js';
import { publickeyRequestHead, signedData, withSignature } from '../../src/core/auth/codec.js';
import { FakeIo, SESSION_ID } from './auth-harness.js';
import { FakeClock } from '../../src/testing/clock.js';
import { ProtocolError } from '../../src/errors.js';
import { Writer } from '../../src/wire/writer.js';
import { fuzz } from './fuzz-helpers.js';
import { makeToken } from './sk-token.js';

const message = new TextEncoder().encode('data the server asks to be signed');

const TYPES: SecurityKeyType[] = ['sk-ssh-ed25519@openssh.com', 'sk-ecdsa-sha2-nistp256@openssh.com'];

test('the signed data is sha256(application) || flags || counter || sha256(message)', () => {
  const d = securityKeySignedData('ssh:', 0x05, 0x01020304, message);
  assert.equal(d.length, 69);
  assert.deepEqual(d.subarray(0, 32), new Uint8Array(createHash('sha256').update('ssh:').digest()));
  assert.deepEqual([...d.subarray(32, 37)], [5, 1, 2, 3, 4]);
  assert.deepEqual(d.subarray(37), new Uint8Array(createHash('sha256').update(message).digest()));
});

for (const type of TYPES) {
  test(`${type}: blob parses, fingerprints and verifies; flags and counter come out`, () => {
    const token = makeToken(type, 'ssh:work');
    const key = parseSecurityKeyBlob(token.publicBlob);
    assert.equal(key.type, type);
    assert.equal(key.application, 'ssh:work');
    assert.equal(describePublicKey(token.publicBlob).bits, 256);
    assert.match(fingerprintSha256(token.publicBlob), /^SHA256:/);
    assert.match(randomart(token.publicBlob).split('\n')[0]!, type.includes('ed25519') ? /\[ED25519-SK 256\]/ : /\[ECDSA-SK 256\]/);

    const sig = token.sign(message, SK_USER_PRESENT | SK_USER_VERIFIED, 42);
    const parsed = parseSecurityKeySignature(sig);
    assert.equal(parsed.flags, 5);
    assert.equal(parsed.counter, 42);
    assert.deepEqual(verifySecurityKeySignature(token.publicBlob, message, sig), { valid: true, flags: 5, counter: 42 });
    assert.deepEqual(verifySecurityKeySignature(token.publicBlob, message, sig, { verifyRequired: true }), { valid: true, flags: 5, counter: 42 });
    assert.equal(findUserKeyAlgorithm(type)!.verify(token.publicBlob, message, sig), true);
    assert.equal(findHostKeyAlgorithm(type), undefined, 'security keys are not host key algorithms');
  });

  test(`${type}: user presence is required unless the policy says no-touch-required`, () => {
    const token = makeToken(type);
    const untouched = token.sign(message, 0, 9);
    assert.deepEqual(verifySecurityKeySignature(token.publicBlob, message, untouched), { valid: false, reason: 'user-presence-required' });
    assert.equal(findUserKeyAlgorithm(type)!.verify(token.publicBlob, message, untouched), false);
    assert.deepEqual(verifySecurityKeySignature(token.publicBlob, message, untouched, { noTouchRequired: true }), { valid: true, flags: 0, counter: 9 });
    const touched = token.sign(message, SK_USER_PRESENT);
    assert.deepEqual(verifySecurityKeySignature(token.publicBlob, message, touched, { verifyRequired: true }), {
      valid: false,
      reason: 'user-verification-required',
    });
  });

  test(`${type}: forged flags or counter, another application, message or key are refused`, () => {
    const token = makeToken(type);
    const sig = token.sign(message, SK_USER_PRESENT, 3);
    const bad = (s: Uint8Array, blob = token.publicBlob, m = message) => {
      const v = verifySecurityKeySignature(blob, m, s, { noTouchRequired: true });
      assert.deepEqual(v, { valid: false, reason: 'bad-signature' });
    };
    // flags and counter are covered by the signature: changing them breaks it
    const flipped = new Uint8Array(sig);
    flipped[flipped.length - 5]! ^= SK_USER_VERIFIED;
    bad(flipped);
    const counter = new Uint8Array(sig);
    counter[counter.length - 1]! ^= 1;
    bad(counter);
    bad(token.sign(message, SK_USER_PRESENT, 3, 'ssh:other'));
    bad(sig, token.publicBlob, new TextEncoder().encode('another message'));
    bad(sig, makeToken(type).publicBlob);
    // the signature of the other sk type, or a plain one, is not accepted
    const other = makeToken(TYPES.find((t) => t !== type)!);
    bad(other.sign(message), token.publicBlob);
    bad(new Writer().string(type === TYPES[0] ? 'ssh-ed25519' : 'ecdsa-sha2-nistp256').string(new Uint8Array(64)).finish());
    bad(new Uint8Array(0));
  });
}

test('malformed sk blobs and signatures are ProtocolErrors naming the problem', () => {
  const token = makeToken('sk-ssh-ed25519@openssh.com');
  assert.throws(() => parseSecurityKeyBlob(token.publicBlob.subarray(0, token.publicBlob.length - 1)), ProtocolError);
  assert.throws(() => parseSecurityKeyBlob(new Writer().string('ssh-ed25519').string(new Uint8Array(32)).finish()), /not a security key type/);
  const shortKey = new Writer().string('sk-ssh-ed25519@openssh.com').string(new Uint8Array(31)).string('ssh:').finish();
  assert.throws(() => parseSecurityKeyBlob(shortKey), /31 bytes/);
  const wrongCurve = new Writer().string('sk-ecdsa-sha2-nistp256@openssh.com').string('nistp384').string(new Uint8Array(65)).string('ssh:').finish();
  assert.throws(() => parseSecurityKeyBlob(wrongCurve), /curve/);
  const longApp = new Writer().string('sk-ssh-ed25519@openssh.com').string(new Uint8Array(32)).string('x'.repeat(2000)).finish();
  assert.throws(() => parseSecurityKeyBlob(longApp), ProtocolError);
  const sig = token.sign(message);
  assert.throws(() => parseSecurityKeySignature(sig.subarray(0, sig.length - 1)), /counter/);
  assert.throws(() => parseSecurityKeySignature(new Uint8Array([...sig, 0])), ProtocolError);
});

test('fuzz: mutated sk blobs and signatures give only ProtocolError, and verification never throws', () => {
  const tokens = TYPES.map((t) => makeToken(t));
  const blobs = tokens.map((t) => t.publicBlob);
  const sigs = tokens.map((t) => t.sign(message, 5, 1000));
  const isProtocol = (e: unknown) => e instanceof ProtocolError;
  let n = fuzz('sk-blob', blobs, 4000, parseSecurityKeyBlob, isProtocol);
  n += fuzz('sk-sig', sigs, 4000, parseSecurityKeySignature, isProtocol);
  n += fuzz('sk-describe', blobs, 2000, describePublicKey, isProtocol);
  // every changed signature fails, without throwing
  let accepted = 0;
  const same = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);
  n += fuzz('sk-verify', sigs, 1500, (s) => {
    for (const [i, t] of tokens.entries()) if (verifySecurityKeySignature(t.publicBlob, message, s).valid && !same(s, sigs[i]!)) accepted++;
  }, () => false);
  assert.equal(accepted, 0);
  assert.ok(n > 11000);
});

// ------------------------------------------------------------ server wiring

type Req = Extract<AuthServerEvent, { type: 'auth-request' }>;

function server() {
  const clock = new FakeClock();
  const io = new FakeIo<AuthServerEvent>(clock);
  const s = new AuthServer(io, { failureDelayMs: 0 }, clock.now);
  const requests = () => io.events.filter((e): e is Req => e.type === 'auth-request');
  return { io, s, requests };
}

function skRequest(type: SecurityKeyType, token: ReturnType<typeof makeToken>, flags: number, counter = 11): Uint8Array {
  const head = publickeyRequestHead({ username: 'u', service: 'ssh-connection', algorithm: type, publicKey: token.publicBlob }, true);
  return withSignature(head, token.sign(signedData(SESSION_ID, head), flags, counter));
}

test('sk algorithms are accepted for user keys by default (as sshd PubkeyAcceptedAlgorithms)', () => {
  for (const t of TYPES) {
    assert.ok(DEFAULT_ACCEPTED_ALGORITHMS.includes(t));
    assert.ok(secureUserKeyAlgorithms().includes(t));
  }
});

for (const type of TYPES) {
  test(`${type}: a server's publickey auth accepts a touched sk key and reports flags and counter`, () => {
    const t = server();
    const token = makeToken(type);
    // a query first: PK_OK for an sk key
    t.s.handle(publickeyRequestHead({ username: 'u', service: 'ssh-connection', algorithm: type, publicKey: token.publicBlob }, false));
    t.s.answerAuth(t.requests()[0]!.id, { result: 'success' });
    assert.equal(t.io.sent.at(-1)![0], 60);
    t.s.handle(skRequest(type, token, SK_USER_PRESENT, 77));
    t.s.answerAuth(t.requests()[1]!.id, { result: 'success' });
    assert.equal(t.s.authenticated, true);
    const ok = t.io.events.find((e) => e.type === 'auth-success');
    assert.ok(ok && ok.type === 'auth-success');
    assert.deepEqual(ok.publicKey?.securityKey, { flags: SK_USER_PRESENT, counter: 77 });
  });

  test(`${type}: without a touch the login fails unless the answer says noTouchRequired`, () => {
    const t = server();
    const token = makeToken(type);
    t.s.handle(skRequest(type, token, 0));
    t.s.answerAuth(t.requests()[0]!.id, { result: 'success' });
    assert.equal(t.s.authenticated, false);
    assert.equal(t.io.sent.at(-1)![0], 51);
    t.s.handle(skRequest(type, token, 0, 12));
    t.s.answerAuth(t.requests()[1]!.id, { result: 'success', securityKey: { noTouchRequired: true } });
    assert.equal(t.s.authenticated, true);
  });

  test(`${type}: verify-required refuses a signature without user verification`, () => {
    const t = server();
    const token = makeToken(type);
    t.s.handle(skRequest(type, token, SK_USER_PRESENT));
    t.s.answerAuth(t.requests()[0]!.id, { result: 'success', securityKey: { verifyRequired: true } });
    assert.equal(t.s.authenticated, false);
    t.s.handle(skRequest(type, token, SK_USER_PRESENT | SK_USER_VERIFIED));
    t.s.answerAuth(t.requests()[1]!.id, { result: 'success', securityKey: { verifyRequired: true } });
    assert.equal(t.s.authenticated, true);
  });
}

test('an sk key named with the other sk algorithm, or a plain algorithm, is refused before the application is asked', () => {
  const t = server();
  const token = makeToken('sk-ssh-ed25519@openssh.com');
  for (const algorithm of ['sk-ecdsa-sha2-nistp256@openssh.com', 'ssh-ed25519']) {
    t.s.handle(publickeyRequestHead({ username: 'u', service: 'ssh-connection', algorithm, publicKey: token.publicBlob }, false));
  }
  assert.equal(t.requests().length, 0);
});
