// AuthClient on its own: what it sends, and how it treats bad server input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeIo, key } from './auth-harness.js';
import { AuthClient } from '../../src/core/auth/client.js';
import type { AuthClientEvent, AuthClientOptions } from '../../src/core/auth/events.js';
import { encodeInfoRequest } from '../../src/core/auth/codec.js';
import {
  UserauthBanner,
  UserauthFailure,
  UserauthPasswdChangereq,
  UserauthPkOk,
  UserauthRequestHead,
  UserauthSuccess,
} from '../../src/messages/userauth.js';
import { AuthenticationError, ProtocolError } from '../../src/errors.js';
import { FakeClock } from '../../src/testing/clock.js';

const alice = key('alice');
const bob = key('bob');

function makeClient(options: Partial<AuthClientOptions> = {}) {
  const io = new FakeIo<AuthClientEvent>(new FakeClock());
  const client = new AuthClient(io, { username: 'u', credentials: [], ...options });
  const methods = () => io.sent.filter((p) => p[0] === 50).map((p) => UserauthRequestHead.decode(p).method);
  return { io, client, methods };
}

const failure = (methods: string[], partialSuccess = false) => UserauthFailure.encode({ methods, partialSuccess });
const success = UserauthSuccess.encode({});

test('the first request is none, with the default service', () => {
  const c = makeClient();
  c.client.start();
  const head = UserauthRequestHead.decode(c.io.sent[0]!);
  assert.deepEqual([head.username, head.service, head.method], ['u', 'ssh-connection', 'none']);
  c.client.handle(success);
  assert.equal(c.client.done, true);
  assert.equal(c.io.authenticated, true);
  assert.deepEqual(c.client.tried, []);
});

test('giving up lists what was tried and what the server allows', () => {
  const c = makeClient({ credentials: [{ method: 'none' }, { method: 'password', password: 'p' }] });
  c.client.start();
  c.client.handle(failure(['publickey']));
  const err = c.io.failures[0];
  assert.ok(err instanceof AuthenticationError);
  assert.deepEqual(err.tried, ['none']);
  assert.deepEqual(err.allowed, ['publickey']);
  assert.equal(c.client.done, true);
  // input after giving up is ignored
  c.client.handle(success);
  assert.equal(c.io.authenticated, false);
});

test('a key the signer declines is skipped; the next key is queried', () => {
  const c = makeClient({ credentials: [{ method: 'publickey', keys: [alice, bob] }] });
  c.client.start();
  c.client.handle(failure(['publickey']));
  c.client.handle(UserauthPkOk.encode({ algorithm: 'ssh-ed25519', publicKey: alice.publicBlob }));
  const sign = c.io.events.find((e) => e.type === 'auth-sign');
  assert.ok(sign && sign.type === 'auth-sign');
  c.client.answerSign(sign.id + 100, new Uint8Array(1)); // unknown id: ignored
  assert.equal(c.io.sent.length, 2);
  c.client.answerSign(sign.id, null);
  assert.equal(c.io.sent.length, 3);
  c.client.answerSign(sign.id, new Uint8Array(1)); // stale: ignored
  assert.equal(c.io.sent.length, 3);
  assert.deepEqual(c.methods(), ['none', 'publickey', 'publickey']);
});

test('banners are reported before success, dropped after', () => {
  const c = makeClient();
  c.client.handle(UserauthBanner.encode({ message: 'early', language: '' }));
  c.client.start();
  c.client.handle(UserauthBanner.encode({ message: 'hello', language: 'en' }));
  c.client.handle(success);
  c.client.handle(UserauthBanner.encode({ message: 'late', language: '' }));
  assert.deepEqual(
    c.io.events.filter((e) => e.type === 'auth-banner').map((e) => e.type === 'auth-banner' && e.message),
    ['early', 'hello'],
  );
});

test('answerPrompt checks the number of responses', () => {
  const c = makeClient({ credentials: [{ method: 'keyboard-interactive' }] });
  c.client.start();
  c.client.handle(failure(['keyboard-interactive']));
  c.client.handle(encodeInfoRequest({ name: '', instruction: '', prompts: [{ prompt: 'a', echo: true }] }));
  const p = c.io.events.find((e) => e.type === 'auth-prompt');
  assert.ok(p && p.type === 'auth-prompt');
  assert.throws(() => c.client.answerPrompt(p.id, []), RangeError);
  c.client.answerPrompt(p.id, ['x']);
  assert.equal(c.io.sent.at(-1)![0], 61);
});

