// The Nacre library client against OpenSSH 10's sshd on loopback.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, connect as netConnect, type Server } from 'node:net';
import { userInfo } from 'node:os';
import { findOpenSsh, runSsh, startSshd, keygen, tempDir, type Sshd } from './openssh.js';
import { connect, type Client } from '../../src/client/client.js';
import type { ConnectOptions } from '../../src/client/options.js';
import { signerFromPrivateKeyFile, type AuthSigner } from '../../src/keys/index.js';

const openssh = findOpenSsh();
const skip = openssh ? false : 'OpenSSH not installed (run scripts/install-test-peers.sh)';
const user = userInfo().username;

let sshd: Sshd | undefined;
let rekeySshd: Sshd | undefined;
const keys: Record<string, string> = {};
let echo: Server | undefined;
let echoPort = 0;

before(async () => {
  if (!openssh) return;
  const dir = tempDir('client-keys');
  for (const [name, type, bits] of [['ed25519', 'ed25519'], ['ecdsa', 'ecdsa', 384], ['rsa', 'rsa', 3072]] as const) {
    const k = keygen(openssh, dir, type, `id_${name}`, bits);
    keys[name] = readFileSync(k.privatePath, 'utf8');
    keys[name + '.pub'] = k.publicLine;
  }
  const common = ['PermitRootLogin yes', 'PasswordAuthentication yes', 'KbdInteractiveAuthentication no', 'AllowTcpForwarding yes', 'MaxSessions 30'];
  sshd = await startSshd(openssh, common);
  rekeySshd = await startSshd(openssh, [...common, 'RekeyLimit 1M']);
  for (const s of [sshd, rekeySshd]) {
    appendFileSync(`${s.dir}/authorized_keys`, ['ed25519', 'ecdsa', 'rsa'].map((n) => keys[n + '.pub']).join('\n') + '\n');
  }
  echo = createServer((s) => s.pipe(s));
  await new Promise<void>((r) => echo!.listen(0, '127.0.0.1', r));
  echoPort = (echo.address() as { port: number }).port;
});

after(async () => {
  await sshd?.stop();
  await rekeySshd?.stop();
  echo?.close();
});

function options(s: Sshd, extra: Partial<ConnectOptions> = {}): ConnectOptions {
  const hostKeys = [s.hostKeys.ed25519!, s.hostKeys.ecdsa!, s.hostKeys.rsa!].map((l) => Buffer.from(l.split(' ')[1]!, 'base64'));
  return {
    host: '127.0.0.1',
    port: s.port,
    username: user,
    privateKey: keys.ed25519,
    verifyHostKey: (info) => hostKeys.some((k) => k.equals(Buffer.from(info.key))),
    ...extra,
  };
}

async function withClient<T>(s: Sshd, extra: Partial<ConnectOptions>, fn: (c: Client) => Promise<T>): Promise<T> {
  const c = await connect(options(s, extra));
  try {
    return await fn(c);
  } finally {
    await c.close();
  }
}

for (const name of ['ed25519', 'ecdsa', 'rsa']) {
  test(`publickey ${name}: exec echo`, { skip, timeout: 30000 }, async () => {
    await withClient(sshd!, { privateKey: keys[name] }, async (c) => {
      const r = await c.exec('echo hello from $USER');
      assert.equal(r.stdout, `hello from ${user}\n`);
      assert.equal(r.code, 0);
      if (name === 'rsa') assert.match(sshd!.log(), /rsa-sha2-512|RSA SHA256/);
      // sshd announces its host keys after login (UpdateHostKeys support).
      assert.equal(c.announcedHostKeys.length, 3);
      assert.ok(c.hostKey && c.announcedHostKeys.some((k) => k.fingerprint === c.hostKey!.fingerprint));
    });
  });
}

test('a passphrase-protected OpenSSH key and a PEM key', { skip, timeout: 30000 }, async () => {
  const dir = tempDir('enc-keys');
  const enc = `${dir}/id_enc`;
  assert.equal(spawnSync(openssh!.keygen, ['-q', '-t', 'ed25519', '-N', 'correct horse', '-f', enc]).status, 0);
  const pem = `${dir}/id_pem`;
  assert.equal(spawnSync(openssh!.keygen, ['-q', '-t', 'ecdsa', '-b', '256', '-m', 'PEM', '-N', '', '-f', pem]).status, 0);
  appendFileSync(`${sshd!.dir}/authorized_keys`, readFileSync(enc + '.pub', 'utf8') + readFileSync(pem + '.pub', 'utf8'));
  await withClient(sshd!, { privateKey: readFileSync(enc), passphrase: 'correct horse' }, async (c) => {
    assert.equal((await c.exec('echo enc')).stdout, 'enc\n');
  });
  await withClient(sshd!, { privateKey: readFileSync(pem, 'utf8') }, async (c) => {
    assert.equal((await c.exec('echo pem')).stdout, 'pem\n');
  });
  await assert.rejects(connect(options(sshd!, { privateKey: readFileSync(enc) })), /passphrase is required/);
});

