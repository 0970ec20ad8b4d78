// The client's `debug` option (the trace `nacre -v` prints) and
// `askPassword` (a password asked only when the method is tried), against
// Nacre's own server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, passwordSecret } from './server-helpers.js';
import { runAsCurrentUser } from '../../src/server/exec-handler.js';

test('debug: versions, algorithms, host key, methods and channels, by level', async () => {
  const t = await startServer({ authenticate: passwordSecret, session: (s) => runAsCurrentUser(s, { shell: '/bin/sh' }) });
  try {
    const lines: string[] = [];
    const c = await t.connect({ password: 'secret', debug: (level, message) => lines.push(`${level} ${message}`) });
    await c.exec('true');
    await c.close();
    const text = lines.join('\n');
    for (const re of [
      /^1 Connection established\.$/m,
      /^1 Local version string SSH-2\.0-Nacre_/m,
      /^1 Remote protocol version 2\.0, remote software version Nacre_/m,
      /^1 kex: algorithm: mlkem768x25519-sha256$/m,
      /^1 kex: host key algorithm: ssh-ed25519$/m,
      /^1 Server host key: ssh-ed25519 SHA256:/m,
      /^1 kex: client->server cipher: \S+ MAC: \S+ compression: none$/m,
      /^1 Authentications that can continue: /m,
      /^1 Authentication succeeded \(password\)\.$/m,
      /^1 Next authentication method: password$/m,
      /^1 channel 0: new session$/m,
      /^2 channel 0: open confirm$/m,
    ]) {
      assert.match(text, re);
    }
  } finally {
    await t.close();
  }
});

test('a throwing debug callback does not break the connection', async () => {
  const t = await startServer({ authenticate: passwordSecret });
  try {
    const c = await t.connect({
      password: 'secret',
      debug: () => {
        throw new Error('boom');
      },
    });
    await c.close();
  } finally {
    await t.close();
  }
});

test('askPassword is called when the password method is tried, with who is asked for', async () => {
  const t = await startServer({ authenticate: passwordSecret, auth: { failureDelayMs: 0, methods: ['password'] } });
  try {
    const asked: unknown[] = [];
    const c = await t.connect({ askPassword: (r) => (asked.push(r), 'secret') });
    await c.close();
    assert.deepEqual(asked, [{ username: 'alice', host: '127.0.0.1', port: t.port, attempt: 1 }]);
    await assert.rejects(t.connect({ askPassword: () => null }), /authentication failed/);
    // a wrong password is asked again, three times by default, or passwordAttempts
    const attempts: number[] = [];
    await assert.rejects(t.connect({ askPassword: async (r) => (attempts.push(r.attempt), 'wrong') }), /authentication failed/);
    assert.deepEqual(attempts, [1, 2, 3]);
    const two: number[] = [];
    const c2 = await t.connect({ passwordAttempts: 2, askPassword: (r) => (two.push(r.attempt), r.attempt === 2 ? 'secret' : 'typo') });
    await c2.close();
    assert.deepEqual(two, [1, 2]);
    await assert.rejects(t.connect({ passwordAttempts: 0, askPassword: () => 'secret' }), RangeError);
  } finally {
    await t.close();
  }
});
