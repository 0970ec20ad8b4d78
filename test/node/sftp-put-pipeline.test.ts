// putFile's requests in order against a scripted server: the destination's
// LSTAT and the temporary file's OPEN go out together, FSETSTAT and CLOSE go
// right behind the last WRITE (before its answer), and the RENAME only after
// every answer was OK. A failed WRITE leaves the destination alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { putFile } from '../../src/client/sftp/transfer.js';
import type { SftpOps } from '../../src/client/sftp/ops.js';
import type { SftpHandle } from '../../src/client/sftp/api.js';
import type { FileAttributes } from '../../src/sftp/attrs.js';
import { FX } from '../../src/sftp/constants.js';
import { SftpError } from '../../src/sftp/errors.js';
import { fakeCtx } from './sftp-fake-ops.js';

interface Script {
  /** What LSTAT (and STAT) of the destination answer; null: no such file. */
  lstat?: FileAttributes | null;
  stat?: FileAttributes | null;
  /** The WRITE at this offset fails. */
  failWriteAt?: number;
}

/** A server answering every request on a later turn, logging each request as it is sent and each answer as it is given. */
function scriptedServer(s: Script = {}) {
  const log: string[] = [];
  const stats = { inFlight: 0, maxInFlight: 0 };
  const files = new Map<string, Buffer>();
  const handles = new Map<number, string>();
  let nextHandle = 1;
  const later = <T>(what: string, fn: () => T): Promise<T> =>
    new Promise((resolve, reject) =>
      setImmediate(() => {
        log.push(`answer ${what}`);
        try {
          resolve(fn());
        } catch (err) {
          reject(err);
        }
      }),
    );
  const pathOf = (h: SftpHandle): string => handles.get(h.handle[0]!)!;
  const openPath = (path: string): SftpHandle => {
    const n = nextHandle++;
    handles.set(n, path);
    if (!files.has(path)) files.set(path, Buffer.alloc(0));
    return { handle: new Uint8Array([n]), path };
  };
  const attrsOr = (a: FileAttributes | null | undefined, op: string, path: string): FileAttributes => {
    if (a === null || a === undefined) throw new SftpError(FX.NO_SUCH_FILE, 'No such file', op, path);
    return a;
  };
  const ops = {
    maxRead: 65536,
    maxWrite: 65536,
    has: (name: string) => name === 'posix-rename@openssh.com',
    open(path: string, flags: string): Promise<SftpHandle> {
      log.push(`open ${flags} ${path.includes('nacre-part') ? 'temp' : path}`);
      return later('open', () => openPath(path));
    },
    openWith(path: string): Promise<SftpHandle> {
      log.push(`openWith ${path}`);
      return later('openWith', () => openPath(path));
    },
    lstat(path: string): Promise<FileAttributes> {
      log.push('lstat');
      return later('lstat', () => attrsOr(s.lstat, 'lstat', path));
    },
    probe(path: string, follow: boolean): Promise<FileAttributes | number> {
      log.push(follow ? 'stat' : 'lstat');
      const a = follow ? s.stat : s.lstat;
      return later(follow ? 'stat' : 'lstat', () => a ?? FX.NO_SUCH_FILE);
    },
    stat(path: string): Promise<FileAttributes> {
      log.push('stat');
      return later('stat', () => attrsOr(s.stat, 'stat', path));
    },
    writeFrom(h: SftpHandle, offset: number, data: Uint8Array, done: (err?: Error) => void): void {
      log.push(`write ${offset}`);
      const copy = Buffer.from(data);
      stats.inFlight += data.length;
      stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight);
      setImmediate(() => {
        stats.inFlight -= data.length;
        log.push(`answer write ${offset}`);
        if (offset === s.failWriteAt) return done(new SftpError(FX.FAILURE, 'No space left on device', 'write', h.path));
        const path = pathOf(h);
        const old = files.get(path)!;
        const out = Buffer.alloc(Math.max(old.length, offset + copy.length));
        old.copy(out);
        copy.copy(out, offset);
        files.set(path, out);
        done();
      });
    },
    fsetstat(): Promise<void> {
      log.push('fsetstat');
      return later('fsetstat', () => undefined);
    },
    close(h: SftpHandle): Promise<void> {
      log.push('close');
      return later('close', () => void handles.delete(h.handle[0]!));
    },
    rename(from: string, to: string): Promise<void> {
      log.push('rename');
      return later('rename', () => {
        files.set(to, files.get(from)!);
        files.delete(from);
      });
    },
    unlink(path: string): Promise<void> {
      log.push(`unlink ${path.includes('nacre-part') ? 'temp' : path}`);
      return later('unlink', () => void files.delete(path));
    },
  };
  return { ops: ops as unknown as SftpOps, log, files, handles, stats };
}

