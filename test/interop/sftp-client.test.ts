// The library's SFTP client against OpenSSH's sshd, served both ways sshd
// can: the sftp-server program and internal-sftp. As root, the sessions log
// in as a throwaway user, so permissions are checked as for anyone (root
// passes every mode check).
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable, Writable } from 'node:stream';
import { findOpenSsh, startSshd, keygen, tempDir, type Sshd } from './openssh.js';
import { connect, type Client } from '../../src/client/client.js';
import type { SftpClient } from '../../src/client/sftp/api.js';
import { SftpError } from '../../src/sftp/errors.js';
import { FX } from '../../src/sftp/constants.js';
import { isDirectory, isRegularFile, isSymbolicLink } from '../../src/sftp/attrs.js';
import { AbortError } from '../../src/errors.js';

const openssh = findOpenSsh();
const root = process.getuid?.() === 0;
const sftpServer = '/usr/lib/openssh/sftp-server';
const skip = !openssh ? 'OpenSSH not installed (run scripts/install-test-peers.sh)' : false;
/** A throwaway login when root (so modes apply), else whoever runs the tests. */
const login = root ? `nsftpc${randomBytes(3).toString('hex')}` : userInfo().username;

let key = '';
let keyLine = '';
let work = '';
const servers: { name: string; sshd?: Sshd }[] = [{ name: 'sftp-server' }, { name: 'internal-sftp' }];

function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

before(async () => {
  if (skip) return;
  if (root) spawnSync('useradd', ['-M', '-d', '/nonexistent', '-p', '*', '-s', '/bin/sh', login], { stdio: 'ignore' });
  const keys = tempDir('sftpc-keys');
  const k = keygen(openssh!, keys, 'ed25519', 'id');
  key = readFileSync(k.privatePath, 'utf8');
  keyLine = k.publicLine;
  rmSync(keys, { recursive: true, force: true });
  work = tempDir('sftpc-work');
  if (root) chownLogin(work);
  for (const s of servers) {
    const subsystem = s.name === 'internal-sftp' ? 'internal-sftp' : existsSync(sftpServer) ? sftpServer : 'internal-sftp';
    s.sshd = await startSshd(openssh!, ['PermitRootLogin yes', 'MaxSessions 30', `Subsystem sftp ${subsystem}`], { hostKeyTypes: ['ed25519'], authorizedKeys: keyLine + '\n' });
    // sshd reads authorized_keys as the user logging in.
    chmodSync(s.sshd.dir, 0o755);
    chmodSync(join(s.sshd.dir, 'authorized_keys'), 0o644);
  }
});

after(async () => {
  for (const s of servers) await s.sshd?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
  if (root) spawnSync('userdel', ['-f', login], { stdio: 'ignore' });
});

