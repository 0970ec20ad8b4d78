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
import { linkSync, lstatSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, chmodSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getFile, type TransferContext } from '../../src/client/sftp/transfer.js';
import { NO_DATA_EOF } from '../../src/client/sftp/reader.js';
import type { ReadDone, SftpOps } from '../../src/client/sftp/ops.js';
import type { SftpHandle } from '../../src/client/sftp/api.js';

function fakeOps(file: Uint8Array): SftpOps {
  const ops = {
    maxRead: 65536,
    maxWrite: 65536,
    async open(path: string): Promise<SftpHandle> {
      return { handle: new Uint8Array([1]), path };
    },
    async close(): Promise<void> {},
    async fstat() {
      return { size: file.length, mode: 0o100600 };
    },
    readInto(_h: SftpHandle, offset: number, length: number, done: ReadDone): void {
      setImmediate(() => {
        if (offset >= file.length) return done(NO_DATA_EOF, 0);
        const piece = file.subarray(offset, Math.min(offset + length, file.length));
        done([piece], piece.length);
      });
    },
  };
  return ops as unknown as SftpOps;
}

const ctx = (): TransferContext => ({ o: {}, chunkSize: 65536, concurrency: 16, pacer: undefined, totalTransferred: 0, filesDone: 0, buffers: [] });

test('get onto a local symbolic link writes through it, as sftp does', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sftprev-links-'));
  try {
    writeFileSync(join(dir, 'target'), 'old');
    symlinkSync('target', join(dir, 'link'));
    await getFile(fakeOps(Buffer.from('new')), '/remote', join(dir, 'link'), ctx());
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
    await getFile(fakeOps(Buffer.from('new')), '/remote', join(dir, 'a'), ctx());
    assert.equal(readFileSync(join(dir, 'b'), 'utf8'), 'new', 'the other hard link kept the old contents');
    assert.equal(statSync(join(dir, 'a')).mode & 0o777, 0o640);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
