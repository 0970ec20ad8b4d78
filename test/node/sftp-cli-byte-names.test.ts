// nacre-sftp's pure parts with names that are not UTF-8 (their odd bytes
// escaped as U+DC80..U+DCFF): globs and completion find them and hand back
// the escaped name (which reaches the file), sorting is by bytes as sftp's
// strcmp, and the local glob reads a directory's names as bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { byteCompare, sortEntries } from '../../src/cli/sftp/ls-format.js';
import { glob, type GlobFs } from '../../src/cli/common/glob.js';
import { completeLine } from '../../src/cli/sftp/complete.js';
import { nodeLocalOps } from '../../src/cli/sftp/local.js';
import { pathFromBytes, showPath } from '../../src/wire/path-bytes.js';

const xff = pathFromBytes(Uint8Array.from([0x78, 0xff]));
const b80 = pathFromBytes(Uint8Array.from([0x80]));
const cafe1 = pathFromBytes(Uint8Array.from([0x63, 0x61, 0x66, 0xe9]));

const remote: GlobFs = {
  readdir: async (dir) => (dir === '/d' ? [xff, b80, cafe1, 'ü', 'y'].map((name) => ({ name, attrs: { mode: 0o100644 } })) : null),
  lstat: async (p) => (p === '/d' ? { mode: 0o040755 } : [xff, b80, cafe1, 'ü', 'y'].some((n) => p === `/d/${n}`) ? { mode: 0o100644 } : null),
  stat: async (p) => remote.lstat(p),
};

test('sorting is by bytes, as sftp sorts with strcmp: 0x80 before U+00FC (0xc3 0xbc), 0xff last', () => {
  const sorted = sortEntries(['ü', xff, b80, 'y', cafe1].map((name) => ({ name, attrs: {} })), 'name', false).map((e) => showPath(e.name));
  assert.deepEqual(sorted, ['caf\\351', 'x\\377', 'y', '\\200', 'ü']);
  assert.ok(byteCompare(b80, 'ü') < 0);
  assert.ok(byteCompare('ü', pathFromBytes(Uint8Array.from([0xff]))) < 0);
});

test('a remote glob and completion find escaped names and give them back as they were listed', async () => {
  const found = await glob('/d/x*', remote, {});
  assert.deepEqual(
    found.matches.map((m) => m.path),
    [`/d/${xff}`],
  );
  const sources = {
    pwd: () => '/d',
    remoteGlob: async (p: string) => (await glob(p, remote, { mark: true })).matches.map((m) => m.path),
    localGlob: async () => [],
  };
  assert.deepEqual(await completeLine('get x', sources), [[`${xff} `], 'x']);
  assert.deepEqual(await completeLine('rm caf', sources), [[`${cafe1} `], 'caf']);
});

test('the local glob lists a directory by bytes: a name that is not UTF-8 is found and stat-able', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nacre-cli-bytes-'));
  try {
    writeFileSync(Buffer.concat([Buffer.from(dir + '/'), Buffer.from([0x78, 0xff])]), 'data');
    const local = nodeLocalOps({ env: {} });
    const found = await glob(`${dir}/x*`, local.globFs, {});
    assert.deepEqual(
      found.matches.map((m) => m.path),
      [`${dir}/${xff}`],
    );
    assert.equal((await local.stat(`${dir}/${xff}`))?.size, 4);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
