// Section 5's failure cases for the SFTP client and server: a hostile
// server (short reads, shuffled replies, a connection cut mid-transfer)
// against the library client, and the library server (over the in-memory
// file system) against permission errors, missing files, a full disk and a
// client that floods it with requests.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { Client } from '../../src/client/client.js';
import type { SftpClient } from '../../src/client/sftp/api.js';
import { SftpError } from '../../src/sftp/errors.js';
import { FX } from '../../src/sftp/constants.js';
import { DEFAULT_MAX_READ, FXF, FXP } from '../../src/sftp/constants.js';
import { writeRequestHeader } from '../../src/sftp/messages.js';
import { MemoryFileSystem } from '../../src/sftp/memory-fs.js';
import { sftpSubsystem } from '../../src/server/sftp/serve.js';
import { patterned, sha256, startHostileSftpServer, type HostileBehaviour } from './sftp-harness.js';
import { liveBytes, rawSftp, settled } from './sftp-harness-flood.js';
import { startServer, type TestServer } from './server-helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'nacre-sftp-failures-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let counter = 0;
const localPath = (name: string) => join(dir, `${counter++}-${name}`);

async function openSftp(c: Client): Promise<SftpClient> {
  return c.sftp();
}

/** Runs `fn` with an SFTP client on a fresh hostile server whose connection n behaves as `behave(n)`. */
async function withHostile(behave: (n: number) => HostileBehaviour, fn: (h: Awaited<ReturnType<typeof startHostileSftpServer>>) => Promise<void>): Promise<void> {
  const h = await startHostileSftpServer(behave);
  try {
    await fn(h);
  } finally {
    await h.close();
  }
}

/** Every file in the local test directory whose name contains `part` (leftover temporaries). */
function localLeftovers(part: string): string[] {
  return readdirSync(dir).filter((n) => n.includes(part));
}

// ---------------------------------------------------------------------------
// short reads and shuffled replies

/** A different short length for each READ, never the whole of it (except for length 1). */
const jaggedReads = (offset: number, length: number) => 1 + ((offset * 7919 + 13) % Math.max(1, length - 1));

for (const size of [1, 32769, 1024 * 1024 + 1, 3 * 1024 * 1024 + 7]) {
  test(`get of ${size} bytes is exact when every READ is answered short`, { timeout: 60_000 }, async () => {
    await withHostile(() => ({ shortRead: jaggedReads }), async (h) => {
      const data = patterned(size, size);
      h.tree.writeFile('/src', data);
      const sftp = await openSftp(await h.connect());
      const local = localPath('short');
      await sftp.get('/src', local);
      const got = readFileSync(local);
      assert.equal(got.length, size);
      assert.equal(sha256(got), sha256(data));
      if (size > 1) assert.ok(h.stats.shortReads > 0, 'the server did answer short');
    });
  });
}

test('get is exact when replies come shuffled, late and short', { timeout: 60_000 }, async () => {
  await withHostile(() => ({ shortRead: (_o, len) => Math.ceil(len / 2) + 1, reorder: 16, delayMs: 1 }), async (h) => {
    const data = patterned(2 * 1024 * 1024 + 3, 7);
    h.tree.writeFile('/src', data);
    const sftp = await openSftp(await h.connect());
    const local = localPath('shuffled');
    await sftp.get('/src', local);
    assert.equal(sha256(readFileSync(local)), sha256(data));
    assert.ok(h.stats.reordered > 0, 'replies were sent out of order');
  });
});

test('createReadStream is exact with short, shuffled replies, ranges included', { timeout: 60_000 }, async () => {
  await withHostile(() => ({ shortRead: jaggedReads, reorder: 8 }), async (h) => {
    const data = patterned(1024 * 1024 + 1, 3);
    h.tree.writeFile('/src', data);
    const sftp = await openSftp(await h.connect());
    const collect = async (options?: { start?: number; end?: number }) => {
      const parts: Buffer[] = [];
      for await (const chunk of sftp.createReadStream('/src', options)) parts.push(Buffer.from(chunk as Uint8Array));
      return Buffer.concat(parts);
    };
    assert.equal(sha256(await collect()), sha256(data));
    const range = await collect({ start: 1000, end: 700_000 });
    assert.equal(range.length, 700_000 - 1000 + 1);
    assert.ok(range.equals(data.subarray(1000, 700_001)));
  });
});

