// Restricting a login: authorized_keys options and user certificates turned
// into Restrictions by authorizePublicKey, and enforced by the library
// server's session and forwarding layers against the Nacre client.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect as netConnect } from 'node:net';
import { generateHostKey, signCertificate, certificateSigner, type KeySigner } from '../../src/keys/index.js';
import { parseAuthorizedKeys, type AuthorizedKeyEntry } from '../../src/trust/authorized-keys.js';
import { ReqX11 } from '../../src/messages/channel-types.js';
import { authorizePublicKey, publicKeyAuthenticator, type PublicKeyAuthorizationOptions } from '../../src/server/authorization.js';
import {
  UNRESTRICTED,
  addressMatchesPatterns,
  combineRestrictions,
  permitsLocalForward,
  permitsRemoteForward,
  restrictionsFromAuthorizedKey,
  type Restrictions,
} from '../../src/server/restrictions.js';
import { publicKeyInfo } from '../../src/server/auth.js';
import type { SessionChannel } from '../../src/server/session-channel.js';
import type { ServerOptions } from '../../src/server/server.js';
import { startServer, echoServer, roundTrip } from './server-helpers.js';
import { nodeRandom } from '../../src/io/node/transport-driver.js';
import { seededRandom } from '../../src/testing/random.js';

const user = generateHostKey('ssh-ed25519');
const other = generateHostKey('ssh-ed25519');
const ca = generateHostKey('ssh-ed25519');
const otherCa = generateHostKey('ssh-ed25519');

function line(k: KeySigner, options = ''): string {
  return `${options ? options + ' ' : ''}${k.keyType} ${Buffer.from(k.publicBlob).toString('base64')} c`;
}

function entries(...lines: string[]): AuthorizedKeyEntry[] {
  const parsed = parseAuthorizedKeys(lines.join('\n'));
  assert.deepEqual(parsed.problems, []);
  return [...parsed.entries];
}

function only(options: string, permitUserEnvironment: PublicKeyAuthorizationOptions['permitUserEnvironment'] = false): Restrictions {
  return restrictionsFromAuthorizedKey(entries(line(user, options))[0]!, permitUserEnvironment);
}

const NOW = Date.UTC(2026, 0, 15);
const sec = (ms: number) => BigInt(Math.floor(ms / 1000));

function userCert(over: Partial<Parameters<typeof signCertificate>[0]> = {}, signer: KeySigner = ca, key: KeySigner = user) {
  return signCertificate({ publicKey: key.publicBlob, kind: 'user', principals: ['alice'], random: nodeRandom, ...over }, signer);
}

function ctx(blob: Uint8Array, algorithm = 'ssh-ed25519', remoteAddress = '127.0.0.1', username = 'alice') {
  return { username, remoteAddress, publicKey: publicKeyInfo(algorithm, blob) };
}

// ------------------------------------------------------------ the policy

test('restrictionsFromAuthorizedKey: flags, restrict and re-enabling, in order', () => {
  const plain = only('');
  assert.deepEqual({ ...plain, environment: { ...plain.environment } }, { ...UNRESTRICTED, environment: {} });
  // a name such as __proto__ is just a name
  assert.deepEqual(Object.keys(only('environment="__proto__=x"', true).environment), ['__proto__']);
  const r = only('restrict');
  assert.deepEqual([r.pty, r.portForwarding, r.agentForwarding, r.x11Forwarding, r.userRc], [false, false, false, false, false]);
  const back = only('restrict,pty,port-forwarding,agent-forwarding,x11-forwarding,user-rc');
  assert.deepEqual([back.pty, back.portForwarding, back.agentForwarding, back.x11Forwarding, back.userRc], [true, true, true, true, true]);
  const no = only('no-pty,no-port-forwarding,no-agent-forwarding,no-x11-forwarding,no-user-rc');
  assert.deepEqual([no.pty, no.portForwarding, no.agentForwarding, no.x11Forwarding, no.userRc], [false, false, false, false, false]);
  assert.equal(only('NO-PTY').pty, false, 'names are case-insensitive');
  assert.equal(only('command="echo \\"hi\\", there"').command, 'echo "hi", there');
  assert.deepEqual(only('permitopen="h:1",permitopen="[::1]:*"').permitOpen, ['h:1', '[::1]:*']);
  assert.deepEqual(only('permitlisten="8080",permitlisten="localhost:*"').permitListen, ['8080', 'localhost:*']);
  assert.equal(only('verify-required').verifyRequired, true);
  assert.equal(only('no-touch-required').noTouchRequired, true);
});

