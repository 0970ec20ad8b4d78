// MemoryFileSystem: each operation, the errno each failure gives (as the
// kernel would), links and their limits, permissions for a non-root user,
// the capacity, and the fault hooks other tests rely on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryFileSystem, type MemoryFileSystemOptions } from '../../src/sftp/memory-fs.js';
import type { OpenMode } from '../../src/sftp/filesystem.js';
import { S_IFDIR, S_IFLNK, S_IFMT, S_IFREG } from '../../src/sftp/attrs.js';
import { STATVFS_FLAG } from '../../src/sftp/constants.js';

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

function mode(m: Partial<OpenMode>): OpenMode {
  return { read: false, write: false, append: false, create: false, truncate: false, exclusive: false, ...m };
}
const READ = mode({ read: true });
const WRITE_NEW = mode({ write: true, create: true, truncate: true });

async function rejects(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.equal((err as { code?: unknown }).code, code, String(err));
    assert.ok(err instanceof Error);
    assert.match(err.message, new RegExp(`^${code}: `));
    return true;
  });
}

function make(options: MemoryFileSystemOptions = {}): MemoryFileSystem {
  return new MemoryFileSystem({ startDirectory: '/home/u', ...options });
}

async function names(fs: MemoryFileSystem, path: string): Promise<string[]> {
  const d = await fs.opendir(path);
  const out: string[] = [];
  for (let batch = await d.read(); batch !== null; batch = await d.read()) out.push(...batch.map((e) => e.name));
  await d.close();
  return out;
}

test('files: create, write, read, append, truncate, exclusive create', async () => {
  const fs = make();
  const h = await fs.open('a', mode({ read: true, write: true, create: true }), { mode: 0o640 });
  await h.write(0, enc('hello world'));
  await h.write(6, enc('there'));
  assert.equal(dec(await h.read(0, 100)), 'hello there');
  assert.equal(dec(await h.read(6, 3)), 'the');
  assert.equal((await h.read(11, 10)).length, 0, 'empty at the end');
  assert.equal((await h.read(500, 10)).length, 0, 'empty past the end');
  const s = await h.stat();
  assert.equal(s.size, 11);
  assert.equal(s.mode, S_IFREG | 0o640);
  await h.close();
  await rejects(h.read(0, 1), 'EBADF');

  const ap = await fs.open('/home/u/a', mode({ write: true, append: true }), {});
  await ap.write(0, enc('!'));
  await ap.close();
  assert.equal(dec(fs.readFile('/home/u/a')), 'hello there!');

  // A write past the end leaves a hole of zeros.
  const sparse = await fs.open('a', mode({ write: true }), {});
  await sparse.write(14, enc('x'));
  await sparse.close();
  assert.deepEqual([...fs.readFile('/home/u/a').subarray(11)], [33, 0, 0, 120]);

  const t = await fs.open('a', mode({ write: true, truncate: true }), {});
  assert.equal((await t.stat()).size, 0);
  await t.close();
  await rejects(fs.open('a', mode({ write: true, create: true, exclusive: true }), {}), 'EEXIST');
  await rejects(fs.open('missing', READ, {}), 'ENOENT');
  await rejects(fs.open('missing/x', WRITE_NEW, {}), 'ENOENT');
  await rejects(fs.open('a/x', READ, {}), 'ENOTDIR');
  await rejects(fs.open('/home', mode({ write: true }), {}), 'EISDIR');

  const ro = await fs.open('a', READ, {});
  await rejects(ro.write(0, enc('x')), 'EBADF');
  await rejects(ro.setstat({ size: 0 }), 'EINVAL');
  const dirHandle = await fs.open('/home', READ, {});
  await rejects(dirHandle.read(0, 1), 'EISDIR');
});

test('umask applies to created files and directories; the default modes are 0666 and 0777', async () => {
  const fs = make({ umask: 0o027 });
  await (await fs.open('f', WRITE_NEW, {})).close();
  await fs.mkdir('d', {});
  await fs.mkdir('e', { mode: 0o700 });
  assert.equal((await fs.stat('f')).mode, S_IFREG | 0o640);
  assert.equal((await fs.stat('d')).mode, S_IFDIR | 0o750);
  assert.equal((await fs.stat('e')).mode, S_IFDIR | 0o700);
});

