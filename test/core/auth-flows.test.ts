// AuthClient against AuthServer: every method, end to end.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AuthPair, HOST_KEY, key, signWith } from './auth-harness.js';
import { AuthenticationError } from '../../src/errors.js';
import { UserauthRequestHead, UserauthPublickeyQuery, UserauthHostboundQuery } from '../../src/messages/userauth.js';
import { toHex } from '../../src/wire/bytes.js';
import { Reader } from '../../src/wire/reader.js';
import { CertificateError, certificateSigner, formatCertificateLine, signCertificate } from '../../src/keys/certificate.js';
import { verifySignature, type KeySigner } from '../../src/keys/index.js';
import { seededRandom } from '../../src/testing/random.js';

const alice = key('alice');
const bob = key('bob');

const pkOnly = (r: { method: string }) => (r.method === 'publickey' ? ({ result: 'success' } as const) : ({ result: 'failure' } as const));

function requestMethods(pair: AuthPair): string[] {
  return pair.wire.filter((w) => w.from === 'client' && w.payload[0] === 50).map((w) => UserauthRequestHead.decode(w.payload).method);
}

test('none succeeds when the server application accepts it', () => {
  const pair = new AuthPair({ username: 'u', credentials: [] }, {}, { server: () => ({ result: 'success' }) }).start();
  assert.equal(pair.client.done, true);
  assert.deepEqual(pair.trace(), ['c50', 's52']);
  assert.deepEqual(pair.clientEvents('auth-success'), [{ type: 'auth-success', method: 'none' }]);
  assert.ok(pair.clientIo.authenticated && pair.serverIo.authenticated);
  assert.equal(pair.server.authenticated, true);
  assert.equal(pair.server.username, 'u');
  assert.deepEqual(pair.serverIo.events.at(-1), { type: 'auth-success', username: 'u', method: 'none' });
});

test('password: success, and failure leading to AuthenticationError', () => {
  const server = (r: { method: string; password?: string }) =>
    r.method === 'password' && r.password === 'right' ? ({ result: 'success' } as const) : ({ result: 'failure' } as const);
  const ok = new AuthPair({ username: 'u', credentials: [{ method: 'password', password: 'right' }] }, {}, { server }).start();
  assert.deepEqual(ok.trace(), ['c50', 's51', 'c50', 's52']);
  assert.deepEqual(ok.clientEvents('auth-success'), [{ type: 'auth-success', method: 'password' }]);

  const bad = new AuthPair({ username: 'u', credentials: [{ method: 'password', password: 'wrong' }] }, {}, { server }).start();
  assert.equal(bad.client.done, true);
  assert.equal(bad.clientIo.authenticated, false);
  const err = bad.clientIo.failures[0];
  assert.ok(err instanceof AuthenticationError);
  assert.deepEqual(err.tried, ['password']);
  assert.deepEqual(err.allowed, ['publickey', 'password', 'keyboard-interactive']);
  assert.deepEqual(bad.client.tried, ['password']);
  const progress = bad.clientEvents('auth-progress');
  assert.deepEqual(
    progress.map((p) => [p.method, p.result]),
    [
      ['none', 'failure'],
      ['password', 'failure'],
    ],
  );
});

test('publickey: query, PK_OK, signed request, verified by the server', () => {
  const pair = new AuthPair(
    { username: 'alice', credentials: [{ method: 'publickey', keys: [alice] }] },
    {},
    {
      server: (r) => (r.method === 'publickey' && toHex(r.publicKey) === toHex(alice.publicBlob) ? { result: 'success' } : { result: 'failure' }),
      sign: signWith(alice),
    },
  ).start();
  assert.deepEqual(pair.trace(), ['c50', 's51', 'c50', 's60', 'c50', 's52']);
  const reqs = pair.serverRequests().filter((r) => r.method === 'publickey');
  assert.equal(reqs.length, 2);
  assert.deepEqual(
    reqs.map((r) => r.method === 'publickey' && [r.verified, r.algorithm, r.hostbound]),
    [
      [false, 'ssh-ed25519', false],
      [true, 'ssh-ed25519', false],
    ],
  );
  // the data to sign is session id, then the request without its signature
  const sign = pair.clientEvents('auth-sign')[0]!;
  const signed = pair.wire.filter((w) => w.from === 'client').at(-1)!.payload;
  assert.equal(toHex(sign.data.subarray(36)), toHex(signed.subarray(0, sign.data.length - 36)));
  assert.deepEqual(pair.clientEvents('auth-success'), [{ type: 'auth-success', method: 'publickey' }]);
});