test('get of a file that ends early (EOF before the size STAT gave): never padded, and all the server had', { timeout: 30_000 }, async () => {
  await withHostile(() => ({ eofAt: 500_001 }), async (h) => {
    const data = patterned(1024 * 1024, 13);
    h.tree.writeFile('/shrunk', data);
    const sftp = await openSftp(await h.connect());
    const local = localPath('shrunk');
    const outcome = await sftp.get('/shrunk', local).then(
      () => 'ok',
      (e: Error) => e.message,
    );
    if (outcome === 'ok') {
      const got = readFileSync(local);
      assert.equal(got.length, 500_001, 'everything up to the EOF, nothing after');
      assert.ok(got.equals(data.subarray(0, 500_001)));
    } else {
      assert.match(outcome, /shrunk/, 'a failure names the file');
      if (existsSync(local)) assert.ok(readFileSync(local).length <= 500_001, 'no padding');
    }
  });
});

test('a server that answers READ with more bytes than asked: the client never writes them', { timeout: 30_000 }, async () => {
  await withHostile(() => ({ overlongRead: 1000 }), async (h) => {
    const data = patterned(300_000, 14);
    h.tree.writeFile('/long', data);
    const sftp = await openSftp(await h.connect());
    const local = localPath('overlong');
    const ok = await sftp.get('/long', local).then(
      () => true,
      () => false,
    );
    if (ok) assert.equal(sha256(readFileSync(local)), sha256(data), 'a get that succeeds is exact');
    const s2 = await openSftp(await h.connect());
    const fh = await s2.open('/long', 'r');
    const n = await s2.read(fh, 0, 100).then(
      (b) => b.length,
      () => -1,
    );
    assert.ok(n <= 100, `read() of 100 bytes gave ${n}`);
  });
});

test('a server that answers a request never made: the transfer fails cleanly or is exact, and nothing crashes', { timeout: 30_000 }, async () => {
  await withHostile(() => ({ strayReplyAfter: 5 }), async (h) => {
    const data = patterned(1024 * 1024, 15);
    h.tree.writeFile('/src', data);
    const sftp = await openSftp(await h.connect());
    const local = localPath('stray');
    const outcome = await sftp.get('/src', local).then(
      () => 'ok',
      (e: unknown) => (e instanceof Error ? e : new Error(String(e))),
    );
    if (outcome === 'ok') assert.equal(sha256(readFileSync(local)), sha256(data));
    else {
      assert.ok(outcome instanceof Error);
      assert.equal(existsSync(local), false, 'no partial destination');
    }
    // the session is over or still sane: a stat either works or rejects, it does not hang
    await Promise.race([sftp.stat('/src').catch(() => undefined), new Promise((_, reject) => setTimeout(() => reject(new Error('stat hung after the stray reply')), 5000))]);
  });
});

test('createWriteStream is exact when WRITE replies come shuffled and late', { timeout: 60_000 }, async () => {
  await withHostile(() => ({ reorder: 16, delayMs: 1 }), async (h) => {
    const data = patterned(1024 * 1024 + 9, 12);
    const sftp = await openSftp(await h.connect());
    const ws = sftp.createWriteStream('/ws');
    // odd-sized pieces, so requests do not line up with what was written
    for (let at = 0; at < data.length; at += 77_777) {
      if (!ws.write(data.subarray(at, at + 77_777))) await new Promise((r) => ws.once('drain', r));
    }
    await new Promise<void>((resolve, reject) => {
      ws.once('error', reject);
      ws.end(() => resolve());
    });
    assert.equal(sha256(h.tree.readFile('/ws')!), sha256(data));
    assert.ok(h.stats.reordered > 0);
  });
});