test('malformed or unexpected server messages throw ProtocolError', () => {
  const keyCreds: Partial<AuthClientOptions> = { credentials: [{ method: 'publickey', keys: [alice] }] };
  const pwCreds: Partial<AuthClientOptions> = { credentials: [{ method: 'password', password: 'p' }] };
  const kbdCreds: Partial<AuthClientOptions> = { credentials: [{ method: 'keyboard-interactive' }] };
  const cases: [string, Partial<AuthClientOptions>, (c: ReturnType<typeof makeClient>) => void][] = [
    ['empty', {}, (c) => c.client.handle(new Uint8Array(0))],
    ['FAILURE before start', {}, (c) => c.client.handle(failure(['password']))],
    ['SUCCESS before start', {}, (c) => c.client.handle(success)],
    ['truncated FAILURE', {}, (c) => (c.client.start(), c.client.handle(failure(['password']).subarray(0, 6)))],
    ['FAILURE with trailing bytes', {}, (c) => (c.client.start(), c.client.handle(new Uint8Array([...failure([]), 1])))],
    ['FAILURE with a bad name-list', {}, (c) => (c.client.start(), c.client.handle(new Uint8Array([51, 0, 0, 0, 2, 0x61, 0x0a, 0])))],
    ['60 after none', {}, (c) => (c.client.start(), c.client.handle(UserauthPkOk.encode({ algorithm: 'ssh-ed25519', publicKey: alice.publicBlob })))],
    ['message 61', {}, (c) => (c.client.start(), c.client.handle(new Uint8Array([61, 0, 0, 0, 0])))],
    ['message 50', {}, (c) => (c.client.start(), c.client.handle(new Uint8Array([50])))],
    ['message 79', {}, (c) => (c.client.start(), c.client.handle(new Uint8Array([79])))],
    ['message after success', {}, (c) => (c.client.start(), c.client.handle(success), c.client.handle(failure([])))],
    [
      'PK_OK for another key',
      keyCreds,
      (c) => {
        c.client.start();
        c.client.handle(failure(['publickey']));
        c.client.handle(UserauthPkOk.encode({ algorithm: 'ssh-ed25519', publicKey: bob.publicBlob }));
      },
    ],
    [
      'PK_OK for another algorithm',
      keyCreds,
      (c) => {
        c.client.start();
        c.client.handle(failure(['publickey']));
        c.client.handle(UserauthPkOk.encode({ algorithm: 'ssh-rsa', publicKey: alice.publicBlob }));
      },
    ],
    [
      'SUCCESS while the signer is busy',
      keyCreds,
      (c) => {
        c.client.start();
        c.client.handle(failure(['publickey']));
        c.client.handle(UserauthPkOk.encode({ algorithm: 'ssh-ed25519', publicKey: alice.publicBlob }));
        c.client.handle(success);
      },
    ],
    [
      'truncated PASSWD_CHANGEREQ',
      pwCreds,
      (c) => {
        c.client.start();
        c.client.handle(failure(['password']));
        c.client.handle(UserauthPasswdChangereq.encode({ prompt: 'new', language: '' }).subarray(0, 5));
      },
    ],
    [
      'INFO_REQUEST claiming 2^32-1 prompts',
      kbdCreds,
      (c) => {
        c.client.start();
        c.client.handle(failure(['keyboard-interactive']));
        c.client.handle(infoRequestWithTail([0xff, 0xff, 0xff, 0xff]));
      },
    ],
    [
      'INFO_REQUEST with 101 prompts',
      kbdCreds,
      (c) => {
        c.client.start();
        c.client.handle(failure(['keyboard-interactive']));
        c.client.handle(infoRequestWithTail([0, 0, 0, 101, ...Array.from({ length: 101 }, () => [0, 0, 0, 0, 0]).flat()]));
      },
    ],
    [
      'INFO_REQUEST with a missing echo flag',
      kbdCreds,
      (c) => {
        c.client.start();
        c.client.handle(failure(['keyboard-interactive']));
        c.client.handle(infoRequestWithTail([0, 0, 0, 1, 0, 0, 0, 1, 0x61]));
      },
    ],
  ];
  for (const [name, options, run] of cases) {
    const c = makeClient(options);
    assert.throws(() => run(c), ProtocolError, name);
  }
});