test('environment= applies only as the server permits, first value per name', () => {
  const opts = 'environment="A=1",environment="B=x=y",environment="A=2",environment="LC_X=z"';
  assert.deepEqual({ ...only(opts) .environment }, {});
  assert.deepEqual({ ...only(opts, true).environment }, { A: '1', B: 'x=y', LC_X: 'z' });
  assert.deepEqual({ ...only(opts, ['LC_*', 'B']).environment }, { B: 'x=y', LC_X: 'z' });
});

test('permitopen / permitlisten matching', () => {
  const r = only('permitopen="db.example:5432",permitopen="*:80",permitopen="[2001:db8::1]:*",permitopen="localhost:*"');
  assert.ok(permitsLocalForward(r, 'db.example', 5432));
  assert.ok(permitsLocalForward(r, 'DB.example', 5432), 'host names compare case-insensitively');
  assert.ok(!permitsLocalForward(r, 'db.example', 5433));
  assert.ok(permitsLocalForward(r, 'anything', 80));
  assert.ok(permitsLocalForward(r, '2001:db8::1', 22));
  assert.ok(permitsLocalForward(r, 'localhost', 1));
  assert.ok(!permitsLocalForward(r, '127.0.0.1', 1), 'no name lookup: 127.0.0.1 is not localhost');
  assert.ok(!permitsLocalForward(only('no-port-forwarding'), 'x', 1));
  assert.ok(permitsLocalForward(only(''), 'x', 1));
  const l = only('permitlisten="8080",permitlisten="127.0.0.*:9000"');
  assert.ok(permitsRemoteForward(l, 'localhost', 8080), 'a bare port allows any address');
  assert.ok(permitsRemoteForward(l, '127.0.0.1', 9000));
  assert.ok(!permitsRemoteForward(l, '0.0.0.0', 9000));
  assert.ok(!permitsRemoteForward(l, 'localhost', 0), 'port 0 needs *');
  assert.ok(permitsRemoteForward(only('permitlisten="*"'), '', 0));
  assert.ok(!permitsRemoteForward(only('restrict,permitlisten="8080"'), 'localhost', 8080), 'restrict turns forwarding off');
  assert.ok(permitsRemoteForward(only('restrict,port-forwarding,permitlisten="8080"'), 'localhost', 8080));
});

test('from= patterns: globs, CIDR, negation, IPv4-mapped peers', () => {
  assert.ok(addressMatchesPatterns('192.0.2.7', '192.0.2.*'));
  assert.ok(addressMatchesPatterns('192.0.2.7', '10.0.0.0/8,192.0.2.0/24'));
  assert.ok(!addressMatchesPatterns('192.0.2.7', '192.0.2.0/24,!192.0.2.7'));
  assert.ok(!addressMatchesPatterns('192.0.2.7', '!192.0.2.7,*'));
  assert.ok(addressMatchesPatterns('192.0.2.8', '!192.0.2.7,*'));
  assert.ok(!addressMatchesPatterns('192.0.2.8', '!192.0.2.7'), 'a negation alone allows nobody');
  assert.ok(addressMatchesPatterns('::ffff:192.0.2.7', '192.0.2.0/24'));
  assert.ok(addressMatchesPatterns('2001:db8::5', '2001:db8::/32'));
  assert.ok(addressMatchesPatterns('127.0.0.1', '127.0.0.?'));
  assert.ok(!addressMatchesPatterns('127.0.0.10', '127.0.0.?'));
  assert.ok(!addressMatchesPatterns(undefined, '*'), 'no address, no match');
  assert.ok(!addressMatchesPatterns('192.0.2.7', '192.0.2.7/8'), 'a bad CIDR matches nothing');
  assert.ok(!addressMatchesPatterns('1.1.1.1', '*'.repeat(9000)));
});

test('combineRestrictions: the stricter of each; different forced commands refuse', () => {
  const a = only('no-pty,command="a",permitopen="h:1"');
  const b = { ...UNRESTRICTED, agentForwarding: false, permitOpen: ['h:1', 'h:2'] };
  const c = combineRestrictions(a, b);
  assert.ok(typeof c !== 'string');
  assert.deepEqual([c.pty, c.agentForwarding, c.command, c.permitOpen], [false, false, 'a', ['h:1']]);
  assert.match(combineRestrictions(a, { ...UNRESTRICTED, command: 'b' }) as string, /different commands/);
  assert.ok(typeof combineRestrictions(a, { ...UNRESTRICTED, command: 'a' }) !== 'string');
});