test('createReadStream on a connection cut mid-file errors; it never ends as if the file were shorter', { timeout: 60_000 }, async () => {
  await withHostile(() => ({ dropAfterBytes: 300 * 1024 }), async (h) => {
    h.tree.writeFile('/src', patterned(2 * 1024 * 1024, 4));
    const sftp = await openSftp(await h.connect());
    let got = 0;
    await assert.rejects(
      (async () => {
        for await (const chunk of sftp.createReadStream('/src')) got += (chunk as Uint8Array).length;
      })(),
    );
    assert.ok(got < 2 * 1024 * 1024);
  });
});

test('createWriteStream on a connection cut mid-file errors; it never finishes', { timeout: 60_000 }, async () => {
  await withHostile(() => ({ dropAfterBytes: 300 * 1024 }), async (h) => {
    const data = patterned(2 * 1024 * 1024, 5);
    const sftp = await openSftp(await h.connect());
    const ws = sftp.createWriteStream('/ws');
    const outcome = new Promise<string>((resolve) => {
      ws.once('error', (e) => resolve(`error: ${e.message}`));
      ws.once('finish', () => resolve('finish'));
    });
    for (let at = 0; at < data.length && !ws.destroyed; at += 64 * 1024) {
      if (!ws.write(data.subarray(at, at + 64 * 1024))) await Promise.race([new Promise((r) => ws.once('drain', r)), outcome]);
    }
    if (!ws.destroyed) ws.end();
    assert.match(await outcome, /^error/);
  });
});

test('read() returns what a short reply carried, never padded, and an empty array at EOF', { timeout: 30_000 }, async () => {
  await withHostile(() => ({ shortRead: () => 100 }), async (h) => {
    const data = patterned(5000, 9);
    h.tree.writeFile('/src', data);
    const sftp = await openSftp(await h.connect());
    const fh = await sftp.open('/src', 'r');
    const part = await sftp.read(fh, 10, 4096);
    assert.ok(part.length > 0 && part.length <= 4096);
    assert.ok(Buffer.from(part).equals(data.subarray(10, 10 + part.length)));
    assert.equal((await sftp.read(fh, 5000, 10)).length, 0);
    await sftp.close(fh);
  });
});

test('put is exact when WRITE replies come shuffled and late', { timeout: 60_000 }, async () => {
  await withHostile(() => ({ reorder: 16, delayMs: 1 }), async (h) => {
    const data = patterned(2 * 1024 * 1024 + 5, 11);
    const local = localPath('put-src');
    writeFileSync(local, data);
    const sftp = await openSftp(await h.connect());
    await sftp.put(local, '/dst');
    const got = h.tree.readFile('/dst');
    assert.ok(got, 'the destination exists');
    assert.equal(got.length, data.length);
    assert.equal(sha256(got), sha256(data));
    assert.ok(h.stats.reordered > 0);
  });
});

test('get -r from a server that lists "..", "../x", "a/b" and absolute names: nothing is written outside the destination', { timeout: 30_000 }, async () => {
  const evil = ['..', '../escaped', 'sub/../../escaped2', '/abs-escaped', 'a/b'];
  await withHostile(() => ({ injectNames: (d) => (d === '/d' ? evil : []) }), async (h) => {
    h.tree.mkdir('/d');
    h.tree.writeFile('/d/ok', Buffer.from('fine'));
    // what the injected names lead to, were a client to follow them
    h.tree.writeFile('/escaped', Buffer.from('escaped'));
    h.tree.writeFile('/escaped2', Buffer.from('escaped'));
    h.tree.writeFile('/abs-escaped', Buffer.from('escaped'));
    const outer = mkdtempSync(join(dir, 'evil-'));
    const dest = join(outer, 'inner', 'dest');
    mkdirSync(join(outer, 'inner'));
    const sftp = await openSftp(await h.connect());
    const outcome = await sftp.get('/d', dest, { recursive: true }).then(
      () => 'ok',
      (e: Error) => e.message,
    );
    assert.deepEqual(readdirSync(outer), ['inner'], `nothing beside inner/ (${outcome})`);
    assert.deepEqual(readdirSync(join(outer, 'inner')).filter((n) => n !== 'dest'), [], `nothing beside dest (${outcome})`);
    if (existsSync(join(dest, 'a'))) assert.equal(readdirSync(join(dest, 'a')).length, 0, 'no a/b made from one name');
    assert.equal(existsSync('/abs-escaped'), false);
    if (outcome === 'ok') assert.equal(readFileSync(join(dest, 'ok'), 'utf8'), 'fine');
  });
});

