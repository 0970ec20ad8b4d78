// TransferOptions.keepPartial (nacre-sftp's and nacre-scp's choice, as
// OpenSSH's sftp and scp leave a partial file): a get cut or aborted leaves
// what arrived under the destination's own name, a prefix of the source, so
// a resume continues it; a put aborted does the same on the server. An
// existing destination is never replaced by a partial file, and no hidden
// temporary file is left either way.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SftpClient } from '../../src/client/sftp/api.js';
import { AbortError } from '../../src/errors.js';
import { MemoryFileSystem } from '../../src/sftp/memory-fs.js';
import { sftpSubsystem } from '../../src/server/sftp/serve.js';
import { patterned, sha256, startHostileSftpServer } from './sftp-harness.js';
import { startServer } from './server-helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'nacre-keep-partial-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let counter = 0;
const localPath = (name: string) => join(dir, `${counter++}-${name}`);
const SIZE = 2 * 1024 * 1024 + 17;
const CUT_AT = 700 * 1024;

/** Names in the test directory containing `part`: the destination and any leftover temporary. */
const beside = (name: string) => readdirSync(dir).filter((n) => n.includes(name));

test('get cut mid-transfer with keepPartial: the partial file is left under its own name, a prefix, and resume completes it', { timeout: 60_000 }, async () => {
  const h = await startHostileSftpServer((n) => (n === 0 ? { dropAfterBytes: CUT_AT, reorder: 4 } : {}));
  try {
    const data = patterned(SIZE, 31);
    h.tree.writeFile('/big', data);
    const local = localPath('kept');
    const sftp: SftpClient = await (await h.connect()).sftp();
    await assert.rejects(sftp.get('/big', local, { keepPartial: true }));
    assert.ok(existsSync(local), 'the partial file is there under its own name');
    const partial = readFileSync(local);
    assert.ok(partial.length < data.length, 'shorter than the source');
    assert.ok(partial.equals(data.subarray(0, partial.length)), 'a prefix of the source: no hole, no padding');
    assert.deepEqual(beside('kept'), [local.slice(dir.length + 1)], 'no temporary file beside it');
    const sftp2 = await (await h.connect()).sftp();
    await sftp2.get('/big', local, { resume: true });
    assert.equal(sha256(readFileSync(local)), sha256(data));
  } finally {
    await h.close();
  }
});

test('get cut with keepPartial over an existing file: the old file stays, nothing else is left', { timeout: 60_000 }, async () => {
  const h = await startHostileSftpServer((n) => (n === 0 ? { dropAfterBytes: CUT_AT } : {}));
  try {
    h.tree.writeFile('/big', patterned(SIZE, 32));
    const local = localPath('old');
    writeFileSync(local, 'the old contents');
    const sftp = await (await h.connect()).sftp();
    await assert.rejects(sftp.get('/big', local, { keepPartial: true }));
    assert.equal(readFileSync(local, 'utf8'), 'the old contents');
    assert.deepEqual(beside('old'), [local.slice(dir.length + 1)]);
  } finally {
    await h.close();
  }
});

test('get and put aborted: without keepPartial nothing is left; with it the partial file is left under its name, and resume completes it', { timeout: 60_000 }, async () => {
  const fs = new MemoryFileSystem({ now: Date.now });
  fs.mkdirs('/d');
  const data = patterned(SIZE, 33);
  fs.writeFile('/d/src', data);
  const server = await startServer({
    authenticate: () => true,
    session: (s) => {
      s.onSubsystem = sftpSubsystem({ fileSystem: fs });
    },
  });
  try {
    const sftp = await (await server.connect({ password: 'x' })).sftp();
    /** Options whose signal aborts once some bytes have moved (a small request size, so it is mid-file). */
    const abortingSoon = (keepPartial: boolean) => {
      const stop = new AbortController();
      return { keepPartial, chunkSize: 16 * 1024, concurrency: 2, signal: stop.signal, onProgress: (p: { transferred: number }) => p.transferred >= 64 * 1024 && stop.abort() };
    };
    for (const keepPartial of [false, true]) {
      const local = localPath(`aborted-get-${keepPartial}`);
      await assert.rejects(sftp.get('/d/src', local, abortingSoon(keepPartial)), (e) => e instanceof AbortError || (e instanceof Error && e.cause instanceof AbortError));
      assert.deepEqual(beside(`aborted-get-${keepPartial}`), keepPartial ? [local.slice(dir.length + 1)] : []);
      if (keepPartial) {
        const partial = readFileSync(local);
        assert.ok(partial.length > 0 && partial.length < data.length && partial.equals(data.subarray(0, partial.length)));
        await sftp.get('/d/src', local, { resume: true });
        assert.equal(sha256(readFileSync(local)), sha256(data));
      }
    }
    const src = localPath('up-src');
    writeFileSync(src, data);
    for (const keepPartial of [false, true]) {
      const remote = `/d/up-${keepPartial}`;
      await assert.rejects(sftp.put(src, remote, abortingSoon(keepPartial)));
      const names = (await sftp.list('/d')).map((e) => e.filename).filter((n) => n.startsWith(`up-${keepPartial}`) || n.includes('nacre-part'));
      assert.deepEqual(names, keepPartial ? [`up-${keepPartial}`] : [], 'no temporary file on the server');
      if (keepPartial) {
        const partial = Buffer.from(fs.readFile(remote));
        assert.ok(partial.length > 0 && partial.length < data.length && partial.equals(data.subarray(0, partial.length)));
        await sftp.put(src, remote, { resume: true });
        assert.equal(sha256(Buffer.from(fs.readFile(remote))), sha256(data));
      }
    }
    // An existing remote file is not replaced by an aborted put's partial one.
    fs.writeFile('/d/keep', Buffer.from('old'));
    await assert.rejects(sftp.put(src, '/d/keep', abortingSoon(true)));
    assert.equal(Buffer.from(fs.readFile("/d/keep")).toString(), "old");
    assert.deepEqual((await sftp.list('/d')).map((e) => e.filename).filter((n) => n.includes('nacre-part')), []);
  } finally {
    await server.close();
  }
});