// ------------------------------------------------------------ deciding a login

test('authorizePublicKey: plain keys, from= and expiry-time pass over a line to the next', () => {
  const keys = entries(line(user, 'from="10.0.0.0/8",command="first"'), line(user, 'expiry-time="20200101",command="second"'), line(user, 'no-pty'));
  const v = authorizePublicKey(ctx(user.publicBlob), { authorizedKeys: keys, now: () => NOW });
  assert.ok(v.allowed);
  assert.equal(v.entry?.line, 3);
  assert.equal(v.restrictions.command, null);
  assert.equal(v.restrictions.pty, false);
  const inNet = authorizePublicKey(ctx(user.publicBlob, 'ssh-ed25519', '10.1.2.3'), { authorizedKeys: keys, now: () => NOW });
  assert.ok(inNet.allowed && inNet.restrictions.command === 'first');
  const none = authorizePublicKey(ctx(user.publicBlob), { authorizedKeys: keys.slice(0, 2), now: () => NOW });
  assert.ok(!none.allowed);
  assert.match(none.reason, /expired/);
  assert.ok(!authorizePublicKey(ctx(other.publicBlob), { authorizedKeys: keys }).allowed);
  // a CA line never lets its own key in
  assert.ok(!authorizePublicKey(ctx(ca.publicBlob), { authorizedKeys: entries(line(ca, 'cert-authority')) }).allowed);
  // the entries may come from a function of the username
  assert.ok(authorizePublicKey(ctx(user.publicBlob), { authorizedKeys: (u) => (u === 'alice' ? keys : []) }).allowed);
  assert.ok(!authorizePublicKey(ctx(user.publicBlob, 'ssh-ed25519', '127.0.0.1', 'bob'), { authorizedKeys: (u) => (u === 'alice' ? keys : []) }).allowed);
});

test('authorizePublicKey: certificates from trusted CAs, refused when expired, not yet valid, another principal, untrusted CA', () => {
  const t = { trustedUserCaKeys: [ca.publicBlob], now: () => NOW };
  const certCtx = (cert: { blob: Uint8Array }, address?: string) => ctx(cert.blob, 'ssh-ed25519-cert-v01@openssh.com', address);
  const good = authorizePublicKey(certCtx(userCert()), t);
  assert.ok(good.allowed);
  assert.equal(good.entry, null);
  assert.deepEqual(good.certificate?.certificate.principals, ['alice']);
  const reason = (cert: { blob: Uint8Array }, opts: PublicKeyAuthorizationOptions = t, address?: string) => {
    const v = authorizePublicKey(certCtx(cert, address), opts);
    assert.ok(!v.allowed);
    return v.reason;
  };
  assert.match(reason(userCert({ validBefore: sec(NOW) - 1n })), /expired/);
  assert.match(reason(userCert({ validAfter: sec(NOW) + 60n })), /not valid before/);
  assert.match(reason(userCert({ principals: ['bob'] })), /not a principal/);
  assert.match(reason(userCert({}, otherCa)), /not signed by a trusted CA/);
  assert.match(reason(userCert({ kind: 'host' })), /host certificate/);
  // AuthorizedPrincipals: the list replaces the username
  assert.ok(authorizePublicKey(certCtx(userCert({ principals: ['ops'] })), { ...t, authorizedPrincipals: () => ['ops'] }).allowed);
  assert.ok(!authorizePublicKey(certCtx(userCert()), { ...t, authorizedPrincipals: () => ['ops'] }).allowed);
  // source-address against the peer
  const sourced = userCert({ criticalOptions: { 'source-address': '10.0.0.0/8' } });
  assert.match(reason(sourced), /source-address/);
  assert.ok(authorizePublicKey(certCtx(sourced, '10.9.8.7'), t).allowed);
  // extensions and force-command become restrictions
  const bare = authorizePublicKey(certCtx(userCert({ extensions: {}, criticalOptions: { 'force-command': 'uptime' } })), t);
  assert.ok(bare.allowed);
  assert.deepEqual([bare.restrictions.command, bare.restrictions.pty, bare.restrictions.portForwarding, bare.restrictions.agentForwarding], ['uptime', false, false, false]);
  // malformed certificate bytes are a refusal, not a throw
  const broken = userCert().blob.slice(0, 60);
  assert.match(reason({ blob: broken }), /malformed/);
});