// ---------------------------------------------------------------------------
// the connection cut mid-transfer, then resumed

const CUT_SIZE = 2 * 1024 * 1024 + 17;
const CUT_AT = 700 * 1024;

/** The error a cut transfer rejects with: it names the file. */
function assertNamesFile(err: unknown, path: string): true {
  assert.ok(err instanceof Error, `an Error, got ${String(err)}`);
  assert.ok(err.message.includes(path) || (err instanceof SftpError && err.path === path), `the error names ${path}: ${err.message}`);
  return true;
}

test('get cut mid-transfer: rejects naming the file; the old destination is untouched and no partial file is left', { timeout: 60_000 }, async () => {
  await withHostile((n) => (n === 0 ? { dropAfterBytes: CUT_AT } : {}), async (h) => {
    const data = patterned(CUT_SIZE, 21);
    h.tree.writeFile('/big', data);
    const local = localPath('cut-get');
    writeFileSync(local, 'the old contents');
    const sftp = await openSftp(await h.connect());
    await assert.rejects(sftp.get('/big', local), (e) => assertNamesFile(e, '/big'));
    assert.equal(readFileSync(local, 'utf8'), 'the old contents', 'the old destination is untouched');
    assert.deepEqual(localLeftovers(basename(local)), [basename(local)], 'no temporary file is left beside it');
    assert.equal(h.stats.drops, 1);
    // a fresh connection without resume writes the whole file again
    const sftp2 = await openSftp(await h.connect());
    await sftp2.get('/big', local);
    assert.equal(sha256(readFileSync(local)), sha256(data));
  });
});

test('get cut mid-transfer with resume: the partial file keeps only good bytes, and resume completes it exactly', { timeout: 60_000 }, async (t) => {
  await withHostile((n) => (n === 0 ? { dropAfterBytes: CUT_AT, reorder: 4 } : {}), async (h) => {
    const data = patterned(CUT_SIZE, 22);
    h.tree.writeFile('/big', data);
    const local = localPath('cut-get-resume');
    const sftp = await openSftp(await h.connect());
    await assert.rejects(sftp.get('/big', local, { resume: true }));
    const partial = existsSync(local) ? readFileSync(local) : Buffer.alloc(0);
    assert.ok(partial.length < data.length, 'the partial file is shorter');
    assert.ok(partial.equals(data.subarray(0, partial.length)), 'the partial file is a prefix of the source: no hole, no padding');
    t.diagnostic(`partial: ${partial.length} of ${data.length} bytes`);
    const readsBefore = h.stats.reads;
    const sftp2 = await openSftp(await h.connect());
    await sftp2.get('/big', local, { resume: true });
    assert.equal(sha256(readFileSync(local)), sha256(data));
    if (partial.length > 256 * 1024) assert.ok(h.stats.reads - readsBefore < Math.ceil(data.length / 1024), 'resume did not read the whole file again');
  });
});

