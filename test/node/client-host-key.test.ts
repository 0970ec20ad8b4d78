// The client's host key policy: known_hosts is consulted before verifyHostKey,
// whose `true` never overrides a mismatch or a revocation; accept-new records
// an unknown key atomically, and the next connection must present it again.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect as netConnect } from 'node:net';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync, symlinkSync, lstatSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { AbortError, HostKeyRejectedError } from '../../src/errors.js';
import { connect } from '../../src/client/client.js';
import { KeyFileError, generateHostKey, formatOpenSshPublicKeyLine, signerFromKeyObject } from '../../src/keys/index.js';
import { formatKnownHostLine, parseKnownHosts, checkKnownHost } from '../../src/trust/index.js';
import type { HostKeyInfo } from '../../src/client/options.js';
import { hostKeyPolicy } from '../../src/client/host-key-policy.js';
import { randomBytes } from 'node:crypto';
import { encodePublicKey } from '../../src/keys/blob.js';
import { signCertificate } from '../../src/keys/certificate.js';
import { rsaKeyPair } from '../core/rsa-key.js';
import { startServer, passwordSecret, testHostKey, type TestServer } from './server-helpers.js';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'nacre-hostkey-'));
  dirs.push(d);
  return d;
}
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const otherKey = generateHostKey('ssh-ed25519');
const ecdsaKey = generateHostKey('ecdsa-sha2-nistp256');

let server: TestServer | undefined;
async function testServer(): Promise<TestServer> {
  server ??= await startServer({ authenticate: passwordSecret });
  return server;
}
after(async () => {
  await server?.close();
});

/** A known_hosts file with a comment first, so entries start at line 2. */
function knownHostsWith(...lines: string[]): string {
  const path = join(tempDir(), 'known_hosts');
  writeFileSync(path, ['# test file', ...lines].join('\n') + '\n');
  return path;
}

function line(port: number, blob: Uint8Array, marker?: 'revoked'): string {
  return formatKnownHostLine('127.0.0.1', port, blob, marker ? { marker } : {});
}

test('verifyHostKey sees the known_hosts verdict with the file and line: match, mismatch, revoked, unknown', async () => {
  const t = await testServer();
  const key = testHostKey().publicBlob;
  const seen: HostKeyInfo[] = [];
  const spy = (info: HostKeyInfo) => {
    seen.push(info);
    return info.knownHosts !== 'mismatch' && info.knownHosts !== 'revoked';
  };

  const matching = knownHostsWith(line(t.port + 1, otherKey.publicBlob), line(t.port, key));
  const c = await t.connect({ password: 'secret', knownHosts: matching, verifyHostKey: spy });
  assert.equal(c.hostKey?.knownHosts, 'match');
  assert.deepEqual(seen[0]?.knownHostsEntry, { file: matching, line: 3, keyType: 'ssh-ed25519' });
  assert.equal(seen[0]?.knownHostsFile, matching);
  await c.close();

  const conflicting = knownHostsWith(line(t.port, otherKey.publicBlob));
  await assert.rejects(t.connect({ password: 'secret', knownHosts: conflicting, verifyHostKey: spy }), HostKeyRejectedError);
  assert.equal(seen[1]?.knownHosts, 'mismatch');
  assert.deepEqual(seen[1]?.knownHostsEntry, { file: conflicting, line: 2, keyType: 'ssh-ed25519' });

  const revoking = knownHostsWith(line(t.port, key), line(t.port, key, 'revoked'));
  await assert.rejects(t.connect({ password: 'secret', knownHosts: revoking, verifyHostKey: spy }), /was rejected by verifyHostKey \(known_hosts says "revoked"\)/);
  assert.equal(seen[2]?.knownHosts, 'revoked');
  assert.deepEqual(seen[2]?.knownHostsEntry, { file: revoking, line: 3, keyType: 'ssh-ed25519' });

  // Known by an ECDSA key only, offering Ed25519: a mismatch, as OpenSSH 10
  // says ("REMOTE HOST IDENTIFICATION HAS CHANGED", the ECDSA line offending).
  const otherType = knownHostsWith(line(t.port, ecdsaKey.publicBlob));
  await assert.rejects(
    t.connect({ password: 'secret', knownHosts: otherType, verifyHostKey: spy, algorithms: { hostKey: ['ssh-ed25519'] } }),
    /was rejected by verifyHostKey \(known_hosts says "mismatch"\)/,
  );
  assert.equal(seen[3]?.knownHosts, 'mismatch');
  assert.deepEqual(seen[3]?.knownHostsEntry, { file: otherType, line: 2, keyType: 'ecdsa-sha2-nistp256' });
  assert.deepEqual(seen[3]?.otherKnownKeys, [{ file: otherType, line: 2, keyType: 'ecdsa-sha2-nistp256' }]);

  // A file that does not exist yet: unknown, and nothing is written without acceptUnknownHostKey.
  const absent = join(tempDir(), 'known_hosts');
  const c3 = await t.connect({ password: 'secret', knownHosts: absent, verifyHostKey: spy });
  assert.equal(c3.hostKey?.knownHosts, 'unknown');
  assert.equal(c3.hostKey?.knownHostsFile, absent);
  await c3.close();
  assert.deepEqual(readdirSync(join(absent, '..')), []);

  const c4 = await t.connect({ password: 'secret', knownHosts: false, verifyHostKey: spy });
  assert.equal(c4.hostKey?.knownHosts, 'not-checked');
  await c4.close();
  assert.equal(seen.length, 6);
});

