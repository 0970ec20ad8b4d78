// WebAuthn signatures by sk-ecdsa keys (webauthn-sk-ecdsa-sha2-nistp256@openssh.com),
// checked as OpenSSH's ssh_ecdsa_sk_verify does, with a software P-256 key as the
// "token" and the clientDataJSON a browser would build around the challenge.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, sign as nodeSign } from 'node:crypto';
import {
  parseSecurityKeySignature,
  verifySecurityKeySignature,
  webAuthnSignedData,
  SK_USER_PRESENT,
  SK_USER_VERIFIED,
  WEBAUTHN_SK_ECDSA,
} from '../../src/keys/security-key.js';
import { findUserKeyAlgorithm, secureUserKeyAlgorithms } from '../../src/algorithms/hostkey.js';
import { AuthServer, DEFAULT_ACCEPTED_ALGORITHMS } from '../../src/core/auth/server.js';
import type { AuthServerEvent } from '../../src/core/auth/events.js';
import { publickeyRequestHead, signedData, withSignature } from '../../src/core/auth/codec.js';
import { FakeIo, SESSION_ID } from './auth-harness.js';
import { FakeClock } from '../../src/testing/clock.js';
import { ProtocolError } from '../../src/errors.js';
import { Writer } from '../../src/wire/writer.js';
import { fuzz } from './fuzz-helpers.js';
import { makeToken } from './sk-token.js';

const message = new TextEncoder().encode('data the server asks to be signed');
const ORIGIN = 'https://ssh.example.com';

interface Assertion {
  readonly origin?: string;
  readonly clientData?: string;
  readonly flags?: number;
  readonly counter?: number;
  readonly extensions?: Uint8Array;
  /** Sign this clientData, then send `clientData` (a browser that lies afterwards). */
  readonly signedClientData?: string;
  readonly application?: string;
}

/** What a browser and token return for `data`: the webauthn-sk signature blob. */
function webauthnSign(token: ReturnType<typeof makeToken>, data: Uint8Array, a: Assertion = {}): Uint8Array {
  const origin = a.origin ?? ORIGIN;
  const clientData = a.clientData ?? `{"type":"webauthn.get","challenge":"${Buffer.from(data).toString('base64url')}","origin":"${origin}","crossOrigin":false}`;
  const flags = a.flags ?? SK_USER_PRESENT;
  const counter = a.counter ?? 42;
  const extensions = a.extensions ?? new Uint8Array(0);
  const hash = createHash('sha256').update(a.signedClientData ?? clientData).digest();
  const signed = webAuthnSignedData(a.application ?? 'ssh:', flags, counter, extensions, hash);
  const rs = nodeSign('sha256', signed, { key: token.privateKey, dsaEncoding: 'ieee-p1363' });
  const sig = new Writer().mpintFromBytes(rs.subarray(0, 32)).mpintFromBytes(rs.subarray(32)).finish();
  return new Writer().string(WEBAUTHN_SK_ECDSA).string(sig).byte(flags).uint32(counter).string(origin).string(clientData).string(extensions).finish().slice();
}

const token = makeToken('sk-ecdsa-sha2-nistp256@openssh.com');

test('a WebAuthn assertion verifies: challenge, origin and type in clientDataJSON, flags and counter reported', () => {
  const v = verifySecurityKeySignature(token.publicBlob, message, webauthnSign(token, message, { flags: SK_USER_PRESENT | SK_USER_VERIFIED, counter: 9 }), { verifyRequired: true });
  assert.deepEqual(v, { valid: true, flags: 5, counter: 9 });
  const parsed = parseSecurityKeySignature(webauthnSign(token, message));
  assert.equal(parsed.type, 'sk-ecdsa-sha2-nistp256@openssh.com');
  assert.equal(parsed.webauthn?.origin, ORIGIN);
  // extension data is signed as it is, with the ED flag
  const ext = new Uint8Array([0xa1, 0x01, 0x02]);
  assert.equal(verifySecurityKeySignature(token.publicBlob, message, webauthnSign(token, message, { flags: SK_USER_PRESENT | 0x80, extensions: ext })).valid, true);
});