test('publickey: a refused key is never signed with', () => {
  const pair = new AuthPair(
    { username: 'alice', credentials: [{ method: 'publickey', keys: [alice] }] },
    {},
    { server: () => ({ result: 'failure' }), sign: signWith(alice) },
  ).start();
  assert.equal(pair.clientEvents('auth-sign').length, 0);
  assert.ok(pair.clientIo.failures[0] instanceof AuthenticationError);
});

test('publickey-hostbound-v00@openssh.com when the server announces it', () => {
  const pair = new AuthPair(
    { username: 'alice', credentials: [{ method: 'publickey', keys: [alice] }] },
    {},
    { server: pkOnly, sign: signWith(alice) },
    ({ clientIo }) => clientIo.setExtension('publickey-hostbound@openssh.com', '0'),
  ).start();
  assert.deepEqual(requestMethods(pair), ['none', 'publickey-hostbound-v00@openssh.com', 'publickey-hostbound-v00@openssh.com']);
  const query = UserauthHostboundQuery.decode(pair.wire.find((w) => w.from === 'client' && requestMethodOf(w.payload) !== 'none')!.payload);
  assert.equal(toHex(query.hostKey), toHex(HOST_KEY.publicBlob));
  assert.ok(pair.serverRequests().every((r) => r.method !== 'publickey' || r.hostbound));
  assert.equal(pair.client.done && pair.server.authenticated, true);
});

test('an unknown hostbound version is not used', () => {
  const pair = new AuthPair(
    { username: 'alice', credentials: [{ method: 'publickey', keys: [alice] }] },
    {},
    { server: pkOnly, sign: signWith(alice) },
    ({ clientIo }) => clientIo.setExtension('publickey-hostbound@openssh.com', '1'),
  ).start();
  assert.deepEqual(requestMethods(pair), ['none', 'publickey', 'publickey']);
});

function requestMethodOf(p: Uint8Array): string {
  return UserauthRequestHead.decode(p).method;
}

test('RSA keys: signature algorithm from server-sig-algs', () => {
  const rsa = key('rsa', 'ssh-rsa', 2048);
  const algorithmFor = (sigAlgs: string | null): string | null => {
    const pair = new AuthPair(
      { username: 'r', credentials: [{ method: 'publickey', keys: [rsa] }] },
      {},
      { server: pkOnly, sign: signWith(rsa) },
      ({ clientIo }) => {
        if (sigAlgs !== null) clientIo.setExtension('server-sig-algs', sigAlgs);
      },
    ).start();
    const q = pair.wire.find((w) => w.from === 'client' && requestMethodOf(w.payload) === 'publickey');
    if (!q) return null;
    assert.equal(pair.server.authenticated, true);
    return UserauthPublickeyQuery.decode(q.payload).algorithm;
  };
  assert.equal(algorithmFor('ssh-ed25519,ecdsa-sha2-nistp256,rsa-sha2-256,rsa-sha2-512'), 'rsa-sha2-512');
  assert.equal(algorithmFor('ssh-ed25519,rsa-sha2-256,ssh-rsa'), 'rsa-sha2-256');
  assert.equal(algorithmFor(null), 'rsa-sha2-512');
  // server-sig-algs without SHA-2 RSA: the key cannot be used, SHA-1 is never offered
  assert.equal(algorithmFor('ssh-ed25519,ssh-rsa'), null);
});