test('directories: listings with . and .., batches, nlink, mkdir and rmdir errors', async () => {
  const fs = make({ readdirBatch: 3 });
  for (const n of ['b', 'c', 'd']) await fs.mkdir(n, {});
  fs.writeFile('/home/u/f', 'x');
  assert.deepEqual(await names(fs, '.'), ['.', '..', 'b', 'c', 'd', 'f']);
  assert.deepEqual(await names(fs, '/'), ['.', '..', 'home']);
  const d = await fs.opendir('/home/u');
  const first = await d.read();
  assert.equal(first!.length, 3);
  assert.equal(first![1]!.stats.mode & S_IFMT, S_IFDIR, '.. is the parent, /home');
  await d.close();
  await rejects(d.read(), 'EBADF');

  assert.equal((await fs.stat('.')).nlink, 5, '. and its entry in /home and the .. of three subdirectories');
  await rejects(fs.mkdir('b', {}), 'EEXIST');
  await rejects(fs.mkdir('/', {}), 'EEXIST');
  await rejects(fs.mkdir('x/y', {}), 'ENOENT');
  await fs.mkdir('b/inner/', {});
  await rejects(fs.rmdir('b'), 'ENOTEMPTY');
  await rejects(fs.rmdir('f'), 'ENOTDIR');
  await rejects(fs.rmdir('missing'), 'ENOENT');
  await rejects(fs.rmdir('.'), 'EINVAL');
  await rejects(fs.rmdir('/'), 'EBUSY');
  await rejects(fs.opendir('f'), 'ENOTDIR');
  await rejects(fs.remove('b'), 'EISDIR');
  await fs.rmdir('b/inner');
  await fs.rmdir('b');
  assert.equal((await fs.stat('.')).nlink, 4);
  await rejects(fs.stat('b'), 'ENOENT');
});

test('symbolic links: relative and absolute, dangling, loops, lstat and readlink, trailing slash', async () => {
  const fs = make();
  fs.writeFile('/data/file', 'content');
  await fs.symlink('/data', 'abs');
  await fs.symlink('../../data/file', 'rel');
  await fs.symlink('nowhere', 'dangling');
  await fs.symlink('loop-b', 'loop-a');
  await fs.symlink('loop-a', 'loop-b');
  assert.equal((await fs.stat('abs/file')).size, 7);
  assert.equal((await fs.stat('rel')).size, 7);
  assert.equal((await fs.lstat('rel')).mode, S_IFLNK | 0o777);
  assert.equal((await fs.lstat('rel')).size, '../../data/file'.length);
  assert.equal(await fs.readlink('rel'), '../../data/file');
  await rejects(fs.readlink('abs/file'), 'EINVAL');
  await rejects(fs.stat('dangling'), 'ENOENT');
  await rejects(fs.stat('loop-a'), 'ELOOP');
  await rejects(fs.open('loop-a', READ, {}), 'ELOOP');
  assert.equal((await fs.lstat('loop-a')).mode & S_IFMT, S_IFLNK);
  await rejects(fs.symlink('x', 'rel'), 'EEXIST');
  await rejects(fs.symlink('', 'empty'), 'ENOENT');
  await rejects(fs.stat('rel/'), 'ENOTDIR');
  assert.equal((await fs.stat('abs/')).mode & S_IFMT, S_IFDIR);

  // `..` after a link is the link target's parent, as the kernel walks it.
  await fs.symlink('/data/sub', 'deep');
  await fs.mkdir('/data/sub', {});
  assert.equal(await fs.realpath('deep/..'), '/data');

  // Creating through a dangling link creates its target; exclusive create refuses the link itself.
  await rejects(fs.open('dangling', mode({ write: true, create: true, exclusive: true }), {}), 'EEXIST');
  await (await fs.open('dangling', WRITE_NEW, {})).close();
  assert.equal((await fs.stat('/home/u/nowhere')).size, 0);

  // remove takes the link, not its target.
  await fs.remove('rel');
  assert.equal((await fs.stat('/data/file')).size, 7);

  // 40 links in a chain resolve; 41 do not.
  await fs.symlink('/data/file', 'c0');
  for (let i = 1; i <= 40; i++) await fs.symlink(`c${i - 1}`, `c${i}`);
  assert.equal((await fs.stat('c39')).size, 7);
  await rejects(fs.stat('c40'), 'ELOOP');
});

test('realpath: canonical absolute paths, a missing last component allowed, not a missing directory', async () => {
  const fs = make();
  await fs.mkdir('d', {});
  await fs.symlink('d', 'l');
  assert.equal(await fs.realpath('.'), '/home/u');
  assert.equal(await fs.realpath(''), '/home/u');
  assert.equal(await fs.realpath('/'), '/');
  assert.equal(await fs.realpath('/../..'), '/');
  assert.equal(await fs.realpath('./l/../d/./'), '/home/u/d');
  assert.equal(await fs.realpath('l/new-name'), '/home/u/d/new-name');
  assert.equal(await fs.realpath('//home///u'), '/home/u');
  await rejects(fs.realpath('missing/new-name'), 'ENOENT');
});

