// One-file transfers against a scripted server and local failures: a local
// disk that fills up fails a download promptly (never a hang with the reader
// paused), and leaves no temporary file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getFile, type TransferContext } from '../../src/client/sftp/transfer.js';
import { LocalWriter } from '../../src/client/sftp/local-writer.js';
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
      return { size: file.length, mode: 0o100644 };
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

test('get writes the file whole under a temporary name, renamed into place', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sftp-transfer-'));
  try {
    const data = randomBytes(3 * 1024 * 1024 + 5);
    await getFile(fakeOps(data), '/remote', join(dir, 'out'), ctx());
    assert.deepEqual(readFileSync(join(dir, 'out')), data);
    assert.deepEqual(readdirSync(dir), ['out']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a local disk that fills up fails the download at once with ENOSPC', { skip: !existsSync('/dev/full') && 'no /dev/full' }, async () => {
  const data = randomBytes(32 * 1024 * 1024);
  // resume writes in place: to /dev/full, every write fails with ENOSPC.
  const run = getFile(fakeOps(data), '/remote', '/dev/full', { ...ctx(), o: { resume: true } });
  await assert.rejects(run, (e: NodeJS.ErrnoException) => e.code === 'ENOSPC');
});

test('LocalWriter reports a failed write once, and idle() rejects with it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sftp-writer-'));
  const path = join(dir, 'f');
  closeSync(openSync(path, 'w'));
  const fd = openSync(path, 'r'); // not open for writing: EBADF
  try {
    const w = new LocalWriter(fd, 0);
    const errors: Error[] = [];
    w.onError = (e) => errors.push(e);
    w.add(new Uint8Array(10));
    w.add(new Uint8Array(10));
    await assert.rejects(w.idle(), (e: NodeJS.ErrnoException) => e.code === 'EBADF');
    assert.equal(errors.length, 1);
    assert.equal(w.error, errors[0]);
  } finally {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  }
});
