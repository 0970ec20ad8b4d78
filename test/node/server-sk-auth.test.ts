// A security-key (sk-) user key logging in to createServer, Nacre's client
// signing with a software token (no hardware): the server verifies the
// PROTOCOL.u2f signature and requires a touch (or not, or a verification,
// as authorized_keys options and sshd_config's PubkeyAuthOptions say).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fingerprintSha256, formatOpenSshPublicKeyLine, type AuthSigner } from '../../src/keys/index.js';
import { parseAuthorizedKeys } from '../../src/trust/index.js';
import { authorizePublicKey, publicKeyAuthenticator } from '../../src/server/authorization.js';
import { withConfigRestrictions } from '../../src/cli/sshd/auth-policy.js';
import { parseSshdConfig, resolveSshdConfig } from '../../src/config/index.js';
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

test('sshd_config PubkeyAuthOptions (through nacred\'s withConfigRestrictions): touch-required overrides no-touch-required, verify-required asks for verification', async () => {
  const type: SecurityKeyType = 'sk-ssh-ed25519@openssh.com';
  const token = makeToken(type);
  const entries = (options: string) => parseAuthorizedKeys(`${options} ${formatOpenSshPublicKeyLine(token.publicBlob, 'token')}`).entries;
  const settings = (text: string) => resolveSshdConfig(parseSshdConfig(text, 'test_config', { readFile: () => null, glob: () => [] }), { user: 'alice' });
  const UP = SK_USER_PRESENT;
  const UV = SK_USER_VERIFIED;
  for (const [options, config, flags, ok] of [
    ['', 'PubkeyAuthOptions none', UP, true],
    ['no-touch-required', 'PubkeyAuthOptions none', 0, true],
    ['no-touch-required', 'PubkeyAuthOptions touch-required', 0, false],
    ['no-touch-required', 'PubkeyAuthOptions touch-required', UP, true],
    ['', 'PubkeyAuthOptions verify-required', UP, false],
    ['', 'PubkeyAuthOptions verify-required', UP | UV, true],
    ['no-touch-required', 'PubkeyAuthOptions verify-required', UV, true],
    ['no-touch-required', 'PubkeyAuthOptions verify-required touch-required', UV, false],
    // A Match block that applies sets it too.
    ['', 'Match User alice\n  PubkeyAuthOptions verify-required', UP, false],
    ['', 'Match User bob\n  PubkeyAuthOptions verify-required', UP, true],
  ] as const) {
    const s = settings(config);
    const t = await startServer({
      authenticate: (ctx) => {
        const v = authorizePublicKey(ctx, { authorizedKeys: entries(options) });
        return v.allowed ? { restrictions: withConfigRestrictions(v.restrictions, s) } : false;
      },
    });
    try {
      const attempt = t.connect({ privateKey: tokenSigner(type, token, flags) });
      if (ok) await (await attempt).close();
      else await assert.rejects(attempt, AuthenticationError, `${options} / ${config} / flags ${flags}`);
    } finally {
      await t.close();
    }
  }
});
