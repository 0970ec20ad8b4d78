// NodeFileSystem on real files in a temporary directory: each operation and
// its errors, unconfined and confined to a root; confinement against `..`,
// absolute and relative links pointing out, a directory swapped for a link
// between calls and (a worker swapping it as fast as it can) during them;
// hard links made on the host, the limit chroot has too; permissions as a
// user other than root.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, linkSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { NodeFileSystem } from '../../src/server/sftp/node-fs.js';
import type { FileSystem, OpenMode } from '../../src/sftp/filesystem.js';
import { seededRandom } from '../../src/testing/random.js';

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);
function mode(m: Partial<OpenMode>): OpenMode {
  return { read: false, write: false, append: false, create: false, truncate: false, exclusive: false, ...m };
}
const READ = mode({ read: true });
const WRITE_NEW = mode({ write: true, create: true, truncate: true });

async function rejects(p: Promise<unknown>, code: string, notMentioning?: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.equal((err as { code?: unknown }).code, code, String(err));
    if (notMentioning !== undefined) assert.ok(!(err as Error).message.includes(notMentioning), `the message names the host path: ${(err as Error).message}`);
    return true;
  });
}

async function readAll(fs: FileSystem, path: string): Promise<string> {
  const h = await fs.open(path, READ, {});
  try {
    return dec(await h.read(0, 1 << 20));
  } finally {
    await h.close();
  }
}

async function list(fs: FileSystem, path: string): Promise<string[]> {
  const d = await fs.opendir(path);
  try {
    const out: string[] = [];
    for (let batch = await d.read(); batch !== null; batch = await d.read()) out.push(...batch.map((e) => e.name));
    return out;
  } finally {
    await d.close();
  }
}

/** A temporary tree: `root` (a home at root/home/u with a file), `outside` next to it with a secret. */
function tree(): { base: string; root: string; outside: string; cleanup: () => void } {
  const base = mkdtempSync(join(tmpdir(), 'nacre-sftp-fs-'));
  const root = join(base, 'root');
  const outside = join(base, 'outside');
  mkdirSync(join(root, 'home/u'), { recursive: true });
  mkdirSync(outside);
  writeFileSync(join(root, 'home/u/f'), 'inside');
  writeFileSync(join(outside, 'f'), 'OUTSIDE');
  writeFileSync(join(outside, 'secret'), 'OUTSIDE');
  return { base, root, outside, cleanup: () => rmSync(base, { recursive: true, force: true }) };
}