function chownLogin(path: string): void {
  const id = spawnSync('id', ['-u', login], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', login], { encoding: 'utf8' });
  chownSync(path, Number(id.stdout.trim()), Number(gid.stdout.trim()));
}

async function session<T>(s: Sshd, fn: (sftp: SftpClient, c: Client) => Promise<T>): Promise<T> {
  const hostKey = Buffer.from(s.hostKeys.ed25519!.split(' ')[1]!, 'base64');
  const c = await connect({ host: '127.0.0.1', port: s.port, username: login, privateKey: key, verifyHostKey: (info) => hostKey.equals(Buffer.from(info.key)) });
  try {
    const sftp = await c.sftp();
    try {
      return await fn(sftp, c);
    } finally {
      await sftp.end();
    }
  } finally {
    await c.close();
  }
}

/** Writes a local file the login owns. */
function file(path: string, data: string | Uint8Array): void {
  writeFileSync(path, data);
  if (root) chownLogin(path);
}

/** A fresh directory for one test, owned by the login. */
function dir(name: string): string {
  const d = join(work, name);
  mkdirSync(d, { recursive: true });
  if (root) chownLogin(d);
  return d;
}

for (const server of servers) {
  describe(`sftp client against sshd with ${server.name}`, { skip }, () => {
    const s = () => server.sshd!;
    const tag = server.name;

    test('version, extensions and limits', async () => {
      await session(s(), async (sftp) => {
        assert.equal(sftp.version, 3);
        assert.ok(sftp.extensions.has('posix-rename@openssh.com'));
        assert.ok(sftp.extensions.has('limits@openssh.com'));
        assert.ok(sftp.limits.maxReadLength >= 32 * 1024);
        assert.ok(sftp.limits.maxPacketLength >= sftp.limits.maxReadLength);
      });
    });

    test('open, write, read, fstat, fsetstat, fsync, close', async () => {
      const d = dir(`${tag}-basic`);
      await session(s(), async (sftp) => {
        const p = join(d, 'a.bin');
        const data = randomBytes(100_000);
        const h = await sftp.open(p, 'w', { mode: 0o640 });
        await sftp.write(h, 0, data);
        await sftp.fsync(h);
        await sftp.fsetstat(h, { atime: 1_000_000, mtime: 2_000_000 });
        const a = await sftp.fstat(h);
        assert.equal(a.size, data.length);
        assert.equal(a.mtime, 2_000_000);
        await sftp.close(h);
        assert.equal(sha256(readFileSync(p)), sha256(data));
        const r = await sftp.open(p, 'r');
        const part = await sftp.read(r, 10, 1000);
        assert.deepEqual(Buffer.from(part), data.subarray(10, 1010));
        assert.equal((await sftp.read(r, data.length, 10)).length, 0, 'EOF: an empty read');
        assert.equal((await sftp.read(r, data.length + 1000, 10)).length, 0);
        await sftp.close(r);
        await assert.rejects(sftp.close(r), (e: unknown) => e instanceof SftpError && e.operation === 'close');
      });
    });

    test('directories: mkdir, opendir/readdir, list, rmdir, stat/lstat, setstat, exists', async () => {
      const d = dir(`${tag}-dirs`);
      await session(s(), async (sftp) => {
        await sftp.mkdir(join(d, 'sub'), { mode: 0o750 });
        for (let i = 0; i < 300; i++) writeFileSync(join(d, 'sub', `f${i}`), String(i));
        const names = (await sftp.list(join(d, 'sub'))).map((e) => e.filename).sort();
        assert.equal(names.length, 300);
        assert.ok(!names.includes('.') && !names.includes('..'));
        const h = await sftp.opendir(join(d, 'sub'));
        let seen = 0;
        for (let b = await sftp.readdir(h); b !== null; b = await sftp.readdir(h)) seen += b.length;
        assert.equal(seen, 302, 'readdir includes . and ..');
        await sftp.close(h);
        const st = await sftp.stat(join(d, 'sub'));
        assert.ok(isDirectory(st));
        assert.equal(st.mode! & 0o777, 0o750 & ~0o022 & 0o777);
        await sftp.setstat(join(d, 'sub'), { mode: 0o700 });
        assert.equal(statSync(join(d, 'sub')).mode & 0o777, 0o700);
        assert.equal(await sftp.exists(join(d, 'sub', 'f1')), true);
        assert.equal(await sftp.exists(join(d, 'sub', 'nope')), false);
        await assert.rejects(sftp.rmdir(join(d, 'sub')), SftpError);
        for (let i = 0; i < 300; i++) await sftp.unlink(join(d, 'sub', `f${i}`));
        await sftp.rmdir(join(d, 'sub'));
        assert.equal(existsSync(join(d, 'sub')), false);
      });
    });

    test('rename (posix-rename replaces), symlink, readlink, lstat, lsetstat, hardlink, realpath, expandPath, homeDirectory', async () => {
      const d = dir(`${tag}-names`);
      await session(s(), async (sftp) => {
        file(join(d, 'a'), 'A');
        file(join(d, 'b'), 'B');
        await sftp.rename(join(d, 'a'), join(d, 'b'));
        assert.equal(readFileSync(join(d, 'b'), 'utf8'), 'A');
        assert.equal(existsSync(join(d, 'a')), false);
        await sftp.symlink('b', join(d, 'link'));
        assert.equal(readlinkSync(join(d, 'link')), 'b');
        assert.equal(await sftp.readlink(join(d, 'link')), 'b');
        assert.ok(isSymbolicLink(await sftp.lstat(join(d, 'link'))));
        assert.ok(isRegularFile(await sftp.stat(join(d, 'link'))));
        await sftp.lsetstat(join(d, 'link'), { atime: 1_500_000_000, mtime: 1_500_000_000 });
        assert.equal(lstatSync(join(d, 'link')).mtimeMs, 1_500_000_000_000);
        await sftp.hardlink(join(d, 'b'), join(d, 'hard'));
        assert.equal(statSync(join(d, 'hard')).ino, statSync(join(d, 'b')).ino);
        assert.equal(await sftp.realpath(join(d, '.', 'x', '..', 'b')), join(d, 'b'));
        assert.equal(await sftp.expandPath(d), d);
        const home = await sftp.homeDirectory();
        assert.equal(typeof home, 'string');
      });
    });

    test('statvfs, copyData, namesById', async () => {
      const d = dir(`${tag}-ext`);
      await session(s(), async (sftp) => {
        const v = await sftp.statvfs(d);
        assert.ok(v.bsize > 0 && v.blocks > 0);
        const data = randomBytes(70_000);
        file(join(d, 'src'), data);
        const from = await sftp.open(join(d, 'src'), 'r');
        const to = await sftp.open(join(d, 'dst'), 'w');
        await sftp.copyData(from, 1000, 50_000, to, 0);
        await sftp.close(from);
        await sftp.close(to);
        assert.deepEqual(readFileSync(join(d, 'dst')), data.subarray(1000, 51_000));
        const names = await sftp.namesById([0], [0]);
        assert.deepEqual(names, { users: ['root'], groups: ['root'] });
      });
    });

    test('errors name the operation, the path and the status', async () => {
      const d = dir(`${tag}-errors`);
      await session(s(), async (sftp) => {
        const missing = join(d, 'missing');
        await assert.rejects(sftp.open(missing, 'r'), (e: unknown) => e instanceof SftpError && e.code === FX.NO_SUCH_FILE && e.notFound && e.path === missing && e.message.includes('open') && e.message.includes(missing));
        await assert.rejects(sftp.stat(missing), (e: unknown) => e instanceof SftpError && e.notFound);
        if (root) {
          writeFileSync(join(d, 'secret'), 'x');
          chmodSync(join(d, 'secret'), 0o600); // owned by root; the login may not read it
          await assert.rejects(sftp.open(join(d, 'secret'), 'r'), (e: unknown) => e instanceof SftpError && e.permissionDenied);
        }
        await assert.rejects(sftp.open(join(d, 'x'), 'wx+').then((h) => sftp.close(h)).then(() => sftp.open(join(d, 'x'), 'wx')), (e: unknown) => e instanceof SftpError && e.code === FX.FAILURE);
      });
    });

    test('createReadStream and createWriteStream keep many requests in flight', async () => {
      const d = dir(`${tag}-streams`);
      await session(s(), async (sftp) => {
        const data = randomBytes(3 * 1024 * 1024 + 17);
        await pipeline(Readable.from([data.subarray(0, 1), data.subarray(1, 100_000), data.subarray(100_000)]), sftp.createWriteStream(join(d, 'up'), { mode: 0o600 }));
        assert.equal(sha256(readFileSync(join(d, 'up'))), sha256(data));
        assert.equal(statSync(join(d, 'up')).mode & 0o777, 0o600);
        const chunks: Buffer[] = [];
        await pipeline(sftp.createReadStream(join(d, 'up')), new Writable({ write: (c: Buffer, _e, cb) => (chunks.push(c), cb()) }));
        assert.equal(sha256(Buffer.concat(chunks)), sha256(data));
        const part: Buffer[] = [];
        await pipeline(sftp.createReadStream(join(d, 'up'), { start: 5, end: 70_004, chunkSize: 1000 }), new Writable({ write: (c: Buffer, _e, cb) => (part.push(c), cb()) }));
        assert.deepEqual(Buffer.concat(part), data.subarray(5, 70_005));
        await assert.rejects(pipeline(sftp.createReadStream(join(d, 'nope')), new Writable({ write: (_c, _e, cb) => cb() })), (e: unknown) => e instanceof SftpError && e.notFound);
      });
    });

    test('get and put of 0, 1, 32767, 32768, 32769 and 1 MiB + 1 bytes, compared by SHA-256', async () => {
      const d = dir(`${tag}-sizes`);
      await session(s(), async (sftp) => {
        for (const size of [0, 1, 32767, 32768, 32769, 1024 * 1024 + 1]) {
          const data = randomBytes(size);
          file(join(d, `src-${size}`), data);
          await sftp.get(join(d, `src-${size}`), join(d, `got-${size}`));
          assert.equal(sha256(readFileSync(join(d, `got-${size}`))), sha256(data), `get ${size}`);
          await sftp.put(join(d, `src-${size}`), join(d, `put-${size}`));
          assert.equal(sha256(readFileSync(join(d, `put-${size}`))), sha256(data), `put ${size}`);
          // small requests: many in flight, replies of every size
          await sftp.get(join(d, `src-${size}`), join(d, `got-small-${size}`), { chunkSize: 1000, concurrency: 7 });
          assert.equal(sha256(readFileSync(join(d, `got-small-${size}`))), sha256(data), `get ${size} in 1000-byte reads`);
          await sftp.put(join(d, `src-${size}`), join(d, `put-small-${size}`), { chunkSize: 1000, concurrency: 7 });
          assert.equal(sha256(readFileSync(join(d, `put-small-${size}`))), sha256(data), `put ${size} in 1000-byte writes`);
        }
        assert.deepEqual(readdirSync(d).filter((n) => n.includes('nacre-part')), [], 'no temporary files left');
      });
    });

    test('get and put: an existing destination is replaced whole; progress and onFile are reported', async () => {
      const d = dir(`${tag}-replace`);
      await session(s(), async (sftp) => {
        const data = randomBytes(300_000);
        file(join(d, 'src'), data);
        file(join(d, 'dst'), randomBytes(900_000));
        const seen: number[] = [];
        const files: [string, number][] = [];
        await sftp.get(join(d, 'src'), join(d, 'dst'), { onProgress: (p) => seen.push(p.transferred), onFile: (p, n) => files.push([p, n]) });
        assert.deepEqual(readFileSync(join(d, 'dst')), data);
        assert.equal(seen.at(-1), data.length);
        assert.deepEqual(files, [[join(d, 'src'), data.length]]);
        file(join(d, 'rdst'), randomBytes(900_000));
        await sftp.put(join(d, 'src'), join(d, 'rdst'));
        assert.deepEqual(readFileSync(join(d, 'rdst')), data);
      });
    });

    test('preserve keeps modes and times both ways', async () => {
      const d = dir(`${tag}-preserve`);
      await session(s(), async (sftp) => {
        file(join(d, 'src'), 'hello');
        chmodSync(join(d, 'src'), 0o751);
        utimesSync(join(d, 'src'), 1_234_567_890, 1_300_000_000);
        await sftp.get(join(d, 'src'), join(d, 'got'), { preserve: true });
        assert.equal(statSync(join(d, 'got')).mode & 0o777, 0o751);
        assert.equal(statSync(join(d, 'got')).mtimeMs, 1_300_000_000_000);
        assert.equal(statSync(join(d, 'got')).atimeMs, 1_234_567_890_000);
        await sftp.put(join(d, 'src'), join(d, 'put'), { preserve: true });
        assert.equal(statSync(join(d, 'put')).mode & 0o777, 0o751);
        assert.equal(statSync(join(d, 'put')).mtimeMs, 1_300_000_000_000);
      });
    });

    test('resume completes a partial file both ways, and refuses a destination longer than the source', async () => {
      const d = dir(`${tag}-resume`);
      await session(s(), async (sftp) => {
        const data = randomBytes(700_001);
        file(join(d, 'src'), data);
        writeFileSync(join(d, 'partial-get'), data.subarray(0, 123_457));
        await sftp.get(join(d, 'src'), join(d, 'partial-get'), { resume: true });
        assert.equal(sha256(readFileSync(join(d, 'partial-get'))), sha256(data));
        file(join(d, 'partial-put'), data.subarray(0, 400_000));
        await sftp.put(join(d, 'src'), join(d, 'partial-put'), { resume: true });
        assert.equal(sha256(readFileSync(join(d, 'partial-put'))), sha256(data));
        // Already whole: nothing to add.
        await sftp.get(join(d, 'src'), join(d, 'partial-get'), { resume: true });
        assert.equal(sha256(readFileSync(join(d, 'partial-get'))), sha256(data));
        writeFileSync(join(d, 'long'), Buffer.concat([data, Buffer.from('x')]));
        await assert.rejects(sftp.get(join(d, 'src'), join(d, 'long'), { resume: true }), (e: unknown) => e instanceof SftpError && /longer/.test(e.message));
        file(join(d, 'rlong'), Buffer.concat([data, Buffer.from('x')]));
        await assert.rejects(sftp.put(join(d, 'src'), join(d, 'rlong'), { resume: true }), (e: unknown) => e instanceof SftpError && /longer/.test(e.message));
        assert.equal(statSync(join(d, 'rlong')).size, data.length + 1, 'left as it was');
      });
    });

    test('abort stops a transfer and leaves no temporary file', async () => {
      const d = dir(`${tag}-abort`);
      await session(s(), async (sftp) => {
        const data = randomBytes(8 * 1024 * 1024);
        file(join(d, 'big'), data);
        for (const way of ['get', 'put'] as const) {
          const ac = new AbortController();
          const run = way === 'get'
            ? sftp.get(join(d, 'big'), join(d, 'out-get'), { signal: ac.signal, bandwidthLimit: 8 * 4 * 1024 * 1024, onProgress: (p) => p.transferred > 1024 * 1024 && ac.abort() })
            : sftp.put(join(d, 'big'), join(d, 'out-put'), { signal: ac.signal, bandwidthLimit: 8 * 4 * 1024 * 1024, onProgress: (p) => p.transferred > 1024 * 1024 && ac.abort() });
          await assert.rejects(run, AbortError);
          assert.deepEqual(readdirSync(d).sort(), ['big'], `${way}: nothing left behind`);
        }
        const already = AbortSignal.abort();
        await assert.rejects(sftp.get(join(d, 'big'), join(d, 'x'), { signal: already }), AbortError);
        // The session is still usable after an abort.
        await sftp.get(join(d, 'big'), join(d, 'after'));
        assert.equal(sha256(readFileSync(join(d, 'after'))), sha256(data));
      });
    });

    test('bandwidthLimit paces a transfer', async () => {
      const d = dir(`${tag}-limit`);
      await session(s(), async (sftp) => {
        file(join(d, 'src'), randomBytes(512 * 1024));
        const t0 = Date.now();
        await sftp.get(join(d, 'src'), join(d, 'got'), { bandwidthLimit: 8 * 1024 * 1024, chunkSize: 32 * 1024 });
        const ms = Date.now() - t0;
        // 512 KiB at 1 MiB/s, less the quarter-second burst allowed at the start.
        assert.ok(ms >= 200, `took ${ms} ms`);
      });
    });

    test('failures name the file and the status, and leave no temporary file', async () => {
      const d = dir(`${tag}-fail`);
      await session(s(), async (sftp) => {
        await assert.rejects(sftp.get(join(d, 'missing'), join(d, 'x')), (e: unknown) => e instanceof SftpError && e.notFound && e.operation === 'get' && e.path === join(d, 'missing'));
        await assert.rejects(sftp.put(join(d, 'missing'), join(d, 'x')), (e: unknown) => (e as NodeJS.ErrnoException).code === 'ENOENT');
        if (root) {
          writeFileSync(join(d, 'secret'), 'x');
          chmodSync(join(d, 'secret'), 0o600);
          await assert.rejects(sftp.get(join(d, 'secret'), join(d, 'x')), (e: unknown) => e instanceof SftpError && e.permissionDenied && e.message.includes(join(d, 'secret')));
          const locked = join(d, 'locked');
          mkdirSync(locked, { mode: 0o755 });
          file(join(d, 'mine'), 'data');
          await assert.rejects(sftp.put(join(d, 'mine'), join(locked, 'f')), (e: unknown) => e instanceof SftpError && e.permissionDenied && e.path === join(locked, 'f'));
          assert.deepEqual(readdirSync(locked), []);
        }
        await assert.rejects(sftp.get(d, join(d, 'y')), (e: unknown) => e instanceof SftpError && /directory/.test(e.message));
        assert.deepEqual(readdirSync(d).filter((n) => n.includes('nacre-part')), []);
      });
    });

    test('a connection lost mid-transfer: get leaves no file, put reports its partial upload, and resume completes it', async () => {
      const d = dir(`${tag}-drop`);
      const data = randomBytes(4 * 1024 * 1024);
      file(join(d, 'src'), data);
      const slow = { bandwidthLimit: 8 * 2 * 1024 * 1024, chunkSize: 32 * 1024 };
      await session(s(), async (sftp, c) => {
        const run = sftp.get(join(d, 'src'), join(d, 'got'), { ...slow, onProgress: (p) => p.transferred > 512 * 1024 && void c.close() });
        await assert.rejects(run, (e: unknown) => e instanceof SftpError && e.code === FX.CONNECTION_LOST && e.operation === 'get' && e.path === join(d, 'src'));
      });
      assert.deepEqual(readdirSync(d), ['src'], 'get: nothing left behind, nothing renamed into place');
      let left = '';
      await session(s(), async (sftp, c) => {
        const run = sftp.put(join(d, 'src'), join(d, 'put'), { ...slow, onProgress: (p) => p.transferred > 512 * 1024 && void c.close() });
        await assert.rejects(run, (e: unknown) => {
          assert.ok(e instanceof SftpError && e.code === FX.CONNECTION_LOST && e.operation === 'put' && e.path === join(d, 'put'), String(e));
          left = JSON.parse(/left at (".*")$/.exec(e.message)![1]!) as string;
          return true;
        });
      });
      assert.equal(existsSync(join(d, 'put')), false, 'put: the destination was not created');
      const partial = statSync(left).size;
      assert.ok(partial > 0 && partial < data.length, `partial upload of ${partial} bytes`);
      await session(s(), async (sftp) => {
        await sftp.rename(left, join(d, 'put'));
        await sftp.put(join(d, 'src'), join(d, 'put'), { resume: true });
      });
      assert.equal(sha256(readFileSync(join(d, 'put'))), sha256(data));
    });

    test('recursive get and put: empty directories, odd names, symlinks skipped as sftp does', async () => {
      const d = dir(`${tag}-tree`);
      const odd = ['with space', 'new\nline', `qu'ote"s`, 'ünïcødé ✓', '-dash', '*star?'];
      const src = join(d, 'src');
      mkdirSync(join(src, 'empty'), { recursive: true });
      mkdirSync(join(src, 'a', 'b', 'c'), { recursive: true });
      for (const n of odd) writeFileSync(join(src, 'a', n), `content of ${n}`);
      writeFileSync(join(src, 'a', 'b', 'c', 'deep'), randomBytes(100_000));
      writeFileSync(join(src, 'top'), '');
      symlinkSync('top', join(src, 'link'));
      spawnSync('chown', ['-R', login, src]);
      await session(s(), async (sftp) => {
        const skipped: string[] = [];
        await sftp.get(src, join(d, 'got'), { recursive: true, onSkip: (p) => skipped.push(p) });
        assert.deepEqual(skipped, [join(src, 'link')]);
        await sftp.put(src, join(d, 'put'), { recursive: true });
        for (const copy of ['got', 'put']) {
          const base = join(d, copy);
          assert.deepEqual(readdirSync(base).sort(), ['a', 'empty', 'top']);
          assert.deepEqual(readdirSync(join(base, 'empty')), []);
          for (const n of odd) assert.equal(readFileSync(join(base, 'a', n), 'utf8'), `content of ${n}`);
          assert.deepEqual(readFileSync(join(base, 'a', 'b', 'c', 'deep')), readFileSync(join(src, 'a', 'b', 'c', 'deep')));
        }
        await sftp.get(src, join(d, 'followed'), { recursive: true, followSymlinks: true });
        assert.ok(lstatSync(join(d, 'followed', 'link')).isFile());
        // Into an existing directory: merged, as sftp -r does.
        await sftp.put(src, join(d, 'put'), { recursive: true });
        assert.deepEqual(readdirSync(join(d, 'put')).sort(), ['a', 'empty', 'top']);
      });
    });
  });
}

