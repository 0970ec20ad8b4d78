// Node file access (src/io/node/files.ts, file-permissions.ts): bounded
// reads, StrictModes-style checks and atomic writes, on real files in a
// temporary directory.
import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import fs, { chmodSync, chownSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync, lstatSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import { KeyFileError, signerFromKeyObject } from '../../src/keys/index.js';
import { expandHome, isMissingFile, readBounded, updateFileAtomic, writeFileAtomic } from '../../src/io/node/files.js';
import { checkPrivateKeyFile, ensurePrivateDirectory, unsafeTrustFile } from '../../src/io/node/file-permissions.js';
import * as nacre from '../../src/index.js';

const posix = process.getuid ? false : 'no POSIX owners here';
const asRoot = process.getuid?.() === 0;

function withDir(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'nacre-files-'));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function keyFileError(problem: string, path: string, message: RegExp): (e: unknown) => boolean {
  return (e) => {
    assert.ok(e instanceof KeyFileError, `expected KeyFileError, got ${String(e)}`);
    assert.equal(e.problem, problem);
    assert.equal(e.path, path);
    assert.ok(e.message.startsWith(`${path}: `), e.message);
    assert.match(e.message, message);
    return true;
  };
}

test('readBounded: a file of exactly the limit is read; one byte more is refused, naming the file', () => {
  withDir((dir) => {
    const path = join(dir, 'f');
    const data = Buffer.alloc(20_000, 7);
    writeFileSync(path, data);
    assert.deepEqual(readBounded(path, 20_000, 'key file'), data);
    assert.throws(() => readBounded(path, 19_999, 'key file'), keyFileError('io', path, /key file is larger than 19999 bytes; refused/));
    assert.throws(() => readBounded(path, 1024, 'test file', { problem: 'not-a-private-key' }), keyFileError('not-a-private-key', path, /larger than 1 KiB/));
    writeFileSync(path, '');
    assert.equal(readBounded(path, 0, 'key file').length, 0);
  });
});

test('readBounded: the limit holds when stat does not tell the size', { skip: fs.existsSync('/proc/self/status') ? false : 'no /proc' }, () => {
  // /proc files report size 0 and hold more: only the read itself can notice.
  assert.equal(statSync('/proc/self/status').size, 0);
  assert.throws(() => readBounded('/proc/self/status', 10, 'status file'), keyFileError('io', '/proc/self/status', /larger than 10 bytes/));
  assert.ok(readBounded('/proc/self/status', 1 << 20, 'status file').toString('utf8').includes('Name:'));
});

test('readBounded: a missing file and a directory are typed errors naming the file', () => {
  withDir((dir) => {
    const missing = join(dir, 'no-such-file');
    assert.throws(() => readBounded(missing, 100, 'key file'), keyFileError('io', missing, /cannot read key file \(no such file\)/));
    try {
      readBounded(missing, 100, 'key file');
    } catch (e) {
      assert.ok(isMissingFile(e));
    }
    assert.throws(() => readBounded(dir, 100, 'known_hosts file'), keyFileError('io', dir, /known_hosts file is not a regular file/));
    try {
      readBounded(dir, 100, 'x');
    } catch (e) {
      assert.ok(!isMissingFile(e));
    }
    assert.throws(() => readBounded(join(dir, 'f'), -1, 'x'), RangeError);
  });
});

test('readBounded: a FIFO is refused at once instead of waiting for a writer', { skip: process.platform === 'win32' ? 'no FIFOs' : false }, async () => {
  const { execFileSync } = await import('node:child_process');
  withDir((dir) => {
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    assert.throws(() => readBounded(fifo, 100, 'key file', { problem: 'not-a-private-key' }), keyFileError('not-a-private-key', fifo, /not a regular file/));
  });
});

test('expandHome: ~ and ~/ name the home directory, nothing else is touched', () => {
  assert.equal(expandHome('~/.ssh/known_hosts', '/home/u'), '/home/u/.ssh/known_hosts');
  assert.equal(expandHome('~', '/home/u'), '/home/u');
  assert.equal(expandHome('~other/x', '/home/u'), '~other/x');
  assert.equal(expandHome('/etc/ssh/x~/y', '/home/u'), '/etc/ssh/x~/y');
  assert.equal(expandHome('~/x'), join(homedir(), 'x'));
});