test('authorizePublicKey: cert-authority lines with principals=, from= and options merged with the certificate', () => {
  const keys = entries(line(ca, 'cert-authority,principals="ops,deploy",no-port-forwarding,from="127.0.0.0/8"'));
  const o = { authorizedKeys: keys, now: () => NOW };
  const certCtx = (cert: { blob: Uint8Array }, address?: string) => ctx(cert.blob, 'ssh-ed25519-cert-v01@openssh.com', address);
  const v = authorizePublicKey(certCtx(userCert({ principals: ['deploy'] })), o);
  assert.ok(v.allowed);
  assert.equal(v.restrictions.portForwarding, false);
  assert.equal(v.restrictions.pty, true);
  // principals= replaces the username
  assert.ok(!authorizePublicKey(certCtx(userCert()), o).allowed);
  assert.ok(!authorizePublicKey(certCtx(userCert({ principals: ['deploy'] }), '10.0.0.1'), o).allowed, 'from= applies to CA lines');
  // without principals= the username must be listed
  const plainCa = { authorizedKeys: entries(line(ca, 'cert-authority')), now: () => NOW };
  assert.ok(authorizePublicKey(certCtx(userCert()), plainCa).allowed);
  assert.ok(!authorizePublicKey(certCtx(userCert({ principals: ['bob'] })), plainCa).allowed);
  // the certificate's key alone, as a plain line, does not let the certificate in
  assert.ok(!authorizePublicKey(certCtx(userCert()), { authorizedKeys: entries(line(user)) }).allowed);
  // differing forced commands: refused as sshd does
  const cmd = { authorizedKeys: entries(line(ca, 'cert-authority,command="a"')), now: () => NOW };
  const clash = authorizePublicKey(certCtx(userCert({ criticalOptions: { 'force-command': 'b' } })), cmd);
  assert.ok(!clash.allowed && /different commands/.test(clash.reason));
});

// ------------------------------------------------------------ enforced by the server

/** A session that echoes what it was asked to run and the variables it got; accepts pty, x11 and agent. */
function echoSession(s: SessionChannel): void {
  s.onPty = () => true;
  s.onEnv = () => true;
  s.onX11 = () => true;
  s.onAgentForwarding = () => true;
  s.onExec = (command, ch) => {
    ch.end(`${command}|${s.env.SSH_ORIGINAL_COMMAND ?? '-'}|${s.env.GREETING ?? '-'}|${s.originalCommand ?? '-'}`);
    ch.exit(0);
  };
  s.onShell = (ch) => {
    ch.end('shell');
    ch.exit(0);
  };
}

async function withRestrictedServer(optionsLine: string, fn: (c: Awaited<ReturnType<Awaited<ReturnType<typeof startServer>>['connect']>>) => Promise<void>, extra: Partial<ServerOptions> = {}, permitUserEnvironment = false) {
  const t = await startServer({
    authenticate: publicKeyAuthenticator({ authorizedKeys: entries(line(user, optionsLine)), permitUserEnvironment }),
    session: echoSession,
    forwardLocal: () => true,
    forwardRemote: () => true,
    forwardStreamlocal: () => true,
    ...extra,
  });
  try {
    await fn(await t.connect({ privateKey: user }));
  } finally {
    await t.close();
  }
}

test('server: command= replaces exec, shell and subsystem; the asked command is in SSH_ORIGINAL_COMMAND', async () => {
  await withRestrictedServer('command="forced"', async (c) => {
    assert.equal((await c.exec('ls -l', { env: { SSH_ORIGINAL_COMMAND: 'spoof' } })).stdout, 'forced|ls -l|-|ls -l');
    const shell = await c.shell();
    let out = '';
    for await (const d of shell.stdout) out += String(d);
    assert.equal(out, 'forced|-|-|-');
    // A command with bytes that are not UTF-8 cannot be put in SSH_ORIGINAL_COMMAND unchanged: refused.
    await assert.rejects(c.exec(new Uint8Array([0x6c, 0x73, 0x20, 0xff])), /refused to run/);
  }, {});
});

test('server: without restrictions the client command runs as asked', async () => {
  await withRestrictedServer('', async (c) => {
    assert.equal((await c.exec('ls -l')).stdout, 'ls -l|-|-|-');
  });
});

test('server: environment= reaches programs only with permitUserEnvironment', async () => {
  await withRestrictedServer('environment="GREETING=hello"', async (c) => {
    assert.equal((await c.exec('x', { env: { GREETING: 'client' } })).stdout, 'x|-|hello|-');
  }, {}, true);
  await withRestrictedServer('environment="GREETING=hello"', async (c) => {
    assert.equal((await c.exec('x')).stdout, 'x|-|-|-');
  });
});