/** The same checks of each operation, for a file system whose start directory holds `f` ("inside"). */
async function exerciseOperations(fs: FileSystem, hostStart: string, hostPrefix: string): Promise<void> {
  // open, write, read, append, truncate, exclusive
  const h = await fs.open('new', mode({ read: true, write: true, create: true }), { mode: 0o640 });
  await h.write(0, enc('hello world'));
  await h.write(6, enc('there'));
  assert.equal(dec(await h.read(0, 100)), 'hello there');
  assert.equal((await h.read(11, 10)).length, 0);
  const hs = await h.stat();
  assert.equal(hs.size, 11);
  assert.equal(hs.mode & 0o777, 0o640 & ~process.umask());
  await h.setstat({ size: 5, mode: 0o600, atime: 1000, mtime: 2000 });
  assert.deepEqual([(await h.stat()).size, (await h.stat()).mode & 0o777, (await h.stat()).mtime], [5, 0o600, 2000]);
  await h.sync();
  assert.ok((await h.statvfs()).bsize > 0);
  await h.close();
  assert.equal(readFileSync(join(hostStart, 'new'), 'utf8'), 'hello');
  const ap = await fs.open('new', mode({ write: true, append: true }), {});
  await ap.write(0, enc('!'));
  await ap.close();
  assert.equal(await readAll(fs, 'new'), 'hello!');
  await (await fs.open('new', mode({ write: true, truncate: true }), {})).close();
  assert.equal(statSync(join(hostStart, 'new')).size, 0);
  await rejects(fs.open('new', mode({ write: true, create: true, exclusive: true }), {}), 'EEXIST', hostPrefix);
  await rejects(fs.open('missing', READ, {}), 'ENOENT', hostPrefix);
  await rejects(fs.open('f/x', READ, {}), 'ENOTDIR', hostPrefix);

  // A large file read in one call comes back whole (the kernel's short reads are looped over).
  const big = new Uint8Array(3 * 1024 * 1024).map((_, i) => (i * 7) & 255);
  writeFileSync(join(hostStart, 'big'), big);
  const bh = await fs.open('big', READ, {});
  const got = await bh.read(1, big.length);
  assert.equal(got.length, big.length - 1);
  assert.ok(Buffer.from(got).equals(big.subarray(1)));
  await bh.close();

  // stat, lstat, setstat
  assert.equal((await fs.stat('f')).size, 6);
  await fs.symlink('f', 'link');
  assert.equal((await fs.lstat('link')).mode & 0o170000, 0o120000);
  assert.equal((await fs.stat('link')).mode & 0o170000, 0o100000);
  assert.equal(await fs.readlink('link'), 'f');
  await rejects(fs.readlink('f'), 'EINVAL', hostPrefix);
  await fs.setstat('f', { mode: 0o604 }, true);
  assert.equal(statSync(join(hostStart, 'f')).mode & 0o777, 0o604);
  await fs.setstat('link', { atime: 5000, mtime: 6000 }, false);
  assert.equal(lstatSync(join(hostStart, 'link')).mtimeMs, 6_000_000, 'lsetstat changes the link');
  assert.notEqual(statSync(join(hostStart, 'f')).mtimeMs, 6_000_000, 'not its target');
  await rejects(fs.setstat('link', { mode: 0o600 }, false), 'EOPNOTSUPP');
  await rejects(fs.stat('missing'), 'ENOENT', hostPrefix);

  // mkdir, opendir, rmdir, remove
  await fs.mkdir('d', { mode: 0o750 });
  assert.equal(statSync(join(hostStart, 'd')).mode & 0o777, 0o750 & ~process.umask());
  await rejects(fs.mkdir('d', {}), 'EEXIST', hostPrefix);
  for (let i = 0; i < 250; i++) writeFileSync(join(hostStart, 'd', `e${i}`), '');
  const d = await fs.opendir('d');
  const first = await d.read();
  assert.deepEqual(first!.slice(0, 2).map((e) => e.name), ['.', '..']);
  assert.ok(first!.length <= 100);
  await d.close();
  const names = await list(fs, 'd');
  assert.equal(names.length, 252);
  assert.deepEqual(new Set(names), new Set(['.', '..', ...readdirSync(join(hostStart, 'd'))]));
  await rejects(fs.rmdir('d'), 'ENOTEMPTY', hostPrefix);
  await rejects(fs.opendir('f'), 'ENOTDIR', hostPrefix);
  for (let i = 0; i < 250; i++) await fs.remove(`d/e${i}`);
  await fs.rmdir('d');
  await rejects(fs.remove('missing'), 'ENOENT', hostPrefix);

  // rename with and without replacing, link
  writeFileSync(join(hostStart, 'a'), 'A');
  writeFileSync(join(hostStart, 'b'), 'B');
  await rejects(fs.rename('a', 'b', false), 'EEXIST', hostPrefix);
  await fs.mkdir('dir1', {});
  await fs.mkdir('dir2', {});
  await rejects(fs.rename('dir1', 'dir2', false), 'EEXIST', hostPrefix);
  await fs.rename('dir1', 'dir3', false);
  await fs.rename('a', 'b', true);
  assert.equal(readFileSync(join(hostStart, 'b'), 'utf8'), 'A');
  await fs.rename('b', 'c', false);
  assert.deepEqual([existsHost(join(hostStart, 'b')), readFileSync(join(hostStart, 'c'), 'utf8')], [false, 'A']);
  await fs.link('c', 'c2');
  assert.equal(statSync(join(hostStart, 'c')).nlink, 2);
  await rejects(fs.link('c', 'c2'), 'EEXIST', hostPrefix);

  // realpath: a missing last component is allowed, a missing directory is not
  assert.equal(await fs.realpath('link'), `${await fs.realpath('.')}/f`);
  assert.equal(await fs.realpath('dir3/../missing-name'), `${await fs.realpath('.')}/missing-name`);
  await rejects(fs.realpath('nodir/name'), 'ENOENT', hostPrefix);

  assert.ok((await fs.statvfs('.')).blocks > 0);
  await rejects(fs.statvfs('missing'), 'ENOENT', hostPrefix);
}