test('unsafeTrustFile: group- or world-writable files and directories up to home are refused', { skip: posix }, () => {
  withDir((home) => {
    const ssh = join(home, '.ssh');
    mkdirSync(ssh, { mode: 0o700 });
    chmodSync(home, 0o755);
    const file = join(ssh, 'authorized_keys');
    writeFileSync(file, 'x\n', { mode: 0o600 });
    assert.equal(unsafeTrustFile(file, home), null);

    chmodSync(file, 0o620);
    assert.equal(unsafeTrustFile(file, home), `${file} is writable by group or others (mode 620)`);
    chmodSync(file, 0o644); // readable by others is fine for a public file
    assert.equal(unsafeTrustFile(file, home), null);

    chmodSync(ssh, 0o777);
    assert.equal(unsafeTrustFile(file, home), `${ssh} is writable by group or others (mode 777)`);
    chmodSync(ssh, 0o700);
    chmodSync(home, 0o757);
    assert.equal(unsafeTrustFile(file, home), `${home} is writable by group or others (mode 757)`);
    chmodSync(home, 0o700);
    // Above home is not examined (tmpdir itself is world-writable, sticky)...
    assert.equal(unsafeTrustFile(file, home), null);
    // ...but without a home on the way, every directory up to / is.
    assert.match(unsafeTrustFile(file, '/nonexistent-home') ?? '', /is writable by group or others \(mode 1?777\)/);
    // A missing file has nothing to trust.
    assert.equal(unsafeTrustFile(join(ssh, 'nothing'), home), null);
  });
});

test('unsafeTrustFile: another user owning the file or a parent is refused; root-owned counts as safe', { skip: asRoot ? false : 'needs root to chown' }, () => {
  // As root, the current user and root are the same uid: files made here
  // are root-owned and pass, as sshd lets root-owned files pass for anyone.
  withDir((home) => {
    const ssh = join(home, '.ssh');
    mkdirSync(ssh, { mode: 0o700 });
    const file = join(ssh, 'authorized_keys');
    writeFileSync(file, 'x\n', { mode: 0o600 });
    assert.equal(statSync(file).uid, 0);
    assert.equal(unsafeTrustFile(file, home), null);
    chownSync(file, 65534, 65534);
    assert.equal(unsafeTrustFile(file, home), `${file} belongs to another user (uid 65534)`);
    chownSync(file, 0, 0);
    chownSync(ssh, 65534, 65534);
    assert.equal(unsafeTrustFile(file, home), `${ssh} belongs to another user (uid 65534)`);
  });
});

test('checkPrivateKeyFile: a key group or others may read is refused, one only the owner may read is used', { skip: posix }, () => {
  withDir((dir) => {
    const key = join(dir, 'id_ed25519');
    writeFileSync(key, 'secret', { mode: 0o600 });
    chmodSync(key, 0o600);
    checkPrivateKeyFile(key);
    chmodSync(key, 0o400);
    checkPrivateKeyFile(key);
    for (const mode of [0o640, 0o604, 0o644, 0o660]) {
      chmodSync(key, mode);
      assert.throws(
        () => checkPrivateKeyFile(key, 'host key'),
        keyFileError('unsafe-permissions', key, new RegExp(`permissions ${mode.toString(8)} are too open for a host key \\(chmod 600 it\\)`)),
      );
    }
    assert.throws(() => checkPrivateKeyFile(join(dir, 'gone')), keyFileError('io', join(dir, 'gone'), /cannot read key file/));
    if (asRoot) {
      chmodSync(key, 0o600);
      chownSync(key, 65534, 65534);
      assert.throws(() => checkPrivateKeyFile(key), keyFileError('unsafe-permissions', key, /the private key belongs to another user \(uid 65534\)/));
    }
  });
});

test('ensurePrivateDirectory: makes the directory 0700, tightens a loose one, refuses another user\'s', { skip: posix }, () => {
  withDir((dir) => {
    const state = join(dir, 'a', 'state');
    ensurePrivateDirectory(state);
    assert.equal(statSync(state).mode & 0o777, 0o700);
    chmodSync(state, 0o775);
    ensurePrivateDirectory(state, 'state directory');
    assert.equal(statSync(state).mode & 0o777, 0o700);
    if (asRoot) {
      chownSync(state, 65534, 65534);
      assert.throws(() => ensurePrivateDirectory(state, 'state directory'), keyFileError('unsafe-permissions', state, /the state directory belongs to another user \(uid 65534\)/));
    }
  });
});