test('a mismatching or revoked key is refused when verifyHostKey returns true; only the named override trusts it', async () => {
  const t = await testServer();
  const key = testHostKey().publicBlob;
  const conflicting = knownHostsWith(line(t.port, otherKey.publicBlob));
  const revoking = knownHostsWith(line(t.port, key, 'revoked'));

  await assert.rejects(
    t.connect({ password: 'secret', knownHosts: conflicting, verifyHostKey: () => true }),
    (e: unknown) => e instanceof HostKeyRejectedError && /does not match known_hosts .*line 2.*returned true, which does not override "mismatch"/.test(e.message),
  );
  await assert.rejects(t.connect({ password: 'secret', knownHosts: revoking, verifyHostKey: async () => true }), /is revoked in known_hosts.*does not override "revoked"/);
  // Overriding the other verdict does not do.
  await assert.rejects(t.connect({ password: 'secret', knownHosts: revoking, verifyHostKey: () => ({ accept: 'mismatch' }) }), /overrode "mismatch", but known_hosts says "revoked"/);
  await assert.rejects(t.connect({ password: 'secret', knownHosts: conflicting, verifyHostKey: () => ({ accept: 'revoked' }) }), /overrode "revoked"/);
  // Values that are neither a boolean nor an override refuse (JavaScript callers).
  for (const odd of ['yes', 1, { accept: true }, { accept: 'unknown' }, null, undefined]) {
    await assert.rejects(t.connect({ password: 'secret', knownHosts: conflicting, verifyHostKey: () => odd as never }), HostKeyRejectedError, String(odd));
  }
  await assert.rejects(t.connect({ password: 'secret', knownHosts: false, verifyHostKey: () => 'yes' as never }), /returned neither a boolean nor/);

  const c = await t.connect({ password: 'secret', knownHosts: conflicting, verifyHostKey: () => ({ accept: 'mismatch' }) });
  assert.equal(c.hostKey?.knownHosts, 'mismatch');
  await c.close();
  const c2 = await t.connect({ password: 'secret', knownHosts: revoking, verifyHostKey: () => ({ accept: 'revoked' }) });
  assert.equal(c2.hostKey?.knownHosts, 'revoked');
  await c2.close();
  // An override also trusts the ordinary verdicts, like true.
  const c3 = await t.connect({ password: 'secret', knownHosts: knownHostsWith(), verifyHostKey: () => ({ accept: 'mismatch' }) });
  assert.equal(c3.hostKey?.knownHosts, 'unknown');
  await c3.close();
  // Overriding a mismatch never rewrites the file, even with acceptUnknownHostKey.
  const before = readFileSync(conflicting, 'utf8');
  const c4 = await t.connect({ password: 'secret', knownHosts: conflicting, acceptUnknownHostKey: true, verifyHostKey: () => ({ accept: 'mismatch' }) });
  await c4.close();
  assert.equal(readFileSync(conflicting, 'utf8'), before);
});