test('hard links share data, count links, refuse directories; an unlinked open file lives until closed', async () => {
  const fs = make({ capacity: 100 });
  fs.writeFile('/home/u/a', 'shared');
  await fs.link('a', 'b');
  assert.equal((await fs.stat('a')).nlink, 2);
  const w = await fs.open('b', mode({ write: true }), {});
  await w.write(0, enc('SH'));
  await w.close();
  assert.equal(dec(fs.readFile('/home/u/a')), 'SHared');
  await rejects(fs.link('a', 'b'), 'EEXIST');
  await rejects(fs.link('/home', 'h'), 'EPERM');
  await rejects(fs.link('missing', 'm'), 'ENOENT');
  await fs.remove('a');
  assert.equal((await fs.stat('b')).nlink, 1);
  assert.equal(fs.used, 6);

  const h = await fs.open('b', READ, {});
  await fs.remove('b');
  await rejects(fs.stat('b'), 'ENOENT');
  assert.equal(dec(await h.read(0, 10)), 'SHared', 'still readable through the handle');
  assert.equal(fs.used, 6, 'held until the last close');
  await h.close();
  assert.equal(fs.used, 0);
});

test('rename: within and across directories, replacing only when posix, and the errors POSIX gives', async () => {
  const fs = make();
  fs.writeFile('/home/u/a', 'A');
  fs.writeFile('/home/u/b', 'B');
  await fs.mkdir('d', {});
  await fs.mkdir('d/sub', {});
  await fs.mkdir('empty', {});
  await rejects(fs.rename('a', 'b', false), 'EEXIST');
  await fs.rename('a', 'b', true);
  assert.equal(dec(fs.readFile('/home/u/b')), 'A');
  await rejects(fs.stat('a'), 'ENOENT');
  await fs.rename('b', 'd/sub/c', false);
  assert.equal(dec(fs.readFile('/home/u/d/sub/c')), 'A');
  await rejects(fs.rename('missing', 'x', true), 'ENOENT');
  await rejects(fs.rename('d', 'd/sub/inside', true), 'EINVAL');
  await rejects(fs.rename('d/sub/c', 'empty', true), 'EISDIR');
  await rejects(fs.rename('empty', 'd/sub/c', true), 'ENOTDIR');
  await rejects(fs.rename('empty', 'd', true), 'ENOTEMPTY');
  await rejects(fs.rename('.', 'x', true), 'EBUSY');
  await fs.rename('d', 'empty', true);
  assert.deepEqual(await names(fs, 'empty'), ['.', '..', 'sub']);
  assert.equal((await fs.stat('.')).nlink, 3, 'one subdirectory left');
  await fs.link('empty/sub/c', 'c2');
  await fs.rename('c2', 'empty/sub/c', true);
  assert.ok(await fs.stat('c2'), 'two names of one file: POSIX rename does nothing');
});

test('setstat and fsetstat: size, mode, owner and times; lsetstat on a link', async () => {
  let now = 1_700_000_000_000;
  const fs = make({ now: () => now });
  fs.writeFile('/home/u/f', 'abcdef');
  await fs.setstat('f', { size: 3 }, true);
  await fs.setstat('f', { size: 5 }, true);
  assert.deepEqual([...fs.readFile('/home/u/f')], [97, 98, 99, 0, 0], 'regrown bytes are zero');
  await fs.setstat('f', { mode: 0o4600 }, true);
  assert.equal((await fs.stat('f')).mode, S_IFREG | 0o4600);
  await fs.setstat('f', { uid: 7, gid: 8 }, true);
  await fs.setstat('f', { atime: 10, mtime: 20 }, true);
  let s = await fs.stat('f');
  assert.deepEqual([s.uid, s.gid, s.atime, s.mtime], [7, 8, 10, 20]);
  now += 5000;
  const h = await fs.open('f', mode({ write: true }), {});
  await h.write(0, enc('z'));
  assert.equal((await h.stat()).mtime, 1_700_000_005);
  await h.setstat({ size: 1, mode: 0o600 });
  s = await h.stat();
  assert.deepEqual([s.size, s.mode], [1, S_IFREG | 0o600]);
  await h.close();

  await fs.symlink('f', 'l');
  await fs.setstat('l', { atime: 1, mtime: 2 }, false);
  assert.equal((await fs.lstat('l')).mtime, 2);
  assert.equal((await fs.stat('l')).mtime, 1_700_000_005, 'the target is untouched');
  await rejects(fs.setstat('l', { mode: 0o600 }, false), 'EOPNOTSUPP');
  await rejects(fs.setstat('l', { size: 0 }, false), 'EINVAL');
  await rejects(fs.setstat('/home', { size: 0 }, true), 'EISDIR');
  await rejects(fs.setstat('missing', { mode: 0o600 }, true), 'ENOENT');
});