/** An INFO_REQUEST with empty name, instruction and language, then `tail` as its prompt list (to forge bad counts). */
function infoRequestWithTail(tail: number[]): Uint8Array {
  return Uint8Array.from([60, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, ...tail]);
}

test('a password credential without a password asks for it (auth-password) only when the method is tried', () => {
  const c = makeClient({ credentials: [{ method: 'publickey', keys: [alice] }, { method: 'password' }] });
  c.client.start();
  c.client.handle(failure(['publickey', 'password']));
  // the key is queried first; nothing asked yet
  assert.equal(c.io.events.filter((e) => e.type === 'auth-password').length, 0);
  c.client.handle(failure(['publickey', 'password']));
  const ask = c.io.events.find((e) => e.type === 'auth-password');
  assert.ok(ask && ask.type === 'auth-password');
  const before = c.io.sent.length;
  c.client.answerPassword(ask.id + 100, 'stale'); // a stale id is ignored
  assert.equal(c.io.sent.length, before);
  c.client.answerPassword(ask.id, 'hunter2');
  assert.deepEqual(c.methods().slice(-1), ['password']);
  c.client.handle(success);
  assert.equal(c.io.authenticated, true);
});

test('answering auth-password with null skips the method', () => {
  const c = makeClient({ credentials: [{ method: 'password' }] });
  c.client.start();
  c.client.handle(failure(['password']));
  const ask = c.io.events.find((e) => e.type === 'auth-password');
  assert.ok(ask && ask.type === 'auth-password');
  c.client.answerPassword(ask.id, null);
  const err = c.io.failures[0];
  assert.ok(err instanceof AuthenticationError);
  assert.deepEqual(c.methods(), ['none']);
});

test('an asked password is asked again after a failure, up to its attempts, then given up', () => {
  const c = makeClient({ credentials: [{ method: 'password', attempts: 2 }] });
  c.client.start();
  c.client.handle(failure(['password']));
  const asks = () => c.io.events.filter((e) => e.type === 'auth-password');
  const first = asks()[0];
  assert.ok(first && first.type === 'auth-password');
  assert.equal(first.attempt, 1);
  c.client.answerPassword(first.id, 'wrong');
  c.client.handle(failure(['password']));
  const second = asks()[1];
  assert.ok(second && second.type === 'auth-password');
  assert.equal(second.attempt, 2);
  c.client.answerPassword(second.id, 'wrong again');
  c.client.handle(failure(['password']));
  assert.equal(asks().length, 2);
  assert.ok(c.io.failures[0] instanceof AuthenticationError);
});

test('answering null to an asked password ends its retries', () => {
  const c = makeClient({ credentials: [{ method: 'password', attempts: 3 }] });
  c.client.start();
  c.client.handle(failure(['password']));
  const ask = c.io.events.find((e) => e.type === 'auth-password');
  assert.ok(ask && ask.type === 'auth-password');
  c.client.answerPassword(ask.id, null);
  assert.equal(c.io.events.filter((e) => e.type === 'auth-password').length, 1);
  assert.ok(c.io.failures[0] instanceof AuthenticationError);
});

test('keyboard-interactive is begun again after a failure up to its attempts (default once); a null answer ends its retries', () => {
  const rounds = (attempts: number | undefined, answer: string[] | null) => {
    const c = makeClient({ credentials: [{ method: 'keyboard-interactive', ...(attempts !== undefined ? { attempts } : {}) }] });
    c.client.start();
    c.client.handle(failure(['keyboard-interactive']));
    for (let i = 0; i < 5 && c.io.failures.length === 0; i++) {
      c.client.handle(encodeInfoRequest({ name: '', instruction: '', prompts: [{ prompt: 'code', echo: false }] }));
      const p = c.io.events.filter((e) => e.type === 'auth-prompt').at(-1);
      assert.ok(p && p.type === 'auth-prompt');
      c.client.answerPrompt(p.id, answer);
      if (answer !== null) c.client.handle(failure(['keyboard-interactive']));
    }
    assert.ok(c.io.failures[0] instanceof AuthenticationError);
    return c.methods().filter((m) => m === 'keyboard-interactive').length;
  };
  assert.equal(rounds(undefined, ['wrong']), 1);
  assert.equal(rounds(3, ['wrong']), 3);
  assert.equal(rounds(3, null), 1);
});