test('certificate keys: the -cert-v01 algorithm, RSA chosen from server-sig-algs', () => {
  const ca = key('cert-ca');
  const offered = (subject: KeySigner, sigAlgs: string | null): string | null => {
    const cert = signCertificate({ publicKey: subject.publicBlob, kind: 'user', random: seededRandom('c'), principals: ['c'] }, ca);
    const signer = certificateSigner(subject, cert);
    const pair = new AuthPair(
      { username: 'c', credentials: [{ method: 'publickey', keys: [signer] }] },
      {},
      { server: pkOnly },
      ({ clientIo }) => {
        if (sigAlgs !== null) clientIo.setExtension('server-sig-algs', sigAlgs);
      },
    ).start();
    const q = pair.wire.find((w) => w.from === 'client' && requestMethodOf(w.payload) === 'publickey');
    if (!q) return null;
    const query = UserauthPublickeyQuery.decode(q.payload);
    assert.deepEqual(query.publicKey, cert.blob);
    return query.algorithm;
  };
  assert.equal(offered(alice, 'ssh-ed25519,rsa-sha2-512'), 'ssh-ed25519-cert-v01@openssh.com');
  const rsa = key('rsa', 'ssh-rsa', 2048);
  assert.equal(offered(rsa, 'ssh-ed25519,rsa-sha2-256'), 'rsa-sha2-256-cert-v01@openssh.com');
  assert.equal(offered(rsa, null), 'rsa-sha2-512-cert-v01@openssh.com');
  // no SHA-2 RSA in server-sig-algs: the RSA certificate is not offered, as the plain key is not
  assert.equal(offered(rsa, 'ssh-ed25519,ssh-rsa'), null);
});

test('certificateSigner signs under the plain algorithm name and refuses what its certificate cannot use', () => {
  const ca = key('cert-ca');
  const rsa = key('rsa', 'ssh-rsa', 2048);
  const data = new Uint8Array([1, 2, 3]);
  for (const [subject, algorithm, plain] of [
    [alice, 'ssh-ed25519-cert-v01@openssh.com', 'ssh-ed25519'],
    [rsa, 'rsa-sha2-256-cert-v01@openssh.com', 'rsa-sha2-256'],
    [rsa, 'rsa-sha2-512-cert-v01@openssh.com', 'rsa-sha2-512'],
  ] as const) {
    const cert = signCertificate({ publicKey: subject.publicBlob, kind: 'user', random: seededRandom('s'), principals: ['c'] }, ca);
    const signer = certificateSigner(subject, formatCertificateLine(cert, 'from a -cert.pub line'));
    assert.equal(signer.keyType, cert.certType);
    const signature = signer.sign(algorithm, data) as Uint8Array;
    assert.equal(new Reader(signature).text(), plain);
    assert.equal(verifySignature(subject.publicBlob, plain, data, signature), true);
  }
  const cert = signCertificate({ publicKey: alice.publicBlob, kind: 'user', random: seededRandom('d'), principals: ['c'] }, ca);
  assert.throws(() => certificateSigner(alice, cert).sign('ssh-ed25519', data), RangeError);
  assert.throws(() => certificateSigner(alice, cert).sign('rsa-sha2-512-cert-v01@openssh.com', data), RangeError);
  assert.throws(() => certificateSigner(bob, cert), CertificateError);
});