test('refused as OpenSSH refuses: another challenge, origin or type, a quote in the origin, AD or a lying ED flag, tampered clientData, another application, no touch', () => {
  const challenge = Buffer.from(message).toString('base64url');
  const bad: [string, Assertion][] = [
    ['another challenge', { clientData: `{"type":"webauthn.get","challenge":"${Buffer.from('other').toString('base64url')}","origin":"${ORIGIN}"}` }],
    ['another origin in clientData', { clientData: `{"type":"webauthn.get","challenge":"${challenge}","origin":"https://evil.example"}` }],
    ['create, not get', { clientData: `{"type":"webauthn.create","challenge":"${challenge}","origin":"${ORIGIN}"}` }],
    ['fields reordered', { clientData: `{"challenge":"${challenge}","type":"webauthn.get","origin":"${ORIGIN}"}` }],
    ['quote in origin', { origin: 'https://a"b', clientData: `{"type":"webauthn.get","challenge":"${challenge}","origin":"https://a"b"}` }],
    ['attested data flag', { flags: SK_USER_PRESENT | 0x40 }],
    ['ED flag without extensions', { flags: SK_USER_PRESENT | 0x80 }],
    ['extensions without ED flag', { extensions: new Uint8Array([1]) }],
    ['clientData changed after signing', { signedClientData: `{"type":"webauthn.get","challenge":"${challenge}","origin":"${ORIGIN}","x":1}` }],
    ['another application', { application: 'ssh:other' }],
  ];
  for (const [what, a] of bad) assert.deepEqual(verifySecurityKeySignature(token.publicBlob, message, webauthnSign(token, message, a)), { valid: false, reason: 'bad-signature' }, what);
  assert.deepEqual(verifySecurityKeySignature(token.publicBlob, message, webauthnSign(token, message, { flags: 0 })), { valid: false, reason: 'user-presence-required' });
  assert.equal(verifySecurityKeySignature(token.publicBlob, message, webauthnSign(token, message, { flags: 0 }), { noTouchRequired: true }).valid, true);
  // never for an sk-ed25519 key, nor with trailing bytes
  const ed = makeToken('sk-ssh-ed25519@openssh.com');
  assert.equal(verifySecurityKeySignature(ed.publicBlob, message, webauthnSign(token, message)).valid, false);
  const trailing = new Uint8Array([...webauthnSign(token, message), 0]);
  assert.throws(() => parseSecurityKeySignature(trailing), ProtocolError);
});

test('a server accepts WebAuthn signatures for sk-ecdsa keys, under either algorithm name, as sshd does by default', () => {
  assert.ok(DEFAULT_ACCEPTED_ALGORITHMS.includes(WEBAUTHN_SK_ECDSA));
  assert.ok(secureUserKeyAlgorithms().includes(WEBAUTHN_SK_ECDSA));
  assert.equal(findUserKeyAlgorithm(WEBAUTHN_SK_ECDSA)?.keyType, 'sk-ecdsa-sha2-nistp256@openssh.com');
  for (const algorithm of [WEBAUTHN_SK_ECDSA, 'sk-ecdsa-sha2-nistp256@openssh.com']) {
    const clock = new FakeClock();
    const io = new FakeIo<AuthServerEvent>(clock);
    const s = new AuthServer(io, { failureDelayMs: 0 }, clock.now);
    const head = publickeyRequestHead({ username: 'u', service: 'ssh-connection', algorithm, publicKey: token.publicBlob }, true);
    s.handle(withSignature(head, webauthnSign(token, signedData(SESSION_ID, head))));
    const req = io.events.find((e): e is Extract<AuthServerEvent, { type: 'auth-request' }> => e.type === 'auth-request');
    assert.ok(req, algorithm);
    s.answerAuth(req.id, { result: 'success' });
    assert.equal(s.authenticated, true, algorithm);
  }
});

test('fuzz: mutated WebAuthn signatures parse to ProtocolError only and never verify', () => {
  const good = webauthnSign(token, message, { flags: SK_USER_PRESENT | 0x80, extensions: new Uint8Array([1, 2, 3]) });
  let n = fuzz('webauthn-sig', [good], 4000, parseSecurityKeySignature, (e) => e instanceof ProtocolError);
  let accepted = 0;
  n += fuzz('webauthn-verify', [good], 2000, (s) => {
    if (verifySecurityKeySignature(token.publicBlob, message, s).valid && Buffer.compare(Buffer.from(s), Buffer.from(good)) !== 0) accepted++;
  }, () => false);
  assert.equal(accepted, 0);
  assert.ok(n >= 6000);
});