test('an unknown host key is rejected by default', { skip, timeout: 30000 }, async () => {
  await assert.rejects(
    connect({ host: '127.0.0.1', port: sshd!.port, username: user, privateKey: keys.ed25519, knownHosts: tempDir('kh') + '/known_hosts' }),
    (e: Error) => e.name === 'HostKeyRejectedError' && /not trusted/.test(e.message),
  );
});

test('known_hosts holding only the ECDSA key: that key type is asked for first and the host is trusted, as with ssh', { skip, timeout: 30000 }, async () => {
  const kh = tempDir('kh') + '/known_hosts';
  writeFileSync(kh, `[127.0.0.1]:${sshd!.port} ${sshd!.hostKeys.ecdsa!}\n`);
  const c = await connect({ host: '127.0.0.1', port: sshd!.port, username: user, privateKey: keys.ed25519, knownHosts: kh });
  try {
    assert.equal(c.algorithms?.hostKey, 'ecdsa-sha2-nistp256');
    assert.equal(c.hostKey?.knownHosts, 'match');
  } finally {
    await c.close();
  }
  // Made to take a key of another type than the known one, it is a changed
  // key, as ssh -o HostKeyAlgorithms=ssh-ed25519 says ("REMOTE HOST
  // IDENTIFICATION HAS CHANGED", "Offending ECDSA key").
  await assert.rejects(
    connect({ host: '127.0.0.1', port: sshd!.port, username: user, privateKey: keys.ed25519, knownHosts: kh, algorithms: { hostKey: ['ssh-ed25519'] } }),
    (e: Error) => e.name === 'HostKeyRejectedError' && /only by other key types \(ecdsa-sha2-nistp256\).*possible man-in-the-middle/.test(e.message),
  );
  const ssh = await runSsh(openssh!, ['-p', String(sshd!.port), '-o', `UserKnownHostsFile=${kh}`, '-o', 'GlobalKnownHostsFile=/dev/null', '-o', 'StrictHostKeyChecking=accept-new', '-o', 'HostKeyAlgorithms=ssh-ed25519', '-o', 'BatchMode=yes', `${user}@127.0.0.1`, 'true']);
  assert.notEqual(ssh.code, 0);
  assert.match(ssh.stderr, /REMOTE HOST IDENTIFICATION HAS CHANGED[\s\S]*Offending ECDSA key/);
});

test('acceptUnknownHostKey records the key (plain and hashed) in a form ssh-keygen -F finds; the next connection matches it', { skip, timeout: 30000 }, async () => {
  for (const hashKnownHosts of [false, true]) {
    const kh = tempDir('kh-new') + '/known_hosts';
    const first = await connect({ host: '127.0.0.1', port: sshd!.port, username: user, privateKey: keys.ed25519, knownHosts: kh, acceptUnknownHostKey: true, hashKnownHosts });
    assert.equal(first.hostKey?.knownHosts, 'unknown');
    assert.deepEqual(first.hostKey?.addedToKnownHosts, { file: kh, line: 1 });
    await first.close();
    const found = spawnSync(openssh!.keygen, ['-F', `[127.0.0.1]:${sshd!.port}`, '-f', kh], { encoding: 'utf8' });
    assert.equal(found.status, 0, found.stderr);
    assert.match(found.stdout, /ssh-ed25519/);
    const second = await connect({ host: '127.0.0.1', port: sshd!.port, username: user, privateKey: keys.ed25519, knownHosts: kh });
    assert.equal(second.hostKey?.knownHosts, 'match');
    await second.close();
  }
});