test('password change: CHANGEREQ, new password, success; null gives up on password', () => {
  const server = (r: { method: string; newPassword?: string }) => {
    if (r.method !== 'password') return { result: 'failure' } as const;
    return r.newPassword === 'fresh' ? ({ result: 'success' } as const) : ({ result: 'change-password', prompt: 'expired' } as const);
  };
  const changed: string[] = [];
  const pair = new AuthPair(
    { username: 'u', credentials: [{ method: 'password', password: 'old' }] },
    {},
    {
      server: (r) => {
        if (r.method === 'password' && r.newPassword) changed.push(`${r.password}->${r.newPassword}`);
        return server(r);
      },
      passwordChange: () => 'fresh',
    },
  ).start();
  assert.deepEqual(pair.trace(), ['c50', 's51', 'c50', 's60', 'c50', 's52']);
  assert.deepEqual(pair.clientEvents('auth-password-change').map((e) => e.prompt), ['expired']);
  assert.deepEqual(changed, ['old->fresh']);

  const giveUp = new AuthPair(
    { username: 'u', credentials: [{ method: 'password', password: 'old' }, { method: 'keyboard-interactive' }] },
    {},
    {
      server: (r) => (r.method === 'keyboard-interactive' ? { result: 'success' } : server(r)),
      passwordChange: () => null,
    },
  ).start();
  assert.deepEqual(requestMethods(giveUp), ['none', 'password', 'keyboard-interactive']);
  assert.equal(giveUp.server.authenticated, true);
});

test('keyboard-interactive: two rounds of prompts', () => {
  const seen: (readonly string[] | undefined)[] = [];
  const pair = new AuthPair(
    { username: 'k', credentials: [{ method: 'keyboard-interactive', submethods: 'pam' }] },
    {},
    {
      server: (r) => {
        if (r.method !== 'keyboard-interactive') return { result: 'failure' };
        assert.equal(r.submethods, 'pam');
        seen.push(r.responses);
        if (!r.responses) return { result: 'prompt', name: 'login', instruction: 'hi', prompts: [{ prompt: 'Password: ', echo: false }] };
        if (r.responses[0] === 'pw') return { result: 'prompt', prompts: [{ prompt: 'OTP: ', echo: true }, { prompt: 'PIN: ', echo: false }] };
        return r.responses.join('/') === '123456/42' ? { result: 'success' } : { result: 'failure' };
      },
      prompt: (e) => (e.prompts[0]!.prompt === 'Password: ' ? ['pw'] : ['123456', '42']),
    },
  ).start();
  assert.deepEqual(seen, [undefined, ['pw'], ['123456', '42']]);
  const prompts = pair.clientEvents('auth-prompt');
  assert.equal(prompts.length, 2);
  assert.equal(prompts[0]!.name, 'login');
  assert.equal(prompts[0]!.instruction, 'hi');
  assert.deepEqual(prompts[1]!.prompts, [
    { prompt: 'OTP: ', echo: true },
    { prompt: 'PIN: ', echo: false },
  ]);
  assert.deepEqual(pair.trace(), ['c50', 's51', 'c50', 's60', 'c61', 's60', 'c61', 's52']);
});

test('keyboard-interactive: a round with zero prompts is answered without asking', () => {
  const pair = new AuthPair(
    { username: 'k', credentials: [{ method: 'keyboard-interactive' }] },
    {},
    {
      server: (r) => {
        if (r.method !== 'keyboard-interactive') return { result: 'failure' };
        return r.responses ? (r.responses.length === 0 ? { result: 'success' } : { result: 'failure' }) : { result: 'prompt', instruction: 'welcome', prompts: [] };
      },
    },
  ).start();
  assert.equal(pair.clientEvents('auth-prompt').length, 0);
  assert.equal(pair.server.authenticated, true);
});

test('keyboard-interactive: a null answer abandons it for the next method', () => {
  const pair = new AuthPair(
    { username: 'k', credentials: [{ method: 'keyboard-interactive' }, { method: 'password', password: 'p' }] },
    { methods: ['keyboard-interactive', 'password'] },
    {
      server: (r) => {
        if (r.method === 'keyboard-interactive') return { result: 'prompt', prompts: [{ prompt: 'code', echo: false }] };
        return r.method === 'password' ? { result: 'success' } : { result: 'failure' };
      },
      prompt: () => null,
    },
  ).start();
  assert.deepEqual(pair.trace(), ['c50', 's51', 'c50', 's60', 'c50', 's52']);
  assert.equal(pair.server.authenticated, true);
});

