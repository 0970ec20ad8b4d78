// Signers that answer later (an agent, a remote signer) authenticate like local
// keys; a signer that fails costs only its own key.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { AuthenticationError, TimeoutError } from '../../src/errors.js';
import { generateHostKey, fingerprintSha256, type AuthSigner, type KeySigner } from '../../src/keys/index.js';
import { startServer, type TestServer } from './server-helpers.js';

const agentKey = generateHostKey('ssh-ed25519');
const otherKey = generateHostKey('ecdsa-sha2-nistp256');

/** A fake agent: holds `key` and signs after `delayMs`, on a later turn of the event loop. */
function fakeAgent(key: KeySigner, delayMs = 25): AuthSigner & { calls: number } {
  return {
    keyType: key.keyType,
    publicBlob: key.publicBlob,
    calls: 0,
    sign(algorithm, data) {
      this.calls++;
      return new Promise((resolve) => setTimeout(() => resolve(key.sign(algorithm, data)), delayMs));
    },
  };
}

/** A signer for `key` whose sign() fails as `how` says. */
function failingSigner(key: KeySigner, how: () => Uint8Array | Promise<Uint8Array>): AuthSigner {
  return { keyType: key.keyType, publicBlob: key.publicBlob, sign: how };
}

let server: TestServer | undefined;
const logins: string[] = [];
async function testServer(): Promise<TestServer> {
  if (server) return server;
  server = await startServer({
    // Both keys are accepted, so a failure can only come from the client's signer.
    authenticate: (ctx) => ctx.method === 'publickey' && [agentKey, otherKey].some((k) => Buffer.from(k.publicBlob).equals(Buffer.from(ctx.publicKey!.blob))),
  });
  server.server.on('authenticated', (_connection, info) => {
    if (info.publicKey) logins.push(fingerprintSha256(info.publicKey.blob));
  });
  return server;
}
after(async () => {
  await server?.close();
});

test('a signer that resolves later signs during authentication like a local key', async () => {
  const t = await testServer();
  const agent = fakeAgent(agentKey);
  logins.length = 0;
  const c = await t.connect({ privateKey: agent });
  assert.equal(agent.calls, 1);
  assert.deepEqual(logins, [fingerprintSha256(agentKey.publicBlob)]);
  await c.close();
  // Several agent keys and local keys mix; the first the server takes signs.
  const second = fakeAgent(otherKey, 5);
  const c2 = await t.connect({ privateKey: [second, agentKey] });
  assert.equal(second.calls, 1);
  await c2.close();
});

test('a signer that rejects, throws or returns no bytes costs its key only: the next key is tried', async () => {
  const t = await testServer();
  for (const how of [
    () => Promise.reject(new Error('agent refused')),
    () => {
      throw new Error('token unplugged');
    },
    () => 'not bytes' as unknown as Uint8Array,
    () => Promise.resolve(null as unknown as Uint8Array),
  ]) {
    const agent = fakeAgent(agentKey);
    logins.length = 0;
    const c = await t.connect({ privateKey: [failingSigner(otherKey, how), agent] });
    assert.equal(agent.calls, 1);
    assert.deepEqual(logins, [fingerprintSha256(agentKey.publicBlob)]);
    await c.close();
  }
});

test('a signer that returns raw signature bytes or a blob too long for a packet costs its key only, named in the error; the connection stays up', async () => {
  const t = await testServer();
  const raw = (algorithm: string, data: Uint8Array) => {
    // The signature without its `string algorithm || string signature` wrapping, as a careless agent bridge would give it.
    const blob = otherKey.sign(algorithm, data);
    return blob.subarray(blob.length - 64);
  };
  const huge = () => {
    const blob = new Uint8Array(40 << 20);
    new DataView(blob.buffer).setUint32(0, 11);
    blob.set(Buffer.from('ssh-ed25519'), 4);
    new DataView(blob.buffer).setUint32(15, blob.length - 19);
    return blob;
  };
  const trailing = (algorithm: string, data: Uint8Array) => Buffer.concat([otherKey.sign(algorithm, data), Buffer.from([0])]);
  for (const [how, why] of [
    [raw, /that are not an SSH signature blob/],
    [huge, /more than a signature blob may have/],
    [trailing, /that are not an SSH signature blob/],
  ] as const) {
    const agent = fakeAgent(agentKey);
    logins.length = 0;
    const c = await t.connect({ privateKey: [failingSigner(otherKey, how as () => Uint8Array), agent] });
    assert.equal(agent.calls, 1, String(why));
    assert.deepEqual(logins, [fingerprintSha256(agentKey.publicBlob)]);
    await c.close();
    const err = await t.connect({ readyTimeout: 5000, privateKey: failingSigner(otherKey, how as () => Uint8Array) }).then(
      () => assert.fail('logged in with a bad signature'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof AuthenticationError, String(err));
    assert.match(err.message, why);
    assert.match(err.message, /^authentication failed; the signer of SHA256:/, 'refused by us, not ended by the server');
  }
});

test('when every key fails to sign, the AuthenticationError names the failed signer and carries its error', async () => {
  const t = await testServer();
  const refusal = new Error('agent refused');
  await assert.rejects(
    t.connect({ privateKey: failingSigner(agentKey, () => Promise.reject(refusal)) }),
    (e: unknown) =>
      e instanceof AuthenticationError &&
      e.cause === refusal &&
      e.message.includes(`the signer of ${fingerprintSha256(agentKey.publicBlob)} failed: agent refused`) &&
      /\(tried: publickey; server allows: publickey/.test(e.message),
  );
  await assert.rejects(
    t.connect({ privateKey: [failingSigner(agentKey, () => Promise.reject(refusal)), failingSigner(otherKey, () => 'x' as unknown as Uint8Array)] }),
    (e: unknown) => e instanceof AuthenticationError && /failed: agent refused \(and 1 more\)/.test(e.message),
  );
});

test('a signer that never answers is bounded by readyTimeout', async () => {
  const t = await testServer();
  await assert.rejects(t.connect({ readyTimeout: 300, privateKey: failingSigner(agentKey, () => new Promise<Uint8Array>(() => undefined)) }), TimeoutError);
});