test('signers that answer later (a fake agent) log in to sshd with Ed25519, ECDSA and RSA keys', { skip, timeout: 30000 }, async () => {
  for (const name of ['ed25519', 'ecdsa', 'rsa']) {
    const key = signerFromPrivateKeyFile(keys[name]!);
    const algorithms: string[] = [];
    const agent: AuthSigner = {
      keyType: key.keyType,
      publicBlob: key.publicBlob,
      sign: (algorithm, data) => {
        algorithms.push(algorithm);
        return new Promise((resolve) => setTimeout(() => resolve(key.sign(algorithm, data)), 30));
      },
    };
    // With ECDSA, an authorized Ed25519 key whose signer fails comes first: the next key is tried.
    const ed25519 = signerFromPrivateKeyFile(keys.ed25519!);
    const broken: AuthSigner = { keyType: ed25519.keyType, publicBlob: ed25519.publicBlob, sign: () => Promise.reject(new Error('agent refused')) };
    await withClient(sshd!, { privateKey: name === 'ecdsa' ? [broken, agent] : agent }, async (c) => {
      assert.equal((await c.exec('echo agent')).stdout, 'agent\n');
    });
    assert.deepEqual(algorithms, [name === 'rsa' ? 'rsa-sha2-512' : key.algorithms[0]]);
  }
});

test('password authentication with a throwaway local user', { skip, timeout: 30000 }, async (t) => {
  if (process.getuid?.() !== 0) {
    t.skip('not root: cannot create a throwaway user with a password');
    return;
  }
  const name = 'nacretest';
  spawnSync('useradd', ['-m', '-s', '/bin/sh', name]);
  const pw = 'Pw-' + randomBytes(6).toString('hex');
  const r = spawnSync('chpasswd', [], { input: `${name}:${pw}\n` });
  assert.equal(r.status, 0, 'chpasswd');
  await withClient(sshd!, { username: name, privateKey: undefined, password: pw }, async (c) => {
    const out = await c.exec('id -un');
    assert.equal(out.stdout.trim(), name);
  });
  await assert.rejects(connect(options(sshd!, { username: name, privateKey: undefined, password: 'wrong' })), (e: Error) => e.name === 'AuthenticationError' && /password/.test(e.message));
});

test('exec: exit codes, stderr, signals, stdin streaming', { skip, timeout: 30000 }, async () => {
  await withClient(sshd!, {}, async (c) => {
    assert.equal((await c.exec('exit 3')).code, 3);
    const e = await c.exec('echo out; echo err >&2');
    assert.equal(e.stdout, 'out\n');
    assert.equal(e.stderr, 'err\n');
    const k = await c.exec('kill -TERM $$');
    assert.equal(k.signal, 'TERM');
    assert.equal(k.code, null);
    await assert.rejects(c.exec('exit 7', { rejectOnError: true }), /exited with status 7/);
    const p = await c.spawn('cat');
    const chunks: Buffer[] = [];
    p.stdout.on('data', (d: Buffer) => chunks.push(d));
    for (let i = 0; i < 100; i++) p.stdin.write(`line ${i}\n`);
    p.stdin.end();
    const exit = await p.exit;
    assert.equal(exit.code, 0);
    assert.equal(Buffer.concat(chunks).toString(), Array.from({ length: 100 }, (_, i) => `line ${i}\n`).join(''));
    assert.equal((await c.exec('cat', { stdin: 'from stdin' })).stdout, 'from stdin');
    // A signal request delivered by sshd to the running command.
    const sleeper = await c.spawn('exec sleep 30');
    await new Promise((r) => setTimeout(r, 200));
    await sleeper.signal('TERM');
    const ended = await sleeper.exit;
    assert.equal(ended.signal, 'TERM');
  });
});

test('pty shell', { skip, timeout: 30000 }, async () => {
  await withClient(sshd!, {}, async (c) => {
    const tty = await c.exec('tty; echo $TERM; stty size', { pty: { term: 'vt100', cols: 100, rows: 30 } });
    assert.match(tty.stdout, /\/dev\/pts\/\d+/);
    assert.match(tty.stdout, /vt100/);
    assert.match(tty.stdout, /30 100/);
    const sh = await c.shell({ pty: true });
    let out = '';
    sh.stdout.on('data', (d: Buffer) => (out += d.toString()));
    sh.stdin.write('echo hello-$((40+2))\n');
    sh.stdin.write('exit 5\n');
    const exit = await sh.exit;
    assert.match(out, /hello-42/);
    assert.equal(exit.code, 5);
  });
});

