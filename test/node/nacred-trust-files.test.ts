// nacred's cache of parsed authorized_keys files (trust-files.ts): a parse is
// reused only while the file is the same file with the same size and times,
// never for a file changed in the last two seconds, and an edit, a
// replacement or a removal counts from the next read on. Also: lines the
// LogLevel drops are not formatted, and the ERROR line still comes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventEmitter } from 'node:events';
import { TrustFileCache } from '../../src/cli/sshd/trust-files.js';
import { authorizedKeysFor } from '../../src/cli/sshd/auth-policy.js';
import { SshdLog } from '../../src/cli/sshd/log.js';
import { logServerEvents, OncePerConnection } from '../../src/cli/sshd/events-log.js';
import type { Account } from '../../src/cli/sshd/accounts.js';
import { DisconnectError, DisconnectReason, KeyFileError, isMissingFile, ProtocolError, formatOpenSshPublicKeyLine, generateHostKey, resolveSshdConfig, parseSshdConfig, type Server } from '../../src/index.js';

const line = () => formatOpenSshPublicKeyLine(generateHostKey('ssh-ed25519').publicBlob);

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'nacred-trust-'));
}

/** A clock far enough after the file's change for the cache to trust its times. */
const later = (path: string) => () => statSync(path, { bigint: true }).ctimeNs + 3_000_000_000n;

test('a parsed authorized_keys is reused while the file is unchanged, re-read once it changes', () => {
  const dir = tempDir();
  try {
    const path = join(dir, 'authorized_keys');
    const a = line();
    writeFileSync(path, a + '\n');
    let now = later(path);
    const cache = new TrustFileCache(1024, () => now());
    const first = cache.read(path, 'authorized keys file');
    assert.ok(first);
    assert.equal(first.entries.length, 1);
    assert.equal(cache.read(path, 'authorized keys file'), first, 'unchanged: the same parse');

    // Same length, other key: mtime and ctime move.
    const b = line();
    assert.equal(b.length, a.length);
    writeFileSync(path, b + '\n');
    now = later(path);
    const second = cache.read(path, 'authorized keys file');
    assert.notEqual(second, first);
    assert.deepEqual(second!.entries[0]!.blob, generateBlobOf(b));

    // Replaced by rename (another inode), then removed.
    writeFileSync(join(dir, 'next'), a + '\n' + b + '\n');
    renameSync(join(dir, 'next'), path);
    now = later(path);
    assert.equal(cache.read(path, 'authorized keys file')!.entries.length, 2);
    rmSync(path);
    assert.equal(cache.read(path, 'authorized keys file'), null);
    assert.equal(cache.size, 0);
    // Under a file (ENOTDIR): the same.
    writeFileSync(join(dir, 'plain'), 'x');
    assert.throws(() => cache.read(join(dir, 'plain', 'authorized_keys'), 'authorized keys file'), (e) => isMissingFile(e));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

function generateBlobOf(publicLine: string): Uint8Array {
  return new Uint8Array(Buffer.from(publicLine.split(' ')[1]!, 'base64'));
}

test('a file changed in the last two seconds is read again at every attempt (coarse timestamps)', () => {
  const dir = tempDir();
  try {
    const path = join(dir, 'authorized_keys');
    writeFileSync(path, line() + '\n');
    const changed = statSync(path, { bigint: true }).ctimeNs;
    const cache = new TrustFileCache(1024, () => changed + 1_000_000_000n);
    const first = cache.read(path, 'authorized keys file');
    assert.notEqual(cache.read(path, 'authorized keys file'), first);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('what cannot be read is an error as before (a directory), nothing is cached, and the cache stays bounded', () => {
  const dir = tempDir();
  try {
    mkdirSync(join(dir, 'd'));
    const cache = new TrustFileCache(2, () => BigInt(Date.now() + 10_000) * 1_000_000n);
    assert.throws(() => cache.read(join(dir, 'd'), 'authorized keys file'), KeyFileError);
    assert.equal(cache.size, 0);
    for (const name of ['a', 'b', 'c']) {
      writeFileSync(join(dir, name), line() + '\n');
      cache.read(join(dir, name), 'authorized keys file');
    }
    assert.equal(cache.size, 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('authorizedKeysFor through the cache: every AuthorizedKeysFile in order, StrictModes still checked at each attempt', () => {
  const dir = tempDir();
  try {
    const home = join(dir, 'home');
    mkdirSync(join(home, '.ssh'), { recursive: true, mode: 0o700 });
    const [a, b] = [line(), line()];
    writeFileSync(join(home, '.ssh', 'authorized_keys'), a + '\n', { mode: 0o600 });
    writeFileSync(join(home, '.ssh', 'authorized_keys2'), b + '\n', { mode: 0o600 });
    const account: Account = { name: 'u', uid: process.getuid!(), gid: process.getgid!(), home, shell: '/bin/sh', groups: [] };
    const settings = resolveSshdConfig(parseSshdConfig('AuthorizedKeysFile .ssh/authorized_keys .ssh/none .ssh/authorized_keys2\nStrictModes yes\n', 'c', { readFile: () => null, glob: () => [] }));
    const lines: string[] = [];
    const log = new SshdLog((l) => lines.push(l), 'info');
    const cache = new TrustFileCache(16, () => BigInt(Date.now() + 10_000) * 1_000_000n);
    const keys = authorizedKeysFor(account, settings, log, cache);
    assert.deepEqual(keys.map((k) => k.blob), [generateBlobOf(a), generateBlobOf(b)]);
    // Group-writable now: refused at the next attempt although the parse is cached.
    chmodSync(join(home, '.ssh', 'authorized_keys'), 0o620);
    assert.deepEqual(authorizedKeysFor(account, settings, log, cache).map((k) => k.blob), [generateBlobOf(b)]);
    assert.match(lines.join('\n'), /Authentication refused: bad ownership or modes for file .*authorized_keys/);
    // A file that is not there is skipped without a word, as before.
    assert.ok(!lines.some((l) => l.includes('.ssh/none')), lines.join('\n'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('log lines the LogLevel drops are not made; the ERROR line for MaxAuthTries still is', () => {
  const lines: string[] = [];
  const log = new SshdLog((l) => lines.push(l), 'error');
  const once = new OncePerConnection(log);
  const server = new EventEmitter() as unknown as Server;
  logServerEvents(server, log, once);
  const emit = (name: string, ...args: unknown[]) => (server as unknown as EventEmitter).emit(name, ...args);
  const conn = (port: number, username: string | null = null) => ({ remoteAddress: '10.0.0.1', remotePort: port, localAddress: '10.0.0.2', localPort: 22, username });
  // A key whose description would throw if it were formatted: it must not be.
  const key = { algorithm: 'ssh-ed25519', blob: new Uint8Array(0), get keyType(): string { throw new Error('formatted'); }, fingerprint: 'SHA256:x' };
  emit('connection', conn(1));
  emit('authenticated', conn(1, 'alice'), { username: 'alice', method: 'publickey', publicKey: key });
  emit('disconnect', conn(1, 'alice'), new DisconnectError(DisconnectReason.BY_APPLICATION, 'bye', true));
  once.tried({ remoteAddress: '10.0.0.1', remotePort: 2, username: 'bob' });
  emit('disconnect', conn(2), new ProtocolError('too many authentication failures', DisconnectReason.NO_MORE_AUTH_METHODS_AVAILABLE));
  assert.deepEqual(lines, ['maximum authentication attempts exceeded for bob from 10.0.0.1 port 2 ssh2 [preauth]']);
  // Forgotten all the same.
  assert.equal(once.triedName('10.0.0.1', 2), undefined);
});