test('writeFileAtomic: replaces the content, sets the mode given, keeps the old mode when none is, leaves no temporary file', () => {
  withDir((dir) => {
    const path = join(dir, 'known_hosts');
    writeFileAtomic(path, 'one\n');
    assert.equal(readFileSync(path, 'utf8'), 'one\n');
    if (!posix) assert.equal(statSync(path).mode & 0o777, 0o600);
    writeFileAtomic(path, Buffer.from('two\n'), 0o644);
    assert.equal(readFileSync(path, 'utf8'), 'two\n');
    if (!posix) {
      assert.equal(statSync(path).mode & 0o777, 0o644);
      chmodSync(path, 0o640);
      writeFileAtomic(path, 'three\n');
      assert.equal(statSync(path).mode & 0o777, 0o640);
      // The umask does not take bits away from the mode asked for.
      const old = process.umask(0o077);
      try {
        writeFileAtomic(path, 'four\n', 0o644);
      } finally {
        process.umask(old);
      }
      assert.equal(statSync(path).mode & 0o777, 0o644);
    }
    assert.deepEqual(readdirSync(dir), ['known_hosts']);
  });
});

test('writeFileAtomic: a symlink is followed, so the link stays and its target gets the content', { skip: process.platform === 'win32' ? 'symlinks need privileges' : false }, () => {
  withDir((dir) => {
    const real = join(dir, 'real');
    const link = join(dir, 'link');
    writeFileSync(real, 'old');
    symlinkSync(real, link);
    writeFileAtomic(link, 'new');
    assert.ok(lstatSync(link).isSymbolicLink());
    assert.equal(readFileSync(real, 'utf8'), 'new');
  });
});

test('writeFileAtomic: a failed rename leaves the old file intact and no temporary file behind', () => {
  withDir((dir) => {
    const path = join(dir, 'known_hosts');
    writeFileSync(path, 'old\n', { mode: 0o600 });
    const renamed = mock.method(fs, 'renameSync', () => {
      throw Object.assign(new Error('EXDEV: simulated failure'), { code: 'EXDEV' });
    });
    syncBuiltinESMExports();
    try {
      assert.throws(() => writeFileAtomic(path, 'new\n', 0o600, { what: 'known_hosts file' }), keyFileError('io', path, /cannot write known_hosts file \(EXDEV: simulated failure\)/));
      assert.equal(renamed.mock.callCount(), 1);
    } finally {
      renamed.mock.restore();
      syncBuiltinESMExports();
    }
    assert.equal(readFileSync(path, 'utf8'), 'old\n');
    assert.deepEqual(readdirSync(dir), ['known_hosts']);
  });
});

test('writeFileAtomic: a directory it may not write is a typed error and the old file stays', { skip: asRoot || posix ? 'root writes anywhere' : false }, () => {
  withDir((dir) => {
    const path = join(dir, 'known_hosts');
    writeFileSync(path, 'old\n');
    chmodSync(dir, 0o500);
    try {
      assert.throws(() => writeFileAtomic(path, 'new\n'), keyFileError('io', path, /cannot write file \(permission denied\)/));
    } finally {
      chmodSync(dir, 0o700);
    }
    assert.equal(readFileSync(path, 'utf8'), 'old\n');
  });
});

test('writeFileAtomic exclusive: creates a new file, refuses to replace one that exists', () => {
  withDir((dir) => {
    const path = join(dir, 'host_key');
    writeFileAtomic(path, 'first', 0o600, { exclusive: true, what: 'host key' });
    assert.equal(readFileSync(path, 'utf8'), 'first');
    assert.throws(() => writeFileAtomic(path, 'second', 0o600, { exclusive: true, what: 'host key' }), keyFileError('io', path, /cannot write host key \(it already exists\)/));
    assert.equal(readFileSync(path, 'utf8'), 'first');
    assert.deepEqual(readdirSync(dir), ['host_key']);
  });
});

test('writeFileAtomic: a missing directory is a typed error naming the file', () => {
  withDir((dir) => {
    const path = join(dir, 'no-such-dir', 'f');
    assert.throws(() => writeFileAtomic(path, 'x'), keyFileError('io', path, /cannot write file \(no such file\)/));
  });
});

test('loadPrivateKeyFile reads through the bounded reader and stays a public export', () => {
  withDir((dir) => {
    const big = join(dir, 'big');
    writeFileSync(big, Buffer.alloc((1 << 20) + 1, 0x41));
    assert.throws(() => nacre.loadPrivateKeyFile(big), keyFileError('too-large', big, /key file is larger than 1 MiB/));
    const pem = join(dir, 'key.pem');
    assert.throws(() => nacre.signerFromPrivateKeyPath(pem), keyFileError('io', pem, /cannot read key file \(no such file\)/));
    const { privateKey } = generateKeyPairSync('ed25519');
    writeFileAtomic(pem, privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, 0o600);
    const expected = signerFromKeyObject(privateKey).publicBlob;
    assert.deepEqual(nacre.loadPrivateKeyFile(pem).publicBlob, expected);
    assert.deepEqual(nacre.signerFromPrivateKeyPath(pem).publicBlob, expected);
  });
});