test('put cut mid-transfer: the old remote destination is untouched, and a partial file left on the server is named in the error', { timeout: 60_000 }, async () => {
  await withHostile((n) => (n === 0 ? { dropAfterBytes: CUT_AT } : {}), async (h) => {
    const data = patterned(CUT_SIZE, 23);
    const local = localPath('cut-put');
    writeFileSync(local, data);
    h.tree.writeFile('/dst', Buffer.from('the old contents'));
    const sftp = await openSftp(await h.connect());
    const err = await sftp.put(local, '/dst').then(
      () => assert.fail('put succeeded over a cut connection'),
      (e: Error) => e,
    );
    assert.equal(h.tree.readFile('/dst')?.toString(), 'the old contents', 'the old destination is untouched');
    // the client could not remove its temporary file: the error must say where it is
    for (const p of h.tree.nodes.keys()) if (p !== '/' && p !== '/dst') assert.ok(err.message.includes(p), `the error names the partial file ${p}: ${err.message}`);
    const sftp2 = await openSftp(await h.connect());
    await sftp2.put(local, '/dst');
    assert.equal(sha256(h.tree.readFile('/dst')!), sha256(data));
  });
});

test('put cut mid-transfer with resume: resume completes the remote file exactly', { timeout: 60_000 }, async (t) => {
  await withHostile((n) => (n === 0 ? { dropAfterBytes: CUT_AT, reorder: 4 } : {}), async (h) => {
    const data = patterned(CUT_SIZE, 24);
    const local = localPath('cut-put-resume');
    writeFileSync(local, data);
    const sftp = await openSftp(await h.connect());
    await assert.rejects(sftp.put(local, '/dst', { resume: true }));
    const partial = h.tree.readFile('/dst') ?? Buffer.alloc(0);
    assert.ok(partial.length < data.length);
    assert.ok(partial.equals(data.subarray(0, partial.length)), 'the partial remote file is a prefix of the source');
    t.diagnostic(`partial: ${partial.length} of ${data.length} bytes`);
    const writesBefore = h.stats.writes;
    const sftp2 = await openSftp(await h.connect());
    await sftp2.put(local, '/dst', { resume: true });
    assert.equal(sha256(h.tree.readFile('/dst')!), sha256(data));
    void writesBefore;
  });
});

// ---------------------------------------------------------------------------
// the library server over the in-memory file system

interface FsServer {
  fs: MemoryFileSystem;
  server: TestServer;
  /** A new connection's SFTP client. */
  sftp(): Promise<SftpClient>;
  close(): Promise<void>;
}

/** A Nacre server whose `sftp` subsystem serves `fs` (anyone logs in). */
async function fsServer(fs: MemoryFileSystem): Promise<FsServer> {
  const server = await startServer({
    authenticate: () => true,
    session: (s) => {
      s.onSubsystem = sftpSubsystem({ fileSystem: fs });
    },
  });
  return {
    fs,
    server,
    sftp: async () => openSftp(await server.connect({ password: 'x' })),
    close: () => server.close(),
  };
}

async function withFsServer(fs: MemoryFileSystem, fn: (s: FsServer) => Promise<void>): Promise<void> {
  const s = await fsServer(fs);
  try {
    await fn(s);
  } finally {
    await s.close();
  }
}

/** Names in a directory of the in-memory file system, `.` and `..` left out. */
async function namesIn(fs: MemoryFileSystem, path: string): Promise<string[]> {
  const d = await fs.opendir(path);
  const out: string[] = [];
  for (let batch = await d.read(); batch !== null; batch = await d.read()) out.push(...batch.map((e) => e.name).filter((n) => n !== '.' && n !== '..'));
  await d.close();
  return out.sort();
}

/** The error is an SftpError with this status, naming `path`. */
function isStatus(code: number, path: string) {
  return (e: unknown): true => {
    assert.ok(e instanceof SftpError, `an SftpError, got ${String(e)}`);
    assert.equal(e.code, code, `status ${code}, got ${e.code} (${e.message})`);
    assert.ok(e.message.includes(path), `the message names ${path}: ${e.message}`);
    return true;
  };
}

