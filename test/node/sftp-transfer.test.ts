// One-file transfers against a scripted server and local failures: a local
// disk that fills up fails a download promptly (never a hang with the reader
// paused), and leaves no temporary file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getFile } from '../../src/client/sftp/transfer.js';
import { LocalWriter } from '../../src/client/sftp/local-writer.js';
import { fakeCtx, fakeOps } from './sftp-fake-ops.js';


const ctx = fakeCtx;

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