test('without verifyHostKey: mismatch and revoked are refused even with acceptUnknownHostKey, and the file is left alone', async () => {
  const t = await testServer();
  const conflicting = knownHostsWith(line(t.port, otherKey.publicBlob));
  const revoking = knownHostsWith(line(t.port, testHostKey().publicBlob, 'revoked'));
  for (const [file, why] of [
    [conflicting, /does not match known_hosts .*line 2\) \(possible man-in-the-middle\)/],
    [revoking, /is revoked in known_hosts/],
  ] as const) {
    const before = readFileSync(file, 'utf8');
    await assert.rejects(t.connect({ verifyHostKey: undefined, password: 'secret', knownHosts: file, acceptUnknownHostKey: true }), why);
    assert.equal(readFileSync(file, 'utf8'), before);
  }
  // A host known only by another key type: accept-new does not take a new type.
  const otherType = knownHostsWith(line(t.port, ecdsaKey.publicBlob));
  await assert.rejects(
    t.connect({ verifyHostKey: undefined, password: 'secret', knownHosts: otherType, acceptUnknownHostKey: true, algorithms: { hostKey: ['ssh-ed25519'] } }),
    /known_hosts knows 127\.0\.0\.1:\d+ only by other key types \(ecdsa-sha2-nistp256\)/,
  );
  assert.equal(readFileSync(otherType, 'utf8').split('\n').length, 3);
});

test('a host known only by other key types offering a new type is a mismatch: verifyHostKey returning true neither trusts nor records it; naming the mismatch trusts it without recording', async () => {
  const t = await testServer();
  const otherType = knownHostsWith(line(t.port, ecdsaKey.publicBlob));
  const before = readFileSync(otherType, 'utf8');
  const onlyEd25519 = { algorithms: { hostKey: ['ssh-ed25519'] } };
  await assert.rejects(
    t.connect({ password: 'secret', knownHosts: otherType, acceptUnknownHostKey: true, verifyHostKey: () => true, ...onlyEd25519 }),
    (e: unknown) => e instanceof HostKeyRejectedError && /only by other key types \(ecdsa-sha2-nistp256\).*line 2.*does not override "mismatch"/.test(e.message),
  );
  assert.equal(readFileSync(otherType, 'utf8'), before);
  const c = await t.connect({ password: 'secret', knownHosts: otherType, acceptUnknownHostKey: true, verifyHostKey: () => ({ accept: 'mismatch' }), ...onlyEd25519 });
  assert.equal(c.hostKey?.knownHosts, 'mismatch');
  assert.equal(c.hostKey?.addedToKnownHosts, undefined);
  await c.close();
  assert.equal(readFileSync(otherType, 'utf8'), before);
});

test('acceptUnknownHostKey records the key ([host]:port form), creating the directory 0700 and file 0600; the next connection matches it', async () => {
  const t = await testServer();
  const dir = join(tempDir(), 'new', '.ssh');
  const path = join(dir, 'known_hosts');
  const c = await t.connect({ verifyHostKey: undefined, password: 'secret', knownHosts: path, acceptUnknownHostKey: true });
  assert.equal(c.hostKey?.knownHosts, 'unknown');
  assert.deepEqual(c.hostKey?.addedToKnownHosts, { file: path, line: 1 });
  await c.close();
  assert.equal(readFileSync(path, 'utf8'), `[127.0.0.1]:${t.port} ${formatOpenSshPublicKeyLine(testHostKey().publicBlob, '')}\n`);
  assert.equal(statSync(dir).mode & 0o777, 0o700);
  assert.equal(statSync(path).mode & 0o777, 0o600);
  assert.deepEqual(readdirSync(dir), ['known_hosts']);

  const again = await t.connect({ verifyHostKey: undefined, password: 'secret', knownHosts: path });
  assert.equal(again.hostKey?.knownHosts, 'match');
  assert.deepEqual(again.hostKey?.knownHostsEntry, { file: path, line: 1, keyType: 'ssh-ed25519' });
  assert.equal(again.hostKey?.addedToKnownHosts, undefined);
  await again.close();
});