test('permission denied: get of an unreadable file and put into an unwritable directory name the file and the status, leave nothing behind', { timeout: 30_000 }, async () => {
  const fs = new MemoryFileSystem({ uid: 1000, gids: [1000], now: Date.now, startDirectory: '/home/u' });
  fs.writeFile('/secret', patterned(1000), { mode: 0o600 });
  fs.mkdirs('/locked', { mode: 0o755 });
  await withFsServer(fs, async (s) => {
    const sftp = await s.sftp();
    const local = localPath('denied');
    await assert.rejects(sftp.get('/secret', local), isStatus(FX.PERMISSION_DENIED, '/secret'));
    assert.equal(existsSync(local), false, 'no local file for a refused download');
    assert.deepEqual(localLeftovers(local.slice(dir.length + 1)), []);
    const src = localPath('denied-src');
    writeFileSync(src, patterned(70_000));
    await assert.rejects(sftp.put(src, '/locked/file'), (e) => {
      assert.ok(e instanceof SftpError && e.code === FX.PERMISSION_DENIED, String(e));
      assert.ok(e.message.includes('/locked/'), e.message);
      return true;
    });
    assert.deepEqual(await namesIn(fs, '/locked'), []);
    await assert.rejects(sftp.stat('/secret/x'), (e) => e instanceof SftpError);
  });
});

test('missing files: get of a missing remote file and put of a missing local one fail naming the file, creating nothing', { timeout: 30_000 }, async () => {
  const fs = new MemoryFileSystem({ now: Date.now });
  fs.mkdirs('/d');
  await withFsServer(fs, async (s) => {
    const sftp = await s.sftp();
    const local = localPath('missing');
    await assert.rejects(sftp.get('/d/nope', local), isStatus(FX.NO_SUCH_FILE, '/d/nope'));
    assert.equal(existsSync(local), false);
    assert.deepEqual(localLeftovers(local.slice(dir.length + 1)), []);
    const missingLocal = join(dir, 'no-such-local-file');
    await assert.rejects(sftp.put(missingLocal, '/d/up'), (e) => e instanceof Error && e.message.includes(missingLocal));
    assert.deepEqual(await namesIn(fs, '/d'), []);
    await assert.rejects(sftp.get('/no/such/dir/file', localPath('m2')), isStatus(FX.NO_SUCH_FILE, '/no/such/dir/file'));
    assert.equal(await sftp.exists('/d/nope'), false);
  });
});

test('a full disk: put fails naming the file and the status, no temporary file is left, the space is given back', { timeout: 30_000 }, async () => {
  const fs = new MemoryFileSystem({ now: Date.now, capacity: 1024 * 1024 });
  fs.mkdirs('/up');
  fs.writeFile('/up/keep', patterned(1000));
  const before = fs.used;
  await withFsServer(fs, async (s) => {
    const sftp = await s.sftp();
    const src = localPath('full-src');
    writeFileSync(src, patterned(3 * 1024 * 1024));
    await assert.rejects(sftp.put(src, '/up/big'), (e) => {
      assert.ok(e instanceof SftpError, String(e));
      assert.equal(e.code, FX.FAILURE);
      assert.ok(e.message.includes('/up/big') || (e.path ?? '').includes('/up/'), `names the file: ${e.message}`);
      assert.match(e.message, /space|ENOSPC/i, 'says the disk is full');
      return true;
    });
    assert.deepEqual(await namesIn(fs, '/up'), ['keep'], 'no partial or temporary file is left');
    assert.equal(fs.used, before, 'the space is given back');
    // a file that fits still goes
    writeFileSync(src, patterned(100_000));
    await sftp.put(src, '/up/small');
    assert.equal(sha256(fs.readFile('/up/small')), sha256(patterned(100_000)));
  });
});

test('a full local disk (/dev/full) fails a get at once, naming the file and the error', { timeout: 30_000, skip: existsSync('/dev/full') ? false : 'no /dev/full' }, async () => {
  const fs = new MemoryFileSystem({ now: Date.now });
  fs.writeFile('/src', patterned(3 * 1024 * 1024, 8));
  await withFsServer(fs, async (s) => {
    const sftp = await s.sftp();
    // resume writes in place (no temporary file beside /dev/full)
    await assert.rejects(sftp.get('/src', '/dev/full', { resume: true }), (e) => {
      assert.ok(e instanceof Error);
      assert.match(e.message, /ENOSPC|space/i);
      assert.ok(e.message.includes('/src') || e.message.includes('/dev/full'), `names the file: ${e.message}`);
      return true;
    });
  });
});