test('server: no-pty refuses pty-req; restrict,pty allows it', async () => {
  await withRestrictedServer('no-pty', async (c) => {
    await assert.rejects(c.shell({ pty: { term: 'xterm', cols: 80, rows: 24 } }));
    assert.equal((await c.exec('still')).stdout, 'still|-|-|-');
  });
  await withRestrictedServer('restrict,pty', async (c) => {
    const p = await c.shell({ pty: { term: 'xterm', cols: 80, rows: 24 } });
    let out = '';
    for await (const d of p.stdout) out += String(d);
    assert.equal(out, 'shell');
  });
});

async function sessionRequest(c: Awaited<ReturnType<Awaited<ReturnType<typeof startServer>>['connect']>>, type: string, data: Uint8Array): Promise<boolean> {
  const ch = await c.openChannel('session');
  try {
    return await ch.request(type, data, true);
  } finally {
    ch.destroy();
  }
}

test('server: no-agent-forwarding and no-X11-forwarding refuse those requests; restrict refuses both', async () => {
  const x11 = ReqX11.encode({ singleConnection: false, authProtocol: 'MIT-MAGIC-COOKIE-1', authCookie: 'ab', screen: 0 });
  await withRestrictedServer('', async (c) => {
    assert.equal(await sessionRequest(c, 'auth-agent-req@openssh.com', new Uint8Array(0)), true);
    assert.equal(await sessionRequest(c, 'x11-req', x11), true);
  });
  await withRestrictedServer('no-agent-forwarding,no-x11-forwarding', async (c) => {
    assert.equal(await sessionRequest(c, 'auth-agent-req@openssh.com', new Uint8Array(0)), false);
    assert.equal(await sessionRequest(c, 'x11-req', x11), false);
  });
  await withRestrictedServer('restrict,x11-forwarding', async (c) => {
    assert.equal(await sessionRequest(c, 'auth-agent-req@openssh.com', new Uint8Array(0)), false);
    assert.equal(await sessionRequest(c, 'x11-req', x11), true);
  });
});

test('server: no-port-forwarding and permitopen= limit -L; permitlisten= limits -R', async () => {
  const echo = await echoServer();
  try {
    await withRestrictedServer('no-port-forwarding', async (c) => {
      await assert.rejects(c.openDirectTcpip({ host: '127.0.0.1', port: echo.port }), /not permitted/);
      await assert.rejects(c.forwardRemote({ bindAddress: '127.0.0.1', bindPort: 0, onConnection: () => undefined }));
      await assert.rejects(c.openDirectStreamlocal('/nonexistent/socket'), /not permitted/);
    });
    await withRestrictedServer(`permitopen="127.0.0.1:${echo.port}",permitlisten="127.0.0.1:*"`, async (c) => {
      const ch = await c.openDirectTcpip({ host: '127.0.0.1', port: echo.port });
      assert.equal((await roundTrip(ch, 'ping')).toString(), 'ping');
      await assert.rejects(c.openDirectTcpip({ host: 'localhost', port: echo.port }), /permitopen/);
      await assert.rejects(c.openDirectTcpip({ host: '127.0.0.1', port: echo.port + 1 === 65536 ? 1 : echo.port + 1 }), /permitopen/);
      const fwd = await c.forwardRemote({ bindAddress: '127.0.0.1', bindPort: 0, onConnection: (conn) => conn.channel.end('via -R') });
      const got = await new Promise<string>((resolve, reject) => {
        const s = netConnect({ host: '127.0.0.1', port: fwd.port });
        let data = '';
        s.on('data', (d) => (data += String(d)));
        s.on('end', () => resolve(data));
        s.on('error', reject);
      });
      assert.equal(got, 'via -R');
      await assert.rejects(c.forwardRemote({ bindAddress: '0.0.0.0', bindPort: 0, onConnection: () => undefined }));
    });
  } finally {
    await echo.close();
  }
});

test('server: the application policy still decides after the restrictions allow', async () => {
  const echo = await echoServer();
  try {
    await withRestrictedServer(`permitopen="127.0.0.1:${echo.port}"`, async (c) => {
      await assert.rejects(c.openDirectTcpip({ host: '127.0.0.1', port: echo.port }), /not permitted/);
    }, { forwardLocal: () => false });
  } finally {
    await echo.close();
  }
});

