// A security-key (sk-) user key logging in to createServer, Nacre's client
// signing with a software token (no hardware): the server verifies the
// PROTOCOL.u2f signature and requires a touch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fingerprintSha256, formatOpenSshPublicKeyLine, type AuthSigner } from '../../src/keys/index.js';
import { parseAuthorizedKeys } from '../../src/trust/index.js';
import { publicKeyAuthenticator } from '../../src/server/authorization.js';
import { AuthenticationError } from '../../src/errors.js';
import { SK_USER_PRESENT, SK_USER_VERIFIED, type SecurityKeyType } from '../../src/keys/security-key.js';
import { makeToken, tokenSigner } from '../core/sk-token.js';
import { startServer } from './server-helpers.js';

for (const type of ['sk-ssh-ed25519@openssh.com', 'sk-ecdsa-sha2-nistp256@openssh.com'] as SecurityKeyType[]) {
  test(`${type}: a touched token logs in; the authenticated event carries flags and counter`, async () => {
    const token = makeToken(type);
    const seen: string[] = [];
    const t = await startServer({
      authenticate: (ctx) => {
        if (ctx.method !== 'publickey') return false;
        seen.push(`${ctx.publicKey!.keyType} ${ctx.signed}`);
        return Buffer.from(ctx.publicKey!.blob).equals(Buffer.from(token.publicBlob));
      },
    });
    const logins: unknown[] = [];
    t.server.on('authenticated', (_conn, info) => logins.push({ fp: info.publicKey?.fingerprint, sk: info.publicKey?.securityKey }));
    try {
      const c = await t.connect({ privateKey: tokenSigner(type, token, SK_USER_PRESENT | SK_USER_VERIFIED) });
      assert.ok(seen.includes(`${type} true`));
      assert.deepEqual(logins, [{ fp: fingerprintSha256(token.publicBlob), sk: { flags: 5, counter: 1 } }]);
      await c.close();
    } finally {
      await t.close();
    }
  });

  test(`${type}: a signature without a touch, or by another token, does not log in`, async () => {
    const token = makeToken(type);
    const t = await startServer({
      authenticate: (ctx) => ctx.method === 'publickey' && Buffer.from(ctx.publicKey!.blob).equals(Buffer.from(token.publicBlob)),
    });
    let logins = 0;
    t.server.on('authenticated', () => logins++);
    const other = makeToken(type);
    const forger: AuthSigner = { ...tokenSigner(type, token), sign: (alg, data) => tokenSigner(type, other).sign(alg, data) };
    try {
      await assert.rejects(t.connect({ privateKey: tokenSigner(type, token, 0) }), AuthenticationError);
      await assert.rejects(t.connect({ privateKey: forger }), AuthenticationError);
      assert.equal(logins, 0);
    } finally {
      await t.close();
    }
  });
}

test('authorized_keys no-touch-required and verify-required decide how an sk- signature is judged', async () => {
  const type: SecurityKeyType = 'sk-ssh-ed25519@openssh.com';
  const token = makeToken(type);
  const line = (options: string) => parseAuthorizedKeys(`${options} ${formatOpenSshPublicKeyLine(token.publicBlob, 'token')}`).entries;
  for (const [options, flags, ok] of [
    ['', 0, false], // no touch: refused by default
    ['no-touch-required', 0, true],
    ['verify-required', SK_USER_PRESENT, false], // touched but not verified
    ['verify-required', SK_USER_PRESENT | SK_USER_VERIFIED, true],
  ] as const) {
    const t = await startServer({ authenticate: publicKeyAuthenticator({ authorizedKeys: line(options) }) });
    try {
      const attempt = t.connect({ privateKey: tokenSigner(type, token, flags) });
      if (ok) await (await attempt).close();
      else await assert.rejects(attempt, AuthenticationError, `${options} flags ${flags}`);
    } finally {
      await t.close();
    }
  }
});