// ---------------------------------------------------------------------------
// a client that floods the server

const FLOOD_FILE = 1024 * 1024;
/**
 * Generous: twice what a server holds at its outstanding-request cap (128
 * READs of 255 KiB) with the channel's buffers; a server that answers every
 * request it has received, whether or not its output is backed up, holds
 * hundreds of MiB here.
 */
const MEMORY_BOUND = 64 * 1024 * 1024;

test('a client flooding READs without reading replies: the server stops reading, memory stays bounded, every request is answered once, other sessions work', { timeout: 120_000 }, async (t) => {
  const fs = new MemoryFileSystem({ now: Date.now, capacity: Infinity });
  const content = patterned(FLOOD_FILE, 5);
  fs.writeFile('/big', content);
  await withFsServer(fs, async (s) => {
    const c = await s.server.connect({ password: 'x' });
    const raw = await rawSftp(c);
    raw.send({ type: 'open', id: 1, path: '/big', pflags: FXF.READ, attrs: {} });
    const opened = await raw.next();
    assert.equal(opened?.type, 'handle', JSON.stringify(opened));
    const handle = (opened as { handle: Uint8Array }).handle;
    const base = liveBytes();
    const count = 400;
    const length = DEFAULT_MAX_READ;
    // 400 READs of 255 KiB: 100 MiB of replies nobody reads, sent as a few
    // channel packets (each holds a thousand READs)
    for (let i = 0; i < count; i++) raw.send({ type: 'read', id: 1000 + i, handle, offset: (i * length) % FLOOD_FILE, length });
    const t0 = Date.now();
    await settled(() => raw.unsent + raw.unread * 7, 500, 20_000);
    const held = liveBytes() - base;
    t.diagnostic(`held ${(held / 1048576).toFixed(1)} MiB after ${Date.now() - t0} ms`);
    // another connection, and another session on the flooding one, still work
    const other = await s.sftp();
    assert.equal((await other.stat('/big')).size, FLOOD_FILE);
    const again = await openSftp(c);
    assert.equal((await again.stat('/big')).size, FLOOD_FILE);
    // now read: every request gets exactly one reply, with the right bytes
    const seen = new Set<number>();
    for (let i = 0; i < count; i++) {
      const r = await raw.next(30_000);
      assert.ok(r !== null, `the channel ended after ${i} replies`);
      if (r.type !== 'data') assert.fail(`reply ${r.id} is ${r.type}: ${JSON.stringify(r)}`);
      assert.ok(!seen.has(r.id), `a second reply to ${r.id}`);
      seen.add(r.id);
      const off = ((r.id - 1000) * length) % FLOOD_FILE;
      const d = (r as { data: Uint8Array }).data;
      if (i % 997 === 0) assert.ok(Buffer.from(d).equals(content.subarray(off, off + d.length)), `reply ${r.id}'s bytes`);
    }
    assert.equal(seen.size, count);
    t.diagnostic(`all replies read after ${Date.now() - t0} ms`);
    raw.close();
    // last, so that the checks above run whatever this finds
    assert.ok(held < MEMORY_BOUND, `memory grew by ${(held / 1048576).toFixed(1)} MiB while the client read nothing`);
  });
});