test('partial success: publickey then password, the first method not retried', () => {
  const pair = new AuthPair(
    { username: 'two', credentials: [{ method: 'publickey', keys: [alice, bob] }, { method: 'password', password: 'pw' }] },
    { methods: ['publickey'] },
    {
      server: (r) => {
        if (r.method === 'publickey') return r.verified ? { result: 'partial', methods: ['password'] } : { result: 'success' };
        if (r.method === 'password') return r.password === 'pw' ? { result: 'success' } : { result: 'failure' };
        return { result: 'failure' };
      },
      sign: signWith(alice, bob),
    },
  ).start();
  assert.deepEqual(requestMethods(pair), ['none', 'publickey', 'publickey', 'password']);
  assert.deepEqual(
    pair.clientEvents('auth-progress').map((p) => [p.method, p.result, p.allowed.join(',')]),
    [
      ['none', 'failure', 'publickey'],
      ['publickey', 'partial', 'password'],
    ],
  );
  assert.equal(pair.server.authenticated, true);
  assert.deepEqual(pair.clientEvents('auth-success'), [{ type: 'auth-success', method: 'password' }]);
});

test('banner: sent once, before the first reply, and reported', () => {
  const pair = new AuthPair(
    { username: 'u', credentials: [{ method: 'password', password: 'x' }] },
    { banner: 'Authorized use only\n' },
    { server: (r) => (r.method === 'password' ? { result: 'success' } : { result: 'failure' }) },
  ).start();
  assert.deepEqual(pair.trace(), ['c50', 's53', 's51', 'c50', 's52']);
  assert.deepEqual(pair.clientEvents('auth-banner'), [{ type: 'auth-banner', message: 'Authorized use only\n' }]);
});

test('the client offers each key once, even when listed twice', () => {
  const offered: string[] = [];
  const pair = new AuthPair(
    {
      username: 'u',
      credentials: [
        { method: 'publickey', keys: [alice, bob, alice] },
        { method: 'password', password: 'x' },
        { method: 'publickey', keys: [bob, alice] },
      ],
    },
    { maxAttempts: 100 },
    {
      server: (r) => {
        if (r.method === 'publickey') offered.push(toHex(r.publicKey) === toHex(alice.publicBlob) ? 'alice' : 'bob');
        return { result: 'failure' };
      },
    },
  ).start();
  assert.deepEqual(offered, ['alice', 'bob']);
  const err = pair.clientIo.failures[0];
  assert.ok(err instanceof AuthenticationError);
  assert.deepEqual(err.tried, ['publickey', 'password']);
});

test('credentials are tried in the caller order, skipping methods the server lacks', () => {
  const pair = new AuthPair(
    {
      username: 'u',
      credentials: [{ method: 'keyboard-interactive' }, { method: 'password', password: 'x' }, { method: 'publickey', keys: [alice] }],
    },
    { methods: ['publickey', 'password'] },
    { server: () => ({ result: 'failure' }) },
  ).start();
  assert.deepEqual(requestMethods(pair), ['none', 'password', 'publickey']);
  const err = pair.clientIo.failures[0];
  assert.ok(err instanceof AuthenticationError);
  assert.deepEqual(err.allowed, ['publickey', 'password']);
  assert.match(err.message, /tried: password, publickey/);
});

test('the application may answer synchronously from inside emit', () => {
  const pair = new AuthPair(
    { username: 'alice', credentials: [{ method: 'publickey', keys: [alice] }] },
    {},
    {},
    ({ clientIo, serverIo }) => {
      serverIo.onEvent = (e) => {
        if (e.type === 'auth-request') pair.server.answerAuth(e.id, e.method === 'publickey' ? { result: 'success' } : { result: 'failure' });
      };
      clientIo.onEvent = (e) => {
        if (e.type === 'auth-sign') pair.client.answerSign(e.id, alice.sign(e.algorithm, e.data));
      };
    },
  );
  pair.start();
  assert.equal(pair.server.authenticated, true);
  assert.equal(pair.client.done, true);
});