test('acceptUnknownHostKey appends to an existing file, keeping its lines, its mode and a symbolic link to it', async () => {
  const t = await testServer();
  const dir = tempDir();
  const real = join(dir, 'real_known_hosts');
  writeFileSync(real, `other.example ${formatOpenSshPublicKeyLine(otherKey.publicBlob, '')}\n# no newline at the end`, { mode: 0o644 });
  const link = join(dir, 'known_hosts');
  symlinkSync(real, link);
  const c = await t.connect({ verifyHostKey: () => true, password: 'secret', knownHosts: link, acceptUnknownHostKey: true });
  assert.deepEqual(c.hostKey?.addedToKnownHosts, { file: link, line: 3 });
  await c.close();
  const lines = readFileSync(real, 'utf8').split('\n');
  assert.equal(lines.length, 4);
  assert.equal(lines[1], '# no newline at the end');
  assert.match(lines[2]!, new RegExp(`^\\[127\\.0\\.0\\.1\\]:${t.port} ssh-ed25519 `));
  assert.ok(lstatSync(link).isSymbolicLink());
  assert.equal(statSync(real).mode & 0o777, 0o644);
  assert.deepEqual(readdirSync(dir).sort(), ['known_hosts', 'real_known_hosts']);
});

test('hashKnownHosts writes a hashed name that the next connection matches; port 22 is written as the bare host', async () => {
  const t = await testServer();
  const path = join(tempDir(), 'known_hosts');
  const c = await t.connect({ verifyHostKey: undefined, password: 'secret', knownHosts: path, acceptUnknownHostKey: true, hashKnownHosts: true });
  await c.close();
  const text = readFileSync(path, 'utf8');
  assert.match(text, /^\|1\|[A-Za-z0-9+/=]+\|[A-Za-z0-9+/=]+ ssh-ed25519 [A-Za-z0-9+/=]+\n$/);
  assert.doesNotMatch(text, /127\.0\.0\.1/);
  const entries = parseKnownHosts(text).entries;
  assert.equal(checkKnownHost(entries, '127.0.0.1', t.port, testHostKey().publicBlob).status, 'match');
  assert.equal(checkKnownHost(entries, '127.0.0.1', 22, testHostKey().publicBlob).status, 'unknown');
  const again = await t.connect({ verifyHostKey: undefined, password: 'secret', knownHosts: path });
  assert.equal(again.hostKey?.knownHosts, 'match');
  await again.close();

  // Over `sock`, host and port only name the server: port 22 is the plain name.
  const plain = join(tempDir(), 'known_hosts');
  const sock = netConnect(t.port, '127.0.0.1');
  const c22 = await t.connect({ verifyHostKey: undefined, sock, host: 'Server.Example', port: 22, password: 'secret', knownHosts: plain, acceptUnknownHostKey: true });
  await c22.close();
  assert.equal(readFileSync(plain, 'utf8'), `server.example ${formatOpenSshPublicKeyLine(testHostKey().publicBlob, '')}\n`);
});

test('acceptUnknownHostKey with the default file creates ~/.ssh (0700) and ~/.ssh/known_hosts (0600)', async () => {
  const t = await testServer();
  const home = tempDir();
  const saved = process.env.HOME;
  process.env.HOME = home;
  try {
    const c = await t.connect({ verifyHostKey: undefined, password: 'secret', acceptUnknownHostKey: true });
    assert.deepEqual(c.hostKey?.addedToKnownHosts, { file: join(home, '.ssh', 'known_hosts'), line: 1 });
    await c.close();
  } finally {
    if (saved === undefined) delete process.env.HOME;
    else process.env.HOME = saved;
  }
  assert.equal(statSync(join(home, '.ssh')).mode & 0o777, 0o700);
  assert.equal(statSync(join(home, '.ssh', 'known_hosts')).mode & 0o777, 0o600);
});