test('a client flooding WRITEs as fast as the window allows: memory stays bounded and the file is right', { timeout: 120_000 }, async (t) => {
  const fs = new MemoryFileSystem({ now: Date.now, capacity: Infinity });
  await withFsServer(fs, async (s) => {
    const c = await s.server.connect({ password: 'x' });
    const raw = await rawSftp(c);
    raw.send({ type: 'open', id: 1, path: '/w', pflags: FXF.WRITE | FXF.CREAT | FXF.TRUNC, attrs: {} });
    const handle = ((await raw.next()) as { handle: Uint8Array }).handle;
    const base = liveBytes();
    const length = 32 * 1024;
    const body = patterned(FLOOD_FILE, 6);
    let sent = 0;
    let stalled = false;
    // 2000 WRITEs of 32 KiB (62 MiB) to one handle, each sent as soon as
    // the channel takes it, replies not read (their 28 bytes each fit in
    // the window, so the server need not stop: it must not hold the data)
    while (sent < 2000 && !stalled) {
      const off = (sent * length) % FLOOD_FILE;
      raw.sendRaw(Buffer.concat([writeRequestHeader(10 + sent, handle, off, length), body.subarray(off, off + length)]));
      sent++;
      if (raw.channel.writableNeedDrain) {
        stalled = !(await Promise.race([new Promise<boolean>((r) => raw.channel.once('drain', () => r(true))), new Promise<boolean>((r) => setTimeout(() => r(false), 1000))]));
      }
    }
    await settled(() => raw.unsent + raw.unread, 300, 20_000);
    const held = liveBytes() - base;
    t.diagnostic(`held ${(held / 1048576).toFixed(1)} MiB after ${sent} WRITEs`);
    assert.ok(held < MEMORY_BOUND, `memory grew by ${(held / 1048576).toFixed(1)} MiB`);
    let oks = 0;
    for (let i = 0; i < sent; i++) {
      const r = await raw.next(30_000);
      assert.ok(r !== null, `the channel ended after ${i} replies`);
      assert.equal(r.type, 'status');
      if ((r as { code: number }).code === FX.OK) oks++;
    }
    assert.equal(oks, sent, 'every WRITE succeeded');
    raw.send({ type: 'close', id: 2, handle });
    assert.equal((await raw.next())?.type, 'status');
    assert.equal(sha256(fs.readFile('/w')), sha256(body));
    raw.close();
  });
});

test("a client flooding OPENs: the server's handle cap holds, the rest fail cleanly, and closing frees them", { timeout: 60_000 }, async () => {
  const fs = new MemoryFileSystem({ now: Date.now });
  fs.writeFile('/f', 'x');
  await withFsServer(fs, async (s) => {
    const c = await s.server.connect({ password: 'x' });
    const raw = await rawSftp(c);
    const count = 5000;
    for (let i = 0; i < count; i++) raw.send({ type: 'open', id: i, path: '/f', pflags: FXF.READ, attrs: {} });
    const handles: Uint8Array[] = [];
    let refused = 0;
    for (let i = 0; i < count; i++) {
      const r = await raw.next(30_000);
      assert.ok(r !== null, `the channel ended after ${i} replies`);
      if (r.type === 'handle') handles.push(r.handle);
      else {
        assert.equal(r.type, 'status');
        assert.notEqual((r as { code: number }).code, FX.OK);
        refused++;
      }
    }
    assert.ok(refused > 0, `the server opened all ${count} handles: no cap`);
    assert.ok(handles.length > 0 && handles.length < count);
    for (const [i, h] of handles.entries()) raw.send({ type: 'close', id: 100_000 + i, handle: h });
    for (let i = 0; i < handles.length; i++) assert.equal(((await raw.next()) as { code: number }).code, FX.OK);
    raw.send({ type: 'open', id: 7, path: '/f', pflags: FXF.READ, attrs: {} });
    assert.equal((await raw.next())?.type, 'handle', 'a handle can be opened again once others closed');
    raw.close();
  });
});

test('a malformed packet (a length past the limit) closes that session only; the server goes on', { timeout: 30_000 }, async () => {
  const fs = new MemoryFileSystem({ now: Date.now });
  fs.writeFile('/f', 'x');
  await withFsServer(fs, async (s) => {
    const c = await s.server.connect({ password: 'x' });
    const raw = await rawSftp(c);
    raw.sendRaw(Buffer.from([0x7f, 0xff, 0xff, 0xff, FXP.READ]));
    assert.equal(await raw.next(10_000), null, 'the session ended');
    const sftp = await openSftp(c);
    assert.equal((await sftp.stat('/f')).size, 1);
  });
});
