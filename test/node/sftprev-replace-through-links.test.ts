// Review reproduction (issue 13): get and put write a temporary file and
// rename it over the destination. Where the destination is a symbolic link
// (a dotfile managed by a link) the link is replaced by a regular file and
// its target keeps the old contents; where it has other hard links they keep
// the old contents; its mode and owner become the new file's (a root user's
// put over /home/alice/x leaves a file owned by root). OpenSSH's sftp and scp
// open the destination with O_TRUNC and write through it: link, target,
// hard links, mode and owner are kept. (Seen with nacre-sftp `put new link`
// against sshd; here with the library's getFile.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createReadStream, linkSync, readdirSync, lstatSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, chmodSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getFile } from '../../src/client/sftp/transfer.js';
import { fakeCtx, fakeOps } from './sftp-fake-ops.js';
import { MemoryFileSystem } from '../../src/sftp/memory-fs.js';
import { isSymbolicLink } from '../../src/sftp/attrs.js';
import { sftpSubsystem } from '../../src/server/sftp/serve.js';
import { startServer } from './server-helpers.js';


const ctx = fakeCtx;

test('get onto a local symbolic link writes through it, as sftp does', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sftprev-links-'));
  try {
    writeFileSync(join(dir, 'target'), 'old');
    symlinkSync('target', join(dir, 'link'));
    await getFile(fakeOps(Buffer.from('new'), 0o100600), '/remote', join(dir, 'link'), ctx());
    assert.ok(lstatSync(join(dir, 'link')).isSymbolicLink(), 'the link was replaced by a regular file');
    assert.equal(readFileSync(join(dir, 'target'), 'utf8'), 'new');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('get onto a file with another hard link keeps the link and the mode, as sftp does', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sftprev-links-'));
  try {
    writeFileSync(join(dir, 'a'), 'old');
    chmodSync(join(dir, 'a'), 0o640);
    linkSync(join(dir, 'a'), join(dir, 'b'));
    await getFile(fakeOps(Buffer.from('new'), 0o100600), '/remote', join(dir, 'a'), ctx());
    assert.equal(readFileSync(join(dir, 'b'), 'utf8'), 'new', 'the other hard link kept the old contents');
    assert.equal(statSync(join(dir, 'a')).mode & 0o777, 0o640);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/**
 * A null device of the test's own (major 1, minor 3: Linux's /dev/null) in
 * a temporary directory, or null where it cannot be made or opened (not
 * root, a nodev mount). Not /dev/null itself: a client without the fix
 * would rename a file over the machine's /dev/null.
 */
function privateNullDevice(dir: string): string | null {
  const path = join(dir, 'null');
  if (spawnSync('mknod', ['-m', '666', path, 'c', '1', '3']).status !== 0) return null;
  try {
    writeFileSync(path, 'probe');
    return path;
  } catch {
    return null;
  }
}

test('get to a null device (as /dev/null) writes into the device and leaves it a character device', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sftprev-links-'));
  try {
    const dev = privateNullDevice(dir);
    if (dev === null) return t.skip('cannot make a device node here');
    const data = Buffer.alloc(300_000, 7);
    await getFile(fakeOps(data, 0o100600), '/remote', dev, ctx());
    assert.ok(lstatSync(dev).isCharacterDevice(), 'the device was replaced by a regular file');
    assert.equal(lstatSync(dev).rdev, statSync('/dev/null').rdev);
    assert.deepEqual(readdirSync(dir), ['null'], 'a temporary file was left behind');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('get to a FIFO writes into it in order', { timeout: 30_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sftprev-links-'));
  try {
    const fifo = join(dir, 'fifo');
    if (spawnSync('mkfifo', [fifo]).status !== 0) return t.skip('no mkfifo');
    const data = Buffer.alloc(200_000);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7) & 0xff;
    const got = new Promise<Buffer>((resolve, reject) => {
      const parts: Buffer[] = [];
      createReadStream(fifo).on('data', (b) => parts.push(b as Buffer)).on('end', () => resolve(Buffer.concat(parts))).on('error', reject);
    });
    await getFile(fakeOps(data, 0o100600), '/remote', fifo, ctx());
    assert.ok(lstatSync(fifo).isFIFO(), 'the FIFO was replaced by a regular file');
    assert.deepEqual(await got, data);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('get through a dangling symbolic link makes its target', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sftprev-links-'));
  try {
    symlinkSync('made', join(dir, 'link'));
    await getFile(fakeOps(Buffer.from('new'), 0o100600), '/remote', join(dir, 'link'), ctx());
    assert.ok(lstatSync(join(dir, 'link')).isSymbolicLink());
    assert.equal(readFileSync(join(dir, 'made'), 'utf8'), 'new');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a plain destination is still replaced through a temporary name (its inode changes)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sftprev-links-'));
  try {
    writeFileSync(join(dir, 'plain'), 'old-and-longer');
    const before = statSync(join(dir, 'plain')).ino;
    await getFile(fakeOps(Buffer.from('new'), 0o100600), '/remote', join(dir, 'plain'), ctx());
    assert.equal(readFileSync(join(dir, 'plain'), 'utf8'), 'new');
    assert.notEqual(statSync(join(dir, 'plain')).ino, before);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('put onto a remote symbolic link writes through it, keeping the link and the target\'s mode', { timeout: 30_000 }, async () => {
  const fs = new MemoryFileSystem({ now: Date.now });
  fs.mkdirs('/d');
  fs.writeFile('/d/target', 'old contents, longer', { mode: 0o640 });
  await fs.symlink('target', '/d/link');
  const server = await startServer({
    authenticate: () => true,
    session: (s) => {
      s.onSubsystem = sftpSubsystem({ fileSystem: fs });
    },
  });
  const dir = mkdtempSync(join(tmpdir(), 'sftprev-links-'));
  try {
    writeFileSync(join(dir, 'src'), 'new');
    chmodSync(join(dir, 'src'), 0o600);
    const sftp = await (await server.connect({ password: 'x' })).sftp();
    await sftp.put(join(dir, 'src'), '/d/link');
    assert.ok(isSymbolicLink(await sftp.lstat('/d/link')), 'the link was replaced by a regular file');
    assert.equal(Buffer.from(fs.readFile('/d/target')).toString(), 'new');
    assert.equal((await sftp.stat('/d/target')).mode! & 0o777, 0o640);
    const names = (await sftp.list('/d')).map((e) => e.filename).sort();
    assert.deepEqual(names, ['link', 'target'], 'a temporary file was left behind');
    // A plain regular file is still replaced by rename.
    await sftp.put(join(dir, 'src'), '/d/target');
    assert.equal(Buffer.from(fs.readFile('/d/target')).toString(), 'new');
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await server.close();
  }
});