test('a known_hosts file that cannot be written fails the connection with a KeyFileError', async () => {
  const t = await testServer();
  const notADirectory = join(tempDir(), 'file');
  writeFileSync(notADirectory, 'x');
  await assert.rejects(
    t.connect({ verifyHostKey: undefined, password: 'secret', knownHosts: join(notADirectory, 'known_hosts'), acceptUnknownHostKey: true }),
    (e: unknown) => e instanceof KeyFileError && e.problem === 'io' && /cannot write known_hosts file/.test(e.message),
  );
});

test('accept-new reads the file again before writing: a key another process recorded meanwhile is not contradicted', async () => {
  const key = testHostKey().publicBlob;
  const path = knownHostsWith();
  // Read now (unknown), then another process writes a different key.
  const policy = hostKeyPolicy({ knownHosts: path, acceptUnknownHostKey: true }, 'h.example', 2200);
  writeFileSync(path, `${formatKnownHostLine('h.example', 2200, otherKey.publicBlob)}\n`);
  await assert.rejects(policy.verify(key, 'ssh-ed25519'), (e: unknown) => e instanceof HostKeyRejectedError && /does not match known_hosts/.test(e.message));
  assert.equal(readFileSync(path, 'utf8').split('\n').length, 2);
  // ...or the same key: nothing is added twice.
  const policy2 = hostKeyPolicy({ knownHosts: path, acceptUnknownHostKey: true }, 'h2.example', 22);
  writeFileSync(path, `${formatKnownHostLine('h2.example', 22, key)}\n`);
  const info = await policy2.verify(key, 'ssh-ed25519');
  assert.equal(info.addedToKnownHosts, undefined);
  assert.equal(readFileSync(path, 'utf8'), `${formatKnownHostLine('h2.example', 22, key)}\n`);
  // Without verifyHostKey and with `knownHosts: false`, acceptUnknownHostKey trusts without recording.
  const unchecked = await hostKeyPolicy({ knownHosts: false, acceptUnknownHostKey: true }, 'h.example', 22).verify(key, 'ssh-ed25519');
  assert.equal(unchecked.knownHosts, 'not-checked');
  await assert.rejects(hostKeyPolicy({ knownHosts: false }, 'h.example', 22).verify(key, 'ssh-ed25519'), /is not trusted/);
});

test('host key order: the types known_hosts holds for the host are asked for first, also with verifyHostKey', () => {
  const path = knownHostsWith(formatKnownHostLine('h.example', 22, ecdsaKey.publicBlob));
  const lists = { kex: [], hostKey: ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'rsa-sha2-512'], cipher: [], mac: [], compression: [] };
  const ordered = hostKeyPolicy({ knownHosts: path, verifyHostKey: () => true }, 'h.example', 22).preferKnownKeyTypes(lists);
  assert.deepEqual(ordered.hostKey, ['ecdsa-sha2-nistp256', 'ssh-ed25519', 'rsa-sha2-512']);
  assert.deepEqual(hostKeyPolicy({ knownHosts: path, algorithms: { hostKey: ['ssh-ed25519'] } }, 'h.example', 22).preferKnownKeyTypes(lists).hostKey, lists.hostKey);
});