function localFile(data: Uint8Array): { path: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'sftp-put-pipeline-'));
  const path = join(dir, 'src');
  writeFileSync(path, data);
  return { path, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

test('put: LSTAT and the temporary OPEN together, FSETSTAT and CLOSE before the last WRITE is answered, RENAME after', async () => {
  const data = randomBytes(3 * 1024 * 1024 + 5);
  const f = localFile(data);
  const srv = scriptedServer({ lstat: null });
  try {
    await putFile(srv.ops, f.path, '/dst', { ...fakeCtx(), o: { preserve: true } }, true);
    assert.deepEqual(srv.files.get('/dst'), data);
    assert.equal(srv.files.size, 1, 'the temporary file is renamed, nothing else is left');
    assert.equal(srv.handles.size, 0, 'the handle is closed');
    const { log } = srv;
    // Both asked before either is answered.
    assert.deepEqual(log.slice(0, 2).sort(), ['lstat', 'open wx temp']);
    const lastWrite = log.lastIndexOf(`write ${3 * 1024 * 1024}`);
    assert.ok(lastWrite > 0);
    assert.ok(log.indexOf('fsetstat') > lastWrite && log.indexOf('close') > log.indexOf('fsetstat'), log.join(', '));
    assert.ok(log.indexOf('close') < log.indexOf(`answer write ${3 * 1024 * 1024}`), 'CLOSE goes before the last WRITE is answered');
    assert.ok(log.indexOf('rename') > log.indexOf('answer close'), 'RENAME only after CLOSE is answered');
    for (let i = 0; i < log.length; i++) if (log[i]!.startsWith('answer write')) assert.ok(i < log.indexOf('rename'));
  } finally {
    f.cleanup();
  }
});

test('put: a WRITE that fails after CLOSE was sent renames nothing and removes the temporary file', async () => {
  const data = randomBytes(300 * 1024);
  const f = localFile(data);
  const srv = scriptedServer({ lstat: { mode: 0o100644, size: 3 }, failWriteAt: 4 * 65536 });
  try {
    await assert.rejects(putFile(srv.ops, f.path, '/dst', fakeCtx(), true), (e: unknown) => e instanceof SftpError && e.code === FX.FAILURE && /No space left/.test(e.message));
    assert.ok(srv.log.includes('close'));
    assert.ok(!srv.log.includes('rename'));
    assert.ok(srv.log.includes('unlink temp'));
    assert.deepEqual([...srv.files.keys()], [], 'the temporary file is gone and /dst was never made');
    assert.equal(srv.handles.size, 0);
  } finally {
    f.cleanup();
  }
});

test('put through a symbolic link: the temporary file opened alongside the LSTAT is closed and removed, the target written in place', async () => {
  const data = randomBytes(70 * 1024);
  const f = localFile(data);
  const srv = scriptedServer({ lstat: { mode: 0o120777, size: 6 }, stat: { mode: 0o100644, size: 100 } });
  try {
    await putFile(srv.ops, f.path, '/link', fakeCtx(), true);
    assert.deepEqual(srv.files.get('/link'), data);
    assert.deepEqual([...srv.files.keys()], ['/link']);
    assert.ok(srv.log.includes('unlink temp'));
    assert.ok(srv.log.includes('openWith /link'));
    assert.ok(!srv.log.includes('rename'));
    assert.equal(srv.handles.size, 0);
  } finally {
    f.cleanup();
  }
});

test('put of a FIFO that took a listed regular file\'s name waits for its writer without holding up the event loop', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sftp-put-fifo-'));
  const fifo = join(dir, 'fifo');
  try {
    execFileSync('mkfifo', [fifo]);
  } catch {
    t.skip('mkfifo is not available');
    rmSync(dir, { recursive: true, force: true });
    return;
  }
  const srv = scriptedServer({ lstat: null });
  try {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const put = putFile(srv.ops, fifo, '/dst', fakeCtx(), true);
    await new Promise((r) => setTimeout(r, 100));
    assert.ok(ticks >= 5, `the event loop ran while the FIFO had no writer (${ticks} ticks)`);
    const writer = spawn('/bin/sh', ['-c', `printf 'through the fifo' > "${fifo}"`]);
    const exited = new Promise((r) => writer.once('close', r));
    await put;
    clearInterval(timer);
    await exited;
    assert.equal(srv.files.get('/dst')?.toString(), 'through the fifo');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('several files put at once share one budget of bytes in flight', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sftp-put-budget-'));
  const srv = scriptedServer({ lstat: null });
  try {
    const data = [0, 1, 2, 3].map(() => randomBytes(3 * 1024 * 1024));
    data.forEach((d, i) => writeFileSync(join(dir, `f${i}`), d));
    const ctx = fakeCtx(); // 16 requests of 64 KiB: 1 MiB
    await Promise.all(data.map((_, i) => putFile(srv.ops, join(dir, `f${i}`), `/f${i}`, ctx, true)));
    data.forEach((d, i) => assert.deepEqual(srv.files.get(`/f${i}`), d));
    // One file's 1 MiB, plus at most a block (4 requests) for each file that had nothing in flight.
    assert.ok(srv.stats.maxInFlight <= 1024 * 1024 + 4 * 4 * 65536, `${srv.stats.maxInFlight} bytes in flight at most`);
    assert.ok(srv.stats.maxInFlight >= 512 * 1024);
    assert.equal(ctx.sending?.used, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('put into a directory the transfer made: no LSTAT, still a temporary name renamed into place', async () => {
  const data = randomBytes(5000);
  const f = localFile(data);
  const srv = scriptedServer({ lstat: { mode: 0o120777, size: 6 } }); // never asked
  try {
    await putFile(srv.ops, f.path, '/new/dst', fakeCtx(), true, true);
    assert.deepEqual(srv.files.get('/new/dst'), data);
    assert.ok(!srv.log.includes('lstat') && !srv.log.includes('stat'));
    assert.deepEqual(srv.log.filter((l) => !l.startsWith('answer')), ['open wx temp', 'write 0', 'close', 'rename']);
  } finally {
    f.cleanup();
  }
});