async function upload(c: Client, bytes: number): Promise<{ local: string; remote: string; seconds: number }> {
  const started = process.hrtime.bigint();
  const p = await c.spawn('sha256sum');
  let remote = '';
  p.stdout.on('data', (d: Buffer) => (remote += d.toString()));
  const hash = createHash('sha256');
  const block = randomBytes(1024 * 1024);
  for (let sent = 0; sent < bytes; sent += block.length) {
    block[0] = sent & 0xff;
    hash.update(block);
    if (!p.stdin.write(block)) await new Promise((r) => p.stdin.once('drain', r));
  }
  p.stdin.end();
  await p.exit;
  return { local: hash.digest('hex'), remote: remote.split(' ')[0]!, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
}

async function download(c: Client, bytes: number): Promise<{ local: string; remote: string; seconds: number }> {
  const started = process.hrtime.bigint();
  const p = await c.spawn(`f=$(mktemp); head -c ${bytes} /dev/urandom > $f; sha256sum $f >&2; cat $f; rm -f $f`);
  const hash = createHash('sha256');
  let remote = '';
  p.stdout.on('data', (d: Buffer) => hash.update(d));
  p.stderr.on('data', (d: Buffer) => (remote += d.toString()));
  p.stdin.end();
  await p.exit;
  await new Promise((r) => setImmediate(r));
  return { local: hash.digest('hex'), remote: remote.split(' ')[0]!, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
}

test('100 MiB in each direction, SHA-256 compared', { skip, timeout: 180000 }, async () => {
  await withClient(sshd!, {}, async (c) => {
    const up = await upload(c, 100 * 1024 * 1024);
    assert.equal(up.remote, up.local);
    const down = await download(c, 100 * 1024 * 1024);
    assert.equal(down.remote, down.local);
    console.log(`# 100 MiB upload ${up.seconds.toFixed(2)} s, download ${down.seconds.toFixed(2)} s (${c.algorithms?.clientToServer.cipher})`);
  });
});

test('20 concurrent channels on one connection', { skip, timeout: 30000 }, async () => {
  await withClient(sshd!, {}, async (c) => {
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => c.exec(`sleep 0.2; echo ${i}`)));
    results.forEach((r, i) => assert.equal(r.stdout, `${i}\n`));
  });
});

test('several rekeys during transfers (RekeyLimit 1M on both sides)', { skip, timeout: 120000 }, async () => {
  let rekeys = 0;
  await withClient(rekeySshd!, { rekey: { bytes: 1024 * 1024 } }, async (c) => {
    c.on('rekey', () => rekeys++);
    const up = await upload(c, 20 * 1024 * 1024);
    assert.equal(up.remote, up.local);
    const down = await download(c, 20 * 1024 * 1024);
    assert.equal(down.remote, down.local);
  });
  assert.ok(rekeys >= 10, `only ${rekeys} key exchanges`);
});

test('direct-tcpip to a local echo server', { skip, timeout: 30000 }, async () => {
  await withClient(sshd!, {}, async (c) => {
    const ch = await c.openDirectTcpip({ host: '127.0.0.1', port: echoPort });
    const got: Buffer[] = [];
    ch.on('data', (d: Buffer) => got.push(d));
    ch.end('ping through the tunnel');
    await new Promise((r) => ch.once('end', r));
    assert.equal(Buffer.concat(got).toString(), 'ping through the tunnel');
    const fwd = await c.forwardLocal({ remoteHost: '127.0.0.1', remotePort: echoPort });
    const s = netConnect(fwd.port, '127.0.0.1');
    const back: Buffer[] = [];
    s.on('data', (d: Buffer) => back.push(d));
    s.end('via -L');
    await new Promise((r) => s.once('close', r));
    assert.equal(Buffer.concat(back).toString(), 'via -L');
    await fwd.close();
  });
});

test('tcpip-forward back to the client', { skip, timeout: 30000 }, async () => {
  await withClient(sshd!, {}, async (c) => {
    const fwd = await c.forwardRemote({ bindAddress: '127.0.0.1', bindPort: 0 });
    assert.ok(fwd.port > 0);
    const served = (async () => {
      for await (const conn of fwd) {
        conn.channel.pipe(conn.channel);
        return conn.originatorAddress;
      }
      return '';
    })();
    // Connect to the port sshd opened (same machine, loopback).
    const s = netConnect(fwd.port, '127.0.0.1');
    const back: Buffer[] = [];
    s.on('data', (d: Buffer) => back.push(d));
    s.end('reverse');
    await new Promise((r) => s.once('close', r));
    assert.equal(Buffer.concat(back).toString(), 'reverse');
    assert.equal(await served, '127.0.0.1');
    await fwd.close();
  });
});