test('a connect that failed while verifyHostKey was thinking (aborted) records nothing, even when the callback then trusts the key', async () => {
  const t = await testServer();
  const path = join(tempDir(), 'known_hosts');
  const ac = new AbortController();
  let trust!: (d: boolean) => void;
  let asked!: () => void;
  const wasAsked = new Promise<void>((r) => (asked = r));
  const connecting = connect({
    host: '127.0.0.1',
    port: t.port,
    username: 'u',
    password: 'secret',
    keepalive: false,
    knownHosts: path,
    acceptUnknownHostKey: true,
    signal: ac.signal,
    verifyHostKey: () => {
      asked();
      return new Promise<boolean>((r) => (trust = r));
    },
  });
  await wasAsked;
  ac.abort();
  await assert.rejects(connecting, (e: unknown) => e instanceof AbortError);
  trust(true);
  // The callback's answer is handled on a later turn; give it a few.
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  assert.deepEqual(readdirSync(dirname(path)), [], 'known_hosts was not written');
});

test('requiredRsaSize (RequiredRSASize): a shorter RSA host key, plain or certified, is refused before known_hosts; default 1024 accepts 2048', async () => {
  const rsa = encodePublicKey(rsaKeyPair(2048).publicKey);
  const ca = generateHostKey('ssh-ed25519');
  const now = BigInt(Math.floor(Date.now() / 1000));
  const cert = signCertificate({ publicKey: rsa, kind: 'host', random: randomBytes, keyId: 'k', serial: 1n, principals: ['h'], validAfter: now - 60n, validBefore: now + 3600n }, ca).blob;
  const accepting = { knownHosts: false as const, acceptUnknownHostKey: true };
  for (const blob of [rsa, cert]) {
    await assert.rejects(
      hostKeyPolicy({ ...accepting, requiredRsaSize: 3072 }, 'h', 22).verify(blob, 'rsa-sha2-256'),
      (e: unknown) => e instanceof HostKeyRejectedError && e.message.startsWith('Bad server host key: Invalid key length') && e.message.includes('2048-bit'),
    );
    // Even a callback that trusts everything is not asked.
    let asked = false;
    await assert.rejects(hostKeyPolicy({ knownHosts: false, requiredRsaSize: 4096, verifyHostKey: () => ((asked = true), true) }, 'h', 22).verify(blob, 'rsa-sha2-512'), HostKeyRejectedError);
    assert.equal(asked, false);
    assert.equal((await hostKeyPolicy(accepting, 'h', 22).verify(blob, 'rsa-sha2-256')).knownHosts, 'not-checked');
    assert.equal((await hostKeyPolicy({ ...accepting, requiredRsaSize: 2048 }, 'h', 22).verify(blob, 'rsa-sha2-256')).knownHosts, 'not-checked');
  }
  // Other key types are not RSA keys: no length to check.
  assert.equal((await hostKeyPolicy({ ...accepting, requiredRsaSize: 16384 }, 'h', 22).verify(otherKey.publicBlob, 'ssh-ed25519')).knownHosts, 'not-checked');
  assert.throws(() => hostKeyPolicy({ knownHosts: false, requiredRsaSize: -1 }, 'h', 22), RangeError);
});

test('requiredRsaSize also leaves shorter RSA user keys unoffered (ssh: "Skipping key"); longer ones and other types are offered', async () => {
  const rsa = signerFromKeyObject(rsaKeyPair(2048).privateKey);
  const ed = generateHostKey('ssh-ed25519');
  const offered: string[] = [];
  const t = await startServer({
    authenticate: (ctx) => {
      if (ctx.method === 'publickey') offered.push(ctx.publicKey!.keyType);
      return ctx.method === 'publickey' && ctx.publicKey!.keyType === 'ssh-ed25519';
    },
  });
  try {
    const lines: string[] = [];
    const c = await t.connect({ privateKey: [rsa, ed], requiredRsaSize: 3072, agent: false, debug: (_l, m) => lines.push(m) });
    await c.close();
    assert.deepEqual([...new Set(offered)], ['ssh-ed25519']);
    assert.ok(lines.some((l) => /^Skipping 2048-bit RSA key SHA256:\S+: shorter than RequiredRSASize 3072$/.test(l)), lines.join('\n'));
    offered.length = 0;
    await (await t.connect({ privateKey: [rsa, ed], agent: false })).close();
    assert.equal(offered[0], 'ssh-rsa');
  } finally {
    await t.close();
  }
});