test('capacity: a write or truncate past it is ENOSPC and changes nothing; statvfs reports it', async () => {
  const fs = make({ capacity: 10 * 4096 });
  const h = await fs.open('f', WRITE_NEW, {});
  await h.write(0, new Uint8Array(8 * 4096).fill(1));
  await rejects(h.write(8 * 4096, new Uint8Array(3 * 4096)), 'ENOSPC');
  assert.equal((await h.stat()).size, 8 * 4096, 'nothing of the refused write applied');
  await h.write(0, new Uint8Array(4096).fill(2)); // overwriting needs no space
  await rejects(h.setstat({ size: 11 * 4096 }), 'ENOSPC');
  await h.write(8 * 4096, new Uint8Array(2 * 4096));
  assert.equal(fs.used, 10 * 4096);
  const v = await fs.statvfs('/');
  assert.equal(v.bsize, 4096);
  assert.equal(v.blocks, 10);
  assert.equal(v.bfree, 0);
  assert.equal(v.bavail, 0);
  assert.equal(v.namemax, 255);
  assert.deepEqual(await h.statvfs(), v);
  await h.close();
  await fs.remove('f');
  assert.equal((await fs.statvfs('.')).bfree, 10);
  await rejects(fs.statvfs('missing'), 'ENOENT');
  assert.throws(() => fs.writeFile('/big', new Uint8Array(11 * 4096)), { code: 'ENOSPC' });
});

test('permissions for a non-root user: EACCES and EPERM where the kernel gives them', async () => {
  const fs = make({ uid: 1000, gids: [1000, 50], users: [{ name: 'u', uid: 1000, home: '/home/u' }], groups: [{ name: 'staff', gid: 50 }] });
  fs.writeFile('/etc/shadow', 'secret', { mode: 0o600 });
  fs.writeFile('/etc/motd', 'hi', { mode: 0o644 });
  fs.writeFile('/etc/group-only', 'g', { mode: 0o060, gid: 50 });
  fs.mkdirs('/locked', { mode: 0o700 });
  fs.writeFile('/locked/x', 'x');
  fs.mkdirs('/tmp', { mode: 0o1777 });
  fs.writeFile('/tmp/roots', 'r');

  await rejects(fs.open('/etc/shadow', READ, {}), 'EACCES');
  await rejects(fs.open('/etc/motd', mode({ write: true }), {}), 'EACCES');
  assert.equal(dec(await (await fs.open('/etc/motd', READ, {})).read(0, 9)), 'hi');
  assert.equal(dec(await (await fs.open('/etc/group-only', mode({ read: true, write: true }), {})).read(0, 9)), 'g');
  await rejects(fs.open('/etc/new', WRITE_NEW, {}), 'EACCES');
  await rejects(fs.stat('/locked/x'), 'EACCES');
  await rejects(fs.opendir('/locked'), 'EACCES');
  await rejects(fs.mkdir('/etc/d', {}), 'EACCES');
  await rejects(fs.remove('/etc/motd'), 'EACCES');
  await rejects(fs.rename('/etc/motd', '/home/u/motd', true), 'EACCES');
  await rejects(fs.setstat('/etc/motd', { mode: 0o666 }, true), 'EPERM');
  await rejects(fs.setstat('/etc/motd', { atime: 1, mtime: 1 }, true), 'EPERM');
  await rejects(fs.setstat('/etc/motd', { size: 0 }, true), 'EACCES');

  // Own files: chmod, chgrp to an own group, not chown to another user.
  await (await fs.open('mine', WRITE_NEW, {})).close();
  const s = await fs.stat('mine');
  assert.deepEqual([s.uid, s.gid, s.owner, s.group], [1000, 1000, 'u', undefined]);
  await fs.setstat('mine', { mode: 0o600 }, true);
  await fs.setstat('mine', { uid: 1000, gid: 50 }, true);
  assert.equal((await fs.stat('mine')).group, 'staff');
  await rejects(fs.setstat('mine', { uid: 0, gid: 50 }, true), 'EPERM');
  await rejects(fs.setstat('mine', { uid: 1000, gid: 0 }, true), 'EPERM');

  // The sticky bit: others' files in /tmp stay.
  await rejects(fs.remove('/tmp/roots'), 'EPERM');
  await (await fs.open('/tmp/own', WRITE_NEW, {})).close();
  await fs.remove('/tmp/own');
});