function existsHost(p: string): boolean {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

test('unconfined: each operation on real files, relative paths from the start directory', async () => {
  const t = tree();
  try {
    const start = join(t.root, 'home/u');
    const fs = new NodeFileSystem({ startDirectory: start });
    await exerciseOperations(fs, start, 'no-such-prefix');
    assert.equal(await fs.realpath('.'), start);
    // Unconfined, links lead where the kernel takes them.
    symlinkSync(join(t.outside, 'secret'), join(start, 'out'));
    assert.equal(await readAll(fs, 'out'), 'OUTSIDE');
  } finally {
    t.cleanup();
  }
});

test('confined: each operation works inside the root, and paths are shown relative to it', async () => {
  const t = tree();
  try {
    const fs = new NodeFileSystem({ startDirectory: '/home/u', root: t.root });
    await exerciseOperations(fs, join(t.root, 'home/u'), t.base);
    assert.equal(await fs.realpath('.'), '/home/u');
    assert.equal(await fs.realpath(''), '/home/u');
    assert.equal(await fs.realpath('/'), '/');
    assert.equal(await readAll(fs, '/home/u/f'), 'inside');
    assert.deepEqual(await list(fs, '/'), ['.', '..', 'home']);
    // `..` of the root is the root.
    const rootDir = await fs.opendir('/');
    const [dot, dotdot] = (await rootDir.read())!;
    await rootDir.close();
    assert.deepEqual([dot!.name, dotdot!.name], ['.', '..']);
    assert.equal(dot!.stats.mtime, dotdot!.stats.mtime);
  } finally {
    t.cleanup();
  }
});

test('confined: `..` never climbs out of the root', async () => {
  const t = tree();
  try {
    const fs = new NodeFileSystem({ startDirectory: '/home/u', root: t.root });
    assert.equal(await fs.realpath('../../..'), '/');
    assert.equal(await fs.realpath('/../../..'), '/');
    assert.equal(await fs.realpath('../../../home/u/new-name'), '/home/u/new-name');
    await rejects(fs.realpath('../../../outside/secret'), 'ENOENT', t.base);
    await rejects(fs.open('../../../outside/secret', READ, {}), 'ENOENT', t.base);
    await rejects(fs.stat('/../outside/secret'), 'ENOENT', t.base);
    await rejects(fs.open('../../../outside/new', WRITE_NEW, {}), 'ENOENT', t.base);
    await rejects(fs.rename('f', '../../../outside/f2', true), 'ENOENT', t.base);
    await rejects(fs.link('../../../outside/secret', 'x'), 'ENOENT', t.base);
    await rejects(fs.remove('../../../outside/secret'), 'ENOENT', t.base);
    // `..` as the last component names the root itself.
    assert.equal((await fs.stat('/..')).mtime, (await fs.stat('/')).mtime);
    await rejects(fs.rmdir('/..'), 'EBUSY');
    await rejects(fs.mkdir('/..', {}), 'EEXIST');
    assert.deepEqual(readdirSync(t.outside).sort(), ['f', 'secret']);
  } finally {
    t.cleanup();
  }
});

test('confined: absolute and relative links pointing out resolve inside the root; readlink shows them as stored', async () => {
  const t = tree();
  try {
    const home = join(t.root, 'home/u');
    symlinkSync(join(t.outside, 'secret'), join(home, 'abs-out')); // the host path of the secret
    symlinkSync('../../../outside/secret', join(home, 'rel-out'));
    symlinkSync('/etc/passwd', join(home, 'etc'));
    symlinkSync(t.outside, join(home, 'dir-out'));
    symlinkSync('/home/u/f', join(home, 'abs-in'));
    symlinkSync('../../home/u/f', join(home, 'rel-in'));
    const fs = new NodeFileSystem({ startDirectory: '/home/u', root: t.root });
    for (const name of ['abs-out', 'rel-out', 'etc', 'dir-out']) {
      await rejects(fs.open(name, READ, {}), 'ENOENT', t.base);
      await rejects(fs.stat(name), 'ENOENT', t.base);
      await rejects(fs.setstat(name, { mode: 0o777 }, true), 'ENOENT', t.base);
      await rejects(fs.statvfs(name), 'ENOENT', t.base);
    }
    await rejects(fs.opendir('dir-out'), 'ENOENT', t.base);
    await rejects(fs.open('dir-out/secret', READ, {}), 'ENOENT', t.base);
    await rejects(fs.open('dir-out/new', WRITE_NEW, {}), 'ENOENT', t.base);
    assert.equal(await fs.readlink('etc'), '/etc/passwd');
    assert.equal(await fs.readlink('abs-out'), join(t.outside, 'secret'));
    await rejects(fs.realpath('rel-out'), 'ENOENT', t.base);
    assert.equal(await readAll(fs, 'abs-in'), 'inside');
    assert.equal(await readAll(fs, 'rel-in'), 'inside');
    assert.equal(await fs.realpath('abs-in'), '/home/u/f');

    // The same links, once the root has what they name, reach the root's copy.
    mkdirSync(join(t.root, 'etc'));
    writeFileSync(join(t.root, 'etc/passwd'), 'root-passwd');
    mkdirSync(join(t.root, 'outside'));
    writeFileSync(join(t.root, 'outside/secret'), 'root-copy');
    assert.equal(await readAll(fs, 'etc'), 'root-passwd');
    assert.equal(await readAll(fs, 'rel-out'), 'root-copy');
    assert.equal(await fs.realpath('rel-out'), '/outside/secret');

    // A link the client makes is stored as given and followed inside the root.
    await fs.symlink('/etc/passwd', 'mine');
    assert.equal(await readAll(fs, 'mine'), 'root-passwd');
    // Creating through a dangling link creates its target inside.
    await fs.symlink('/outside/created', 'dangling');
    await (await fs.open('dangling', WRITE_NEW, {})).close();
    assert.ok(existsHost(join(t.root, 'outside/created')));
    assert.deepEqual(readdirSync(t.outside).sort(), ['f', 'secret'], 'nothing made or changed outside');
    assert.equal(statSync(join(t.outside, 'secret')).mode & 0o777, 0o644 & ~process.umask());

    // Loops end in ELOOP.
    await fs.symlink('loop2', 'loop1');
    await fs.symlink('loop1', 'loop2');
    await rejects(fs.stat('loop1'), 'ELOOP', t.base);
  } finally {
    t.cleanup();
  }
});

test('confined: a directory swapped for a link out between two calls is not followed', async () => {
  const t = tree();
  try {
    const home = join(t.root, 'home/u');
    mkdirSync(join(home, 'd'));
    writeFileSync(join(home, 'd/f'), 'inside');
    const fs = new NodeFileSystem({ startDirectory: '/home/u', root: t.root });
    assert.equal((await fs.stat('d')).mode & 0o170000, 0o040000);
    assert.equal(await readAll(fs, 'd/f'), 'inside');
    // Another process swaps it.
    rmSync(join(home, 'd'), { recursive: true });
    symlinkSync(t.outside, join(home, 'd'));
    await rejects(fs.open('d/f', READ, {}), 'ENOENT', t.base);
    await rejects(fs.setstat('d/f', { mode: 0o777 }, true), 'ENOENT', t.base);
    await rejects(fs.remove('d/f'), 'ENOENT', t.base);
    await rejects(fs.open('d/new', WRITE_NEW, {}), 'ENOENT', t.base);
    await rejects(fs.rename('f', 'd/moved', true), 'ENOENT', t.base);
    await rejects(fs.symlink('x', 'd/link'), 'ENOENT', t.base);
    await rejects(fs.mkdir('d/sub', {}), 'ENOENT', t.base);
    await fs.remove('d'); // the link itself
    assert.deepEqual(readdirSync(t.outside).sort(), ['f', 'secret']);
    assert.equal(readFileSync(join(t.outside, 'f'), 'utf8'), 'OUTSIDE');
  } finally {
    t.cleanup();
  }
});

// A worker swaps `d` between a directory and a link to `outside` in a tight
// loop while the file system works on `d/f`: whatever the interleaving,
// nothing outside is read, changed or created.
const SWAPPER = `
const { workerData, parentPort } = require('node:worker_threads');
const fs = require('node:fs');
const { dir, parked, outside, stop } = workerData;
const flag = new Int32Array(stop);
let swaps = 0;
while (Atomics.load(flag, 0) === 0) {
  try {
    fs.renameSync(dir, parked);
    fs.symlinkSync(outside, dir);
    fs.unlinkSync(dir);
    fs.renameSync(parked, dir);
    swaps++;
  } catch {}
}
parentPort.postMessage(swaps);
`;

test('confined: a directory swapped for a link out during operations never leads out (a swapping worker)', async (t0) => {
  const t = tree();
  const home = join(t.root, 'home/u');
  mkdirSync(join(home, 'd'));
  writeFileSync(join(home, 'd/f'), 'inside');
  const stop = new SharedArrayBuffer(4);
  const worker = new Worker(SWAPPER, { eval: true, workerData: { dir: join(home, 'd'), parked: join(home, 'parked'), outside: t.outside, stop } });
  const swapsDone = new Promise<number>((resolve) => worker.once('message', resolve));
  try {
    const fs = new NodeFileSystem({ startDirectory: '/home/u', root: t.root });
    let reads = 0;
    const outcomes = new Map<string, number>();
    const count = (k: string) => outcomes.set(k, (outcomes.get(k) ?? 0) + 1);
    for (let i = 0; i < 150; i++) {
      const ops: Promise<unknown>[] = [
        readAll(fs, 'd/f').then((text) => {
          assert.equal(text, 'inside');
          reads++;
        }),
        fs.setstat('d/f', { mode: 0o600 + (i % 2) }, true),
        fs.stat('d/f').then((s) => assert.equal(s.size, 6)),
        fs.open(`d/new${i}`, WRITE_NEW, {}).then((h) => h.close()),
        fs.realpath('d/f').then((p) => assert.equal(p, '/home/u/d/f')),
        list(fs, 'd').then((names) => assert.ok(!names.includes('secret'), 'listed outside')),
      ];
      for (const r of await Promise.allSettled(ops)) {
        if (r.status === 'rejected') {
          const code = (r.reason as { code?: unknown }).code;
          if (typeof code !== 'string') throw r.reason;
          count(code);
        } else count('ok');
      }
    }
    Atomics.store(new Int32Array(stop), 0, 1);
    const swaps = await swapsDone;
    assert.deepEqual(readdirSync(t.outside).sort(), ['f', 'secret'], 'nothing created outside');
    assert.equal(statSync(join(t.outside, 'f')).mode & 0o777, 0o644 & ~process.umask(), 'nothing changed outside');
    assert.equal(readFileSync(join(t.outside, 'f'), 'utf8'), 'OUTSIDE');
    // What happened, for whoever reads the log: how often each way.
    t0.diagnostic(`swaps ${swaps}, reads ${reads}, outcomes ${JSON.stringify(Object.fromEntries(outcomes))}`);
  } finally {
    Atomics.store(new Int32Array(stop), 0, 1);
    await worker.terminate();
    t.cleanup();
  }
});

test('confined: random operations on random paths of .., links out and names never touch anything outside', async (t0) => {
  const t = tree();
  try {
    const home = join(t.root, 'home/u');
    symlinkSync(t.outside, join(home, 'out-abs'));
    symlinkSync('../../../outside', join(home, 'out-rel'));
    const before = snapshot(t.outside);
    const fs = new NodeFileSystem({ startDirectory: '/home/u', root: t.root });
    const random = seededRandom('confined walk');
    const pick = <T>(list: readonly T[]): T => list[random(1)[0]! % list.length]!;
    const parts = ['..', '.', 'a', 'b', 'a', 'b', 'out-abs', 'out-rel', 'l', 'f', 'secret', 'outside'];
    const targets = ['/', '..', '../../..', t.outside, join(t.outside, 'secret'), '../../outside/secret', 'a', '/outside', 'l'];
    const path = () => (pick([true, false]) ? '/' : '') + Array.from({ length: 1 + (random(1)[0]! % 3) }, () => pick(parts)).join('/');
    const ops: (() => Promise<unknown>)[] = [
      () => fs.open(path(), WRITE_NEW, { mode: 0o777 }).then(async (h) => { await h.write(0, enc('X')); await h.close(); }),
      () => fs.open(path(), mode({ read: true, write: true }), {}).then(async (h) => { await h.write(0, enc('Y')); await h.setstat({ size: 0 }); await h.close(); }),
      () => fs.mkdir(path(), {}),
      () => fs.symlink(pick(targets), path()),
      () => fs.rename(path(), path(), pick([true, false])),
      () => fs.link(path(), path()),
      () => fs.remove(path()),
      () => fs.rmdir(path()),
      // 0o755 and a time of 7 s: if an escape ever reached a directory outside, it
      // would leave a mark the checks below see without harming the host (a
      // `/` made 0777 once during this work was never traced to this test).
      () => fs.setstat(path(), { mode: 0o755, atime: 7, mtime: 7 }, pick([true, false])),
      () => fs.realpath(path()).then((p) => assert.ok(p.startsWith('/') && !p.includes(t.base), p)),
      () => fs.readlink(path()),
      () => list(fs, path()),
      () => readAll(fs, path()).then((text) => assert.notEqual(text, 'OUTSIDE')),
    ];
    let ok = 0;
    for (let i = 0; i < 800; i++) {
      await pick(ops)().then(
        () => ok++,
        (err: unknown) => {
          if (typeof (err as { code?: unknown }).code !== 'string') throw err;
        },
      );
    }
    t0.diagnostic(`${ok} of 800 operations succeeded`);
    assert.ok(ok > 80, `only ${ok} operations succeeded`);
    assert.deepEqual(snapshot(t.outside), before);
    for (const above of ['/', t.base, tmpdir()]) assert.notEqual(statSync(above).mtimeMs, 7000, `${above} was changed`);
  } finally {
    t.cleanup();
  }
});

/** Names, modes, times and contents under a directory. */
function snapshot(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .sort()
    .map((name) => {
      const s = lstatSync(join(dir, name));
      return `${name} ${s.mode.toString(8)} ${s.mtimeMs} ${s.nlink} ${s.isFile() ? readFileSync(join(dir, name), 'utf8') : ''}`;
    });
}

test('confined: hard links the host made to files outside are served, as under chroot; the client cannot make one', async () => {
  const t = tree();
  try {
    const home = join(t.root, 'home/u');
    linkSync(join(t.outside, 'secret'), join(home, 'hard'));
    const fs = new NodeFileSystem({ startDirectory: '/home/u', root: t.root });
    // The known limit: the same inode under a name inside the root.
    assert.equal(await readAll(fs, 'hard'), 'OUTSIDE');
    // The client can only link names that are both inside.
    await rejects(fs.link(join(t.outside, 'secret'), 'hard2'), 'ENOENT');
    await rejects(fs.link('../../../outside/secret', 'hard2'), 'ENOENT', t.base);
    await fs.link('hard', 'hard3');
    assert.equal(statSync(join(t.outside, 'secret')).nlink, 3);
  } finally {
    t.cleanup();
  }
});

test('errors name the client path, never the host path or /proc/self/fd', async () => {
  const t = tree();
  try {
    const fs = new NodeFileSystem({ startDirectory: '/home/u', root: t.root });
    for (const op of [() => fs.stat('nope'), () => fs.open('nope', READ, {}), () => fs.rmdir('f'), () => fs.rename('nope', 'x', true), () => fs.readlink('f')]) {
      await assert.rejects(op(), (err: Error) => {
        assert.ok(!err.message.includes('/proc/') && !err.message.includes(t.base), err.message);
        assert.match(err.message, /^E[A-Z]+: .*, [a-z]+ '(nope|f)'/);
        return true;
      });
    }
    await rejects(fs.stat('a\0b'), 'EINVAL');
    await rejects(fs.stat('/x'.repeat(2100)), 'ENAMETOOLONG');
    // Links that expand into more components than a path holds end the walk.
    const home = join(t.root, 'home/u');
    mkdirSync(join(home, 'e'));
    symlinkSync('e', join(home, 'a0'));
    for (let i = 1; i <= 4; i++) symlinkSync('e/../'.repeat(300) + `a${i - 1}`, join(home, `a${i}`));
    assert.equal((await fs.stat('a3')).mode & 0o170000, 0o040000, 'four links, 900 lookups');
    await assert.rejects(fs.stat('a4'), (err: Error & { code?: string }) => err.code === 'ELOOP' && /components/.test(err.message));
  } finally {
    t.cleanup();
  }
});

test('owner and group names, names() and homeDirectory come from the passwd and group files', async () => {
  const t = tree();
  try {
    writeFileSync(join(t.base, 'passwd'), 'root:x:0:0:root:/root:/bin/bash\nalice:x:1001:1001::/home/alice:/bin/sh\nbad line\n');
    writeFileSync(join(t.base, 'group'), 'root:x:0:\nstaff:x:50:alice\n');
    const fs = new NodeFileSystem({ startDirectory: '/home/u', root: t.root, user: 'alice', accountFiles: { passwd: join(t.base, 'passwd'), group: join(t.base, 'group') } });
    assert.deepEqual(await fs.names([0, 1001, 4242], [50, 0, 4242]), { users: ['root', 'alice', ''], groups: ['staff', 'root', ''] });
    assert.equal(await fs.homeDirectory(''), '/home/alice');
    assert.equal(await fs.homeDirectory('root'), '/root');
    await rejects(fs.homeDirectory('no-such-user-here'), 'ENOENT');
    if (process.getuid?.() === 0) {
      const s = await fs.stat('f');
      assert.deepEqual([s.owner, s.group], ['root', 'root']);
    }
  } finally {
    t.cleanup();
  }
});

const nodeFs = fileURLToPath(new URL('../../src/server/sftp/node-fs.js', import.meta.url));

test('as a user other than root: EACCES where the kernel refuses; a search-only directory can be walked when confined', { skip: process.getuid?.() !== 0 ? 'needs root to run a child as nobody' : false }, () => {
  const t = tree();
  try {
    chmodSync(t.base, 0o755);
    const home = join(t.root, 'home/u');
    writeFileSync(join(home, 'private'), 'root only', { mode: 0o600 });
    mkdirSync(join(t.root, 'searchonly'), { mode: 0o711 });
    chmodSync(join(t.root, 'searchonly'), 0o711);
    writeFileSync(join(t.root, 'searchonly/open'), 'readable', { mode: 0o644 });
    const script = `
      const { NodeFileSystem } = await import(${JSON.stringify(nodeFs)});
      const fs = new NodeFileSystem({ startDirectory: '/home/u', root: ${JSON.stringify(t.root)} });
      const codes = [];
      const r = { read: true, write: false, append: false, create: false, truncate: false, exclusive: false };
      const w = { read: false, write: true, append: false, create: true, truncate: true, exclusive: false };
      const code = (p) => p.then(() => 'ok', (e) => e.code);
      codes.push(await code(fs.open('private', r, {})));
      codes.push(await code(fs.open('new', w, {})));
      codes.push(await code(fs.mkdir('dir', {})));
      codes.push(await code(fs.remove('f')));
      codes.push(await code(fs.setstat('f', { mode: 0o777 }, true)));
      codes.push(await code(fs.opendir('/searchonly')));
      const h = await fs.open('/searchonly/open', r, {});
      codes.push(new TextDecoder().decode(await h.read(0, 100)));
      await h.close();
      console.log(JSON.stringify(codes));
    `;
    const out = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(out.status, 0, out.stderr);
    assert.deepEqual(JSON.parse(out.stdout.trim()), ['EACCES', 'EACCES', 'EACCES', 'EACCES', 'EPERM', 'EACCES', 'readable']);
  } finally {
    t.cleanup();
  }
});

test('a FIFO is opened without waiting for its other end (it would hold a thread every session shares)', { timeout: 15_000 }, async () => {
  const t = tree();
  try {
    const home = join(t.root, 'home/u');
    const made = spawnSync('mkfifo', [join(home, 'fifo')]);
    assert.equal(made.status, 0);
    for (const fs of [new NodeFileSystem({ startDirectory: home }), new NodeFileSystem({ startDirectory: '/home/u', root: t.root })]) {
      // No writer: the open returns at once and a read fails at once (a
      // FIFO has no offsets: ESPIPE); a writer is refused (ENXIO) at once.
      const h = await fs.open('fifo', READ, {});
      await h.read(0, 10).then(
        (b) => assert.equal(b.length, 0),
        (err: { code?: unknown }) => assert.ok(err.code === 'ESPIPE' || err.code === 'EAGAIN', String(err)),
      );
      await h.close();
      await rejects(fs.open('fifo', mode({ write: true }), {}), 'ENXIO');
    }
  } finally {
    t.cleanup();
  }
});

test('umask option: created files and directories get exactly the mode less it, whatever the process umask', async () => {
  const t = tree();
  const old = process.umask(0o077);
  try {
    const home = join(t.root, 'home/u');
    for (const fs of [new NodeFileSystem({ startDirectory: home, umask: 0o002 }), new NodeFileSystem({ startDirectory: '/home/u', root: t.root, umask: 0o002 })]) {
      rmSync(join(home, 'n'), { force: true });
      rmSync(join(home, 'dir'), { recursive: true, force: true });
      await (await fs.open('n', WRITE_NEW, {})).close();
      assert.equal(statSync(join(home, 'n')).mode & 0o777, 0o664);
      await (await fs.open('n', WRITE_NEW, { mode: 0o600 })).close();
      assert.equal(statSync(join(home, 'n')).mode & 0o777, 0o664, 'an existing file keeps its mode');
      await rejects(fs.open('n', mode({ write: true, create: true, exclusive: true }), {}), 'EEXIST');
      await fs.mkdir('dir', {});
      assert.equal(statSync(join(home, 'dir')).mode & 0o777, 0o775);
      await fs.mkdir('dir/private', { mode: 0o700 });
      assert.equal(statSync(join(home, 'dir/private')).mode & 0o777, 0o700);
      assert.equal(readFileSync(join(home, 'f'), 'utf8'), 'inside');
    }
    // Without the option the process's umask applies, as for sftp-server.
    const plain = new NodeFileSystem({ startDirectory: home });
    await (await plain.open('p', WRITE_NEW, {})).close();
    assert.equal(statSync(join(home, 'p')).mode & 0o777, 0o600);
    assert.throws(() => new NodeFileSystem({ startDirectory: '/', umask: 0o1000 }), RangeError);
  } finally {
    process.umask(old);
    t.cleanup();
  }
});

test('an empty path is no file (ENOENT), but realpath of it is the start directory', async () => {
  const t = tree();
  try {
    for (const fs of [new NodeFileSystem({ startDirectory: join(t.root, 'home/u') }), new NodeFileSystem({ startDirectory: '/home/u', root: t.root })]) {
      await rejects(fs.stat(''), 'ENOENT');
      await rejects(fs.open('', READ, {}), 'ENOENT');
      assert.match(await fs.realpath(''), /\/home\/u$/);
    }
  } finally {
    t.cleanup();
  }
});

test('a confining root needs absolute paths', () => {
  assert.throws(() => new NodeFileSystem({ startDirectory: 'relative' }), RangeError);
  assert.throws(() => new NodeFileSystem({ startDirectory: '/', root: 'relative' }), RangeError);
});

test('reads sized to the end last seen stay exact when the file grows, shrinks or is written through the handle; a closed handle is refused', async () => {
  const base = mkdtempSync(join(tmpdir(), 'nacre-sftp-fs-'));
  try {
    const fs = new NodeFileSystem({ startDirectory: base });
    const path = join(base, 'f');
    const bytes = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 7 + seed) & 0xff);
    writeFileSync(path, bytes(4096, 1));
    const h = await fs.open('f', mode({ read: true, write: true }), {});
    // a 32 KiB request of a 4 KiB file: all of it, then the end
    assert.deepEqual(new Uint8Array(await h.read(0, 32768)), bytes(4096, 1));
    assert.equal((await h.read(4096, 28672)).length, 0);
    assert.equal((await h.read(10_000, 5)).length, 0);
    // grown by someone else since the end was seen: read on, past the small probe
    writeFileSync(path, bytes(70_000, 2));
    assert.deepEqual(new Uint8Array(await h.read(4096, 32768)), bytes(70_000, 2).subarray(4096, 4096 + 32768));
    assert.deepEqual(new Uint8Array(await h.read(60_000, 32768)), bytes(70_000, 2).subarray(60_000));
    // grown by a few bytes: a read up to the end seen stops there (as one
    // read(2) of sftp-server may), and the next one reads on
    writeFileSync(path, bytes(70_010, 3));
    assert.deepEqual(new Uint8Array(await h.read(69_990, 100)), bytes(70_010, 3).subarray(69_990, 70_000));
    assert.deepEqual(new Uint8Array(await h.read(70_000, 100)), bytes(70_010, 3).subarray(70_000));
    // shrunk: fewer bytes, then the end
    writeFileSync(path, bytes(100, 4));
    assert.deepEqual(new Uint8Array(await h.read(50, 32768)), bytes(100, 4).subarray(50));
    assert.equal((await h.read(100, 10)).length, 0);
    // its own writes past the end move it
    await h.write(100, bytes(5000, 5));
    assert.deepEqual(new Uint8Array(await h.read(0, 32768)), new Uint8Array([...bytes(100, 4), ...bytes(5000, 5)]));
    // truncated through the handle
    await h.setstat({ size: 10 });
    assert.deepEqual(new Uint8Array(await h.read(0, 32768)), bytes(100, 4).subarray(0, 10));
    await h.close();
    await rejects(h.read(0, 10), 'EBADF');
    await rejects(h.write(0, bytes(1, 0)), 'EBADF');
    await rejects(h.close(), 'EBADF');
    // appending: the end is the kernel's
    const a = await fs.open('f', mode({ read: true, write: true, append: true }), {});
    assert.equal((await a.read(0, 100)).length, 10);
    await a.write(0, bytes(20, 6));
    assert.equal((await a.read(0, 100)).length, 30);
    await a.close();
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});

