// createServer's authenticate callback, driven by Nacre's own client over loopback.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fingerprintSha256, generateHostKey, type KeySigner } from '../../src/keys/index.js';
import { AuthenticationError } from '../../src/errors.js';
import type { AuthContext } from '../../src/server/auth.js';
import { startServer, passwordSecret } from './server-helpers.js';

const userKey = generateHostKey('ssh-ed25519');
const otherKey = generateHostKey('ecdsa-sha2-nistp256');

test('publickey: the callback sees the query, then the signed request; authenticated names the verified key', async () => {
  const seen: { signed: boolean | undefined; verified: boolean | undefined; fingerprint: string | undefined; keyType: string | undefined }[] = [];
  const t = await startServer({
    authenticate: (ctx) => {
      if (ctx.method !== 'publickey') return false;
      seen.push({ signed: ctx.signed, verified: ctx.verified, fingerprint: ctx.publicKey?.fingerprint, keyType: ctx.publicKey?.keyType });
      return Buffer.from(ctx.publicKey!.blob).equals(Buffer.from(userKey.publicBlob));
    },
  });
  const authenticated: string[] = [];
  t.server.on('authenticated', (conn, info) => authenticated.push(`${info.username}/${info.method}/${conn.username}/${info.publicKey?.fingerprint}`));
  try {
    const c = await t.connect({ privateKey: userKey });
    assert.ok(seen.some((s) => s.signed === true && s.verified === true), 'a signed attempt was judged');
    assert.ok(seen.every((s) => s.keyType === 'ssh-ed25519' && s.fingerprint?.startsWith('SHA256:')));
    assert.deepEqual(authenticated, [`alice/publickey/alice/${fingerprintSha256(userKey.publicBlob)}`]);
    await c.close();
    await assert.rejects(t.connect({ privateKey: otherKey }));
  } finally {
    await t.close();
  }
});

test('publickey: an accepted key whose signature is forged does not log in', async () => {
  const mallory = generateHostKey('ssh-ed25519');
  let asked = 0;
  const t = await startServer({
    authenticate: (ctx) => {
      if (ctx.method !== 'publickey') return false;
      asked++;
      return Buffer.from(ctx.publicKey!.blob).equals(Buffer.from(userKey.publicBlob));
    },
  });
  let logins = 0;
  t.server.on('authenticated', () => logins++);
  // claims userKey, signs with mallory's
  const forger: KeySigner = Object.freeze({ ...userKey, sign: (alg: string, data: Uint8Array) => mallory.sign(alg, data) });
  try {
    await assert.rejects(t.connect({ privateKey: forger }), AuthenticationError);
    assert.ok(asked >= 2, 'the query and the signed request were both judged');
    assert.equal(logins, 0);
  } finally {
    await t.close();
  }
});

test('password: right one in, wrong one out', async () => {
  const t = await startServer({ authenticate: passwordSecret });
  try {
    const c = await t.connect({ password: 'secret' });
    await c.close();
    await assert.rejects(t.connect({ password: 'wrong' }));
  } finally {
    await t.close();
  }
});

test('reject by default: no authenticate callback refuses everything', async () => {
  const t = await startServer();
  try {
    await assert.rejects(t.connect({ password: 'secret', privateKey: userKey }));
  } finally {
    await t.close();
  }
});

test('keyboard-interactive: prompt() asks the client and returns its answers', async () => {
  const asked: string[][] = [];
  const t = await startServer({
    authenticate: async (ctx) => {
      if (ctx.method !== 'keyboard-interactive') return false;
      const [pass, code] = await ctx.prompt(['Password: ', { prompt: 'Code: ', echo: true }], { name: 'login', instruction: 'two answers' });
      if (pass !== 'secret') return false;
      // A second round, as PAM conversations do.
      const [again] = await ctx.prompt(['Again: ']);
      return code === '123456' && again === 'yes';
    },
  });
  try {
    const c = await t.connect({
      keyboardInteractive: (ch) => {
        asked.push(ch.prompts.map((p) => `${p.prompt}${p.echo ? '(echo)' : ''}`));
        if (ch.prompts.length === 2) {
          assert.equal(ch.name, 'login');
          assert.equal(ch.instruction, 'two answers');
          return ['secret', '123456'];
        }
        return ['yes'];
      },
    });
    assert.deepEqual(asked, [['Password: ', 'Code: (echo)'], ['Again: ']]);
    await c.close();
    await assert.rejects(t.connect({ keyboardInteractive: (ch) => ch.prompts.map(() => 'nope') }));
  } finally {
    await t.close();
  }
});