test('writeFileAtomic and updateFileAtomic: a link to a file not made yet is written through and stays a link (as ssh appends through it)', { skip: process.platform === 'win32' ? 'symlinks need privileges' : false }, () => {
  withDir((dir) => {
    mkdirSync(join(dir, 'dotfiles'));
    mkdirSync(join(dir, '.ssh'));
    // Relative, through a second link: .ssh/known_hosts -> kh -> ../dotfiles/known_hosts (missing).
    symlinkSync('kh', join(dir, '.ssh', 'known_hosts'));
    symlinkSync('../dotfiles/known_hosts', join(dir, '.ssh', 'kh'));
    const path = join(dir, '.ssh', 'known_hosts');
    assert.equal(updateFileAtomic(path, (current) => `${current}line 1\n`, { what: 'known_hosts file', maxBytes: 1 << 20 }), true);
    assert.ok(lstatSync(path).isSymbolicLink(), 'the link is kept');
    assert.ok(lstatSync(join(dir, '.ssh', 'kh')).isSymbolicLink(), 'and the link it names');
    assert.equal(readFileSync(join(dir, 'dotfiles', 'known_hosts'), 'utf8'), 'line 1\n');
    assert.equal(statSync(join(dir, 'dotfiles', 'known_hosts')).mode & 0o777, 0o600);
    updateFileAtomic(path, (current) => `${current}line 2\n`, { what: 'known_hosts file', maxBytes: 1 << 20 });
    assert.equal(readFileSync(join(dir, 'dotfiles', 'known_hosts'), 'utf8'), 'line 1\nline 2\n');

    symlinkSync(join(dir, 'absent'), join(dir, 'abs-link'));
    writeFileAtomic(join(dir, 'abs-link'), 'x');
    assert.ok(lstatSync(join(dir, 'abs-link')).isSymbolicLink());
    assert.equal(readFileSync(join(dir, 'absent'), 'utf8'), 'x');
    assert.deepEqual(readdirSync(join(dir, 'dotfiles')), ['known_hosts'], 'no temporary file left');

    // A loop of links is refused, typed, and left alone.
    symlinkSync('loop-b', join(dir, 'loop-a'));
    symlinkSync('loop-a', join(dir, 'loop-b'));
    assert.throws(() => writeFileAtomic(join(dir, 'loop-a'), 'x', undefined, { what: 'known_hosts file' }), (e: unknown) => e instanceof KeyFileError && e.problem === 'io' && /symbolic links|ELOOP/i.test(e.message));
    assert.ok(lstatSync(join(dir, 'loop-a')).isSymbolicLink());
  });
});

test('updateFileAtomic: a line another program adds between our read and our rename is kept (the change is made again on the new text)', () => {
  withDir((dir) => {
    const path = join(dir, 'known_hosts');
    writeFileSync(path, 'first\n', { mode: 0o640 });
    let writes = 0;
    const seen: string[] = [];
    const realWrite = (fd: number, data: Uint8Array) => void fs.writeSync(fd, data);
    const wrote = updateFileAtomic(
      path,
      (current) => {
        seen.push(current);
        return `${current}ours\n`;
      },
      {
        what: 'known_hosts file',
        maxBytes: 1 << 20,
        steps: {
          write(fd, data) {
            // While our temporary file is written, another ssh appends its host.
            if (++writes === 1) fs.appendFileSync(path, 'theirs\n');
            realWrite(fd, data);
          },
        },
      },
    );
    assert.equal(wrote, true);
    assert.deepEqual(seen, ['first\n', 'first\ntheirs\n']);
    assert.equal(readFileSync(path, 'utf8'), 'first\ntheirs\nours\n');
    assert.equal(statSync(path).mode & 0o777, 0o640);
    assert.deepEqual(readdirSync(dir), ['known_hosts'], 'the abandoned temporary file is gone');

    // A file that never stops changing is a typed error, and loses nothing.
    assert.throws(
      () =>
        updateFileAtomic(path, (current) => `${current}never\n`, {
          what: 'known_hosts file',
          maxBytes: 1 << 20,
          steps: {
            write(fd, data) {
              fs.appendFileSync(path, 'busy\n');
              realWrite(fd, data);
            },
          },
        }),
      (e: unknown) => e instanceof KeyFileError && e.problem === 'io' && /kept changing/.test(e.message),
    );
    assert.match(readFileSync(path, 'utf8'), /^first\ntheirs\nours\n(busy\n)+$/);
    assert.deepEqual(readdirSync(dir), ['known_hosts']);
  });
});
