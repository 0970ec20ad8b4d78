// `npm start`'s server (src/cli/start.ts): which keys may log in, and the
// file permissions it insists on, as sshd does with StrictModes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { connect as netConnect, type Socket } from 'node:net';
import { join } from 'node:path';
import { connect } from '../../src/client/client.js';
import { generateHostKey, KeyFileError, type KeySigner } from '../../src/keys/index.js';
import { loadOrCreateHostKeys, readUserKeys, startServer } from '../../src/cli/start.js';

const asRoot = process.getuid?.() === 0;

function publicLine(k: KeySigner, options = ''): string {
  return `${options ? options + ' ' : ''}${k.keyType} ${Buffer.from(k.publicBlob).toString('base64')} test`;
}

async function withHome(fn: (home: string, key: KeySigner, logs: string[]) => Promise<void>): Promise<void> {
  const home = mkdtempSync(join(tmpdir(), 'nacre-start-'));
  mkdirSync(join(home, '.ssh'), { mode: 0o700 });
  try {
    await fn(home, generateHostKey('ssh-ed25519'), []);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

async function tryLogin(port: number, key: KeySigner, username: string): Promise<boolean> {
  try {
    const c = await connect({ host: '127.0.0.1', port, username, privateKey: key, verifyHostKey: () => true, keepalive: false });
    await c.close();
    return true;
  } catch {
    return false;
  }
}

test('npm start: a key restricted by authorized_keys options it does not apply is refused, a plain one logs in', async () => {
  await withHome(async (home, key, logs) => {
    const plain = generateHostKey('ssh-ed25519');
    writeFileSync(join(home, '.ssh', 'authorized_keys'), [publicLine(key, 'from="10.9.9.9",command="echo FORCED"'), publicLine(plain)].join('\n') + '\n', { mode: 0o600 });
    const s = await startServer({ port: 0, stateDir: join(home, 'state'), home, log: (l) => logs.push(l) });
    try {
      assert.equal(s.authorizedKeyCount, 1);
      assert.equal(await tryLogin(s.address.port, key, s.username), false);
      assert.ok(logs.some((l) => /key refused: this server does not apply the options from, command/.test(l)), logs.join('\n'));
      assert.equal(await tryLogin(s.address.port, plain, s.username), true);
    } finally {
      await s.close();
    }
  });
});

test('npm start: ten idle connections from one address do not lock the user out', async () => {
  await withHome(async (home, key, logs) => {
    writeFileSync(join(home, '.ssh', 'authorized_keys'), publicLine(key) + '\n', { mode: 0o600 });
    const s = await startServer({ port: 0, stateDir: join(home, 'state'), home, log: (l) => logs.push(l) });
    const idle: Socket[] = [];
    try {
      for (let i = 0; i < 10; i++) {
        // From 127.0.0.2 (all of 127/8 is loopback on Linux); each waits for the server's first bytes.
        const sock = netConnect({ port: s.address.port, host: '127.0.0.1', localAddress: '127.0.0.2' });
        sock.on('error', () => undefined);
        idle.push(sock);
        await new Promise((r) => sock.once('data', r));
      }
      assert.equal(await tryLogin(s.address.port, key, s.username), true);
    } finally {
      for (const sock of idle) sock.destroy();
      await s.close();
    }
  });
});

test('npm start: an authorized_keys file others can write is not used; bad lines are reported', async () => {
  await withHome(async (home, key, logs) => {
    const path = join(home, '.ssh', 'authorized_keys');
    writeFileSync(path, `no-such-option ${publicLine(key).slice(0)}\n${publicLine(key)}\n`, { mode: 0o600 });
    chmodSync(path, 0o666);
    const s = await startServer({ port: 0, stateDir: join(home, 'state'), home, log: (l) => logs.push(l) });
    try {
      assert.equal(s.authorizedKeyCount, 0);
      assert.ok(logs.some((l) => l.includes('not used') && l.includes('writable by group or others')), logs.join('\n'));
      assert.equal(await tryLogin(s.address.port, key, s.username), false);
      chmodSync(path, 0o600); // fixed: read again at the next attempt
      assert.equal(await tryLogin(s.address.port, key, s.username), true);
    } finally {
      await s.close();
    }
    const again = await startServer({ port: 0, stateDir: join(home, 'state'), home, log: (l) => logs.push(l) });
    await again.close();
    assert.ok(logs.some((l) => /authorized_keys:1: skipped: .*no-such-option/.test(l)), logs.join('\n'));
  });
});

test('npm start: host keys others could read are refused; a loose state directory is tightened', { skip: process.getuid ? false : 'no POSIX owners here' }, async () => {
  await withHome(async (home) => {
    const dir = join(home, 'state');
    mkdirSync(dir, { mode: 0o777 });
    chmodSync(dir, 0o777);
    loadOrCreateHostKeys(dir);
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    const key = join(dir, 'ssh_host_ed25519_key.pem');
    assert.equal(statSync(key).mode & 0o777, 0o600);
    chmodSync(key, 0o644);
    assert.throws(() => loadOrCreateHostKeys(dir), (e: unknown) => e instanceof KeyFileError && e.problem === 'unsafe-permissions' && e.path === key && /644 are too open/.test(e.message));
  });
});

test('npm start: keys in a home directory another user owns are not trusted', { skip: asRoot ? false : 'needs root to chown' }, async () => {
  await withHome(async (home, key, logs) => {
    const path = join(home, '.ssh', 'authorized_keys');
    writeFileSync(path, publicLine(key) + '\n', { mode: 0o600 });
    const { chownSync } = await import('node:fs');
    chownSync(join(home, '.ssh'), 65534, 65534);
    const s = await startServer({ port: 0, stateDir: join(home, 'state'), home, log: (l) => logs.push(l) });
    try {
      assert.equal(s.authorizedKeyCount, 0);
      assert.ok(logs.some((l) => /belongs to another user \(uid 65534\)/.test(l)), logs.join('\n'));
    } finally {
      await s.close();
    }
  });
});

test('npm start: an authorized_keys too large to read is reported, not silently passed over; a missing one says nothing', async () => {
  await withHome(async (home, key) => {
    const { truncateSync } = await import('node:fs');
    const { MAX_TRUST_FILE_BYTES } = await import('../../src/io/node/files.js');
    const reports: string[] = [];
    assert.equal(readUserKeys(home, (l) => reports.push(l)).length, 0);
    assert.equal(reports.length, 0);
    const path = join(home, '.ssh', 'authorized_keys');
    writeFileSync(path, publicLine(key) + '\n', { mode: 0o600 });
    assert.equal(readUserKeys(home, (l) => reports.push(l)).length, 1);
    truncateSync(path, MAX_TRUST_FILE_BYTES + 1);
    assert.equal(readUserKeys(home, (l) => reports.push(l)).length, 0);
    assert.deepEqual(reports, [`${path}: not used: authorized keys file is larger than 128 MiB; refused`]);
  });
});