test('keyboard-interactive: an answer that is not one string per prompt is never sent; the method is given up and the AuthenticationError says why', async () => {
  const t = await startServer({
    authenticate: async (ctx) => {
      if (ctx.method !== 'keyboard-interactive') return false;
      const [a, b] = await ctx.prompt(['A: ', 'B: ']);
      return a === 'x' && b === 'y';
    },
  });
  try {
    for (const [answer, why] of [
      // A bare string is not its characters, even when their count fits.
      ['xy', /keyboardInteractive answered string, not an array of 2 strings/],
      [['x'], /keyboardInteractive answered 1 responses to 2 prompts/],
      [undefined, /keyboardInteractive answered undefined/],
      [['x', 2], /keyboardInteractive answered number as response 2, not a string/],
    ] as const) {
      const err = await t.connect({ keyboardInteractive: () => answer as never }).then(
        () => assert.fail(`logged in with ${JSON.stringify(answer)}`),
        (e: unknown) => e,
      );
      assert.ok(err instanceof AuthenticationError, String(err));
      assert.match(err.message, why);
      assert.ok(err.cause instanceof TypeError);
    }
    // null gives the method up quietly, as changePassword's null does.
    const quiet = await t.connect({ keyboardInteractive: () => null as never }).then(
      () => assert.fail('logged in'),
      (e: unknown) => e,
    );
    assert.ok(quiet instanceof AuthenticationError && !/keyboardInteractive/.test(quiet.message), String(quiet));
  } finally {
    await t.close();
  }
});

test('changePassword: an answer that is neither a string nor null is not sent; the AuthenticationError says why', async () => {
  const t = await startServer({
    authenticate: (ctx) => {
      if (ctx.method !== 'password') return false;
      return ctx.newPassword === undefined ? { changePassword: 'expired' } : ctx.newPassword === 'new';
    },
  });
  try {
    const c = await t.connect({ password: 'old', changePassword: () => 'new' });
    await c.close();
    for (const [answer, why] of [
      [42, /changePassword answered number, not a string or null/],
      [undefined, /changePassword answered undefined/],
    ] as const) {
      const err = await t.connect({ password: 'old', changePassword: () => answer as never }).then(
        () => assert.fail('logged in'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof AuthenticationError, String(err));
      assert.match(err.message, why);
    }
  } finally {
    await t.close();
  }
});

test('partial success: publickey then password', async () => {
  const contexts: Pick<AuthContext, 'method' | 'passed'>[] = [];
  const t = await startServer({
    authenticate: (ctx) => {
      contexts.push({ method: ctx.method, passed: ctx.passed });
      if (ctx.method === 'publickey' && Buffer.from(ctx.publicKey!.blob).equals(Buffer.from(userKey.publicBlob))) return { partial: ['password'] };
      if (ctx.method === 'password') return ctx.passed.includes('publickey') && ctx.password === 'secret';
      return false;
    },
  });
  let method = '';
  t.server.on('authenticated', (_c, info) => (method = info.method));
  try {
    const c = await t.connect({ privateKey: userKey, password: 'secret' });
    assert.equal(method, 'password');
    const pw = contexts.find((x) => x.method === 'password');
    assert.deepEqual(pw?.passed, ['publickey']);
    await c.close();
    // the password alone is not enough
    await assert.rejects(t.connect({ password: 'secret' }));
  } finally {
    await t.close();
  }
});

test('a throwing authenticate is a rejection reported as an error event', async () => {
  const t = await startServer({
    authenticate: () => {
      throw new Error('database down');
    },
  });
  const errors: string[] = [];
  t.server.on('error', (e) => errors.push(e.message));
  try {
    await assert.rejects(t.connect({ password: 'secret' }));
    assert.ok(errors.includes('database down'));
  } finally {
    await t.close();
  }
});