test('server: a user certificate logs in with the Nacre client; force-command and a missing permit-pty are enforced', async () => {
  const t = await startServer({
    authenticate: publicKeyAuthenticator({ trustedUserCaKeys: [ca.publicBlob] }),
    session: echoSession,
  });
  let restrictions: Restrictions | null = null;
  t.server.on('authenticated', (conn) => (restrictions = conn.restrictions));
  try {
    const cert = userCert({ extensions: { 'permit-agent-forwarding': true }, criticalOptions: { 'force-command': 'only-this' } });
    const c = await t.connect({ privateKey: certificateSigner(user, cert) });
    assert.equal((await c.exec('something else')).stdout, 'only-this|something else|-|something else');
    await assert.rejects(c.shell({ pty: { term: 'xterm', cols: 80, rows: 24 } }));
    assert.equal(restrictions!.agentForwarding, true);
    assert.equal(restrictions!.pty, false);
    // the plain key is not in any authorized_keys: refused
    await assert.rejects(t.connect({ privateKey: user }));
    // a certificate from another CA: refused
    await assert.rejects(t.connect({ privateKey: certificateSigner(user, userCert({}, otherCa)) }));
    // a certificate for someone else
    await assert.rejects(t.connect({ privateKey: certificateSigner(user, userCert({ principals: ['bob'] })) }));
  } finally {
    await t.close();
  }
});

test('server: a certificate source-address is checked against the peer', async () => {
  const t = await startServer({ authenticate: publicKeyAuthenticator({ trustedUserCaKeys: [ca.publicBlob] }), session: echoSession });
  try {
    await assert.rejects(t.connect({ privateKey: certificateSigner(user, userCert({ criticalOptions: { 'source-address': '10.0.0.0/8' } })) }));
    const c = await t.connect({ privateKey: certificateSigner(user, userCert({ criticalOptions: { 'source-address': '127.0.0.0/8,::1' } })) });
    assert.equal((await c.exec('ok')).stdout, 'ok|-|-|-');
  } finally {
    await t.close();
  }
});

test('fuzz: truncated, bit-flipped and random certificates and address patterns never throw out of authorizePublicKey', () => {
  const rand = seededRandom('restrictions-fuzz');
  const good = userCert().blob;
  const o = { trustedUserCaKeys: [ca.publicBlob], authorizedKeys: entries(line(ca, 'cert-authority,from="127.0.0.1"')), now: () => NOW };
  for (let i = 0; i < 3000; i++) {
    let blob: Uint8Array;
    if (i % 3 === 0) blob = good.slice(0, rand(1)[0]! % good.length);
    else if (i % 3 === 1) {
      blob = good.slice();
      const at = ((rand(1)[0]! << 8) | rand(1)[0]!) % blob.length;
      blob[at]! ^= 1 << (rand(1)[0]! % 8);
    } else blob = rand(rand(1)[0]!);
    const v = authorizePublicKey(ctx(blob, 'ssh-ed25519-cert-v01@openssh.com'), o);
    assert.equal(typeof v.allowed, 'boolean');
    const pattern = Buffer.from(rand(rand(1)[0]! % 40)).toString('latin1');
    assert.equal(typeof addressMatchesPatterns(Buffer.from(rand(8)).toString('latin1'), pattern), 'boolean');
  }
});

test('server: restrictions given with a partial success hold for the login the next method completes', async () => {
  const keys = entries(line(user, 'no-pty,command="forced"'));
  const t = await startServer({
    authenticate: (ctx) => {
      if (ctx.method === 'publickey') {
        const v = authorizePublicKey(ctx, { authorizedKeys: keys });
        return v.allowed ? { partial: ['password'], restrictions: v.restrictions } : false;
      }
      if (ctx.method === 'password' && ctx.passed.includes('publickey') && ctx.password === 'pw') return true;
      return false;
    },
    session: echoSession,
  });
  try {
    const c = await t.connect({ privateKey: user, password: 'pw' });
    assert.equal((await c.exec('asked')).stdout, 'forced|asked|-|asked');
    await assert.rejects(c.shell({ pty: { term: 'xterm', cols: 80, rows: 24 } }));
  } finally {
    await t.close();
  }
});

test('restrictionsFromAuthorizedKey: option names are looked up as own names only', () => {
  const e = entries(line(user))[0]!;
  const odd = { ...e, optionList: [{ name: 'constructor', value: true as const }, { name: 'no-toString', value: true as const }] };
  assert.deepEqual({ ...restrictionsFromAuthorizedKey(odd), environment: {} }, { ...UNRESTRICTED, environment: {} });
});