test('read-only: every change is EROFS, reads work, statvfs says so', async () => {
  const fs = make({ readOnly: true });
  fs.writeFile('/home/u/f', 'x');
  await rejects(fs.open('f', mode({ write: true }), {}), 'EROFS');
  await rejects(fs.open('g', WRITE_NEW, {}), 'EROFS');
  await rejects(fs.mkdir('d', {}), 'EROFS');
  await rejects(fs.remove('f'), 'EROFS');
  await rejects(fs.rename('f', 'g', true), 'EROFS');
  await rejects(fs.symlink('f', 'l'), 'EROFS');
  await rejects(fs.link('f', 'l'), 'EROFS');
  await rejects(fs.setstat('f', { mode: 0o600 }, true), 'EROFS');
  assert.equal(dec(await (await fs.open('f', READ, {})).read(0, 1)), 'x');
  assert.equal((await fs.statvfs('.')).flag & STATVFS_FLAG.RDONLY, STATVFS_FLAG.RDONLY);
});

test('fault hooks: short reads, an errno on chosen operations, operations held back', async () => {
  const fs = make();
  fs.writeFile('/home/u/f', 'abcdefghij');
  const h = await fs.open('f', READ, {});
  fs.faults.maxReadBytes = 3;
  assert.equal(dec(await h.read(2, 100)), 'cde');
  fs.faults.maxReadBytes = undefined;
  assert.equal(dec(await h.read(2, 100)), 'cdefghij');

  const seen: string[] = [];
  fs.faults.onOperation = (op, path) => {
    seen.push(`${op} ${path}`);
    return op === 'read' ? 'EIO' : undefined;
  };
  await rejects(h.read(0, 1), 'EIO');
  await fs.stat('f');
  assert.deepEqual(seen, ['read f', 'stat f']);

  // A hook's promise holds the operation: the later one finishes first.
  let release!: () => void;
  const gate = new Promise<undefined>((r) => (release = () => r(undefined)));
  fs.faults.onOperation = (op) => (op === 'lstat' ? gate : undefined);
  const order: string[] = [];
  const slow = fs.lstat('f').then(() => order.push('lstat'));
  const fast = fs.stat('f').then(() => order.push('stat'));
  await fast;
  release();
  await slow;
  assert.deepEqual(order, ['stat', 'lstat']);
  fs.faults = {};
  await h.close();
});

test('errors look like node:fs errors: code, syscall, path and message', async () => {
  const fs = make();
  const err = (await fs.stat('nope').then(
    () => assert.fail('stat of a missing file'),
    (e: unknown) => e,
  )) as Error & { code: string; syscall: string; path: string };
  assert.equal(err.code, 'ENOENT');
  assert.equal(err.syscall, 'stat');
  assert.equal(err.path, 'nope');
  assert.equal(err.message, "ENOENT: no such file or directory, stat 'nope'");
  await rejects(fs.stat('a\0b'), 'EINVAL');
  await rejects(fs.stat('x'.repeat(256)), 'ENAMETOOLONG');
  await rejects(fs.stat('/x'.repeat(2100)), 'ENAMETOOLONG');
});

test('homeDirectory and names come from the configured users and groups', async () => {
  const fs = make({ users: [{ name: 'alice', uid: 1001, home: '/home/alice' }], groups: [{ name: 'wheel', gid: 10 }] });
  assert.equal(await fs.homeDirectory(''), '/home/u');
  assert.equal(await fs.homeDirectory('alice'), '/home/alice');
  await rejects(fs.homeDirectory('bob'), 'ENOENT');
  assert.deepEqual(await fs.names([1001, 5], [10, 1001]), { users: ['alice', ''], groups: ['wheel', ''] });
});

test('a file grown by many appends keeps every byte (the backing array doubles)', async () => {
  const fs = make();
  const h = await fs.open('log', mode({ write: true, create: true, append: true }), {});
  let expected = '';
  for (let i = 0; i < 2000; i++) {
    const line = `line ${i}\n`;
    expected += line;
    await h.write(0, enc(line));
  }
  await h.close();
  assert.equal(dec(fs.readFile('/home/u/log')), expected);
  assert.equal(fs.used, expected.length);
});