test('a listing of many entries: every name once with its own lstat, in batches of at most 100', async () => {
  const base = mkdtempSync(join(tmpdir(), 'nacre-sftp-fs-'));
  try {
    for (let i = 0; i < 250; i++) writeFileSync(join(base, `n${i}`), new Uint8Array(i));
    symlinkSync('n7', join(base, 'link'));
    const fs = new NodeFileSystem({ startDirectory: base });
    const d = await fs.opendir('.');
    const seen = new Map<string, number>();
    for (let batch = await d.read(); batch !== null; batch = await d.read()) {
      assert.ok(batch.length > 0 && batch.length <= 100, `batch of ${batch.length}`);
      for (const e of batch) {
        assert.ok(!seen.has(e.name), `${e.name} twice`);
        seen.set(e.name, e.stats.size);
        if (e.name === 'link') assert.equal(e.stats.mode & 0o170000, 0o120000, 'a link is described, not followed');
      }
    }
    await d.close();
    assert.equal(seen.size, 253);
    for (let i = 0; i < 250; i++) assert.equal(seen.get(`n${i}`), i);
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});

test('many reads and writes at once on one handle (gathered into readv/writev): each gets exactly its own range, the end included', async () => {
  const base = mkdtempSync(join(tmpdir(), 'nacre-sftp-fs-'));
  try {
    const fs = new NodeFileSystem({ startDirectory: base });
    const size = 3 * 1024 * 1024 + 12_345;
    const content = Uint8Array.from({ length: size }, (_, i) => (i * 31 + (i >> 11)) & 0xff);
    const w = await fs.open('f', WRITE_NEW, {});
    const chunk = 32768;
    const writes: Promise<void>[] = [];
    // out of order, as WRITEs that overtake each other; all at once
    const starts = Array.from({ length: Math.ceil(size / chunk) }, (_, i) => i * chunk).reverse();
    for (const at of starts) writes.push(w.write(at, content.subarray(at, Math.min(size, at + chunk))));
    await Promise.all(writes);
    await w.close();
    assert.deepEqual(new Uint8Array(readFileSync(join(base, 'f'))), content);
    const h = await fs.open('f', READ, {});
    for (const length of [chunk, 1000, 65536]) {
      const offsets = Array.from({ length: Math.ceil(size / length) + 3 }, (_, i) => i * length);
      const got = await Promise.all(offsets.map((at) => h.read(at, length)));
      offsets.forEach((at, i) => assert.deepEqual(new Uint8Array(got[i]!), content.subarray(Math.min(at, size), Math.min(size, at + length)), `read at ${at} of ${length}`));
    }
    await h.close();
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});
