// Review reproduction (issue 13): a file whose name is not valid UTF-8 is
// silently left out of a NodeFileSystem listing (Node's Dir decodes the name
// to U+FFFD, the lstat of the decoded name fails, and the entry is dropped as
// "removed meanwhile"). OpenSSH's sftp-server lists it; `get -r` over Nacre's
// server silently skips the file and exits 0.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NodeFileSystem } from '../../src/server/sftp/node-fs.js';

for (const confined of [false, true]) {
  test(`NodeFileSystem lists a file whose name is not UTF-8 (${confined ? 'confined' : 'unconfined'})`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sftprev-names-'));
    try {
      writeFileSync(Buffer.concat([Buffer.from(dir + '/'), Buffer.from([0xff, 0x61])]), 'data');
      writeFileSync(join(dir, 'ok'), 'data');
      assert.equal(readdirSync(dir).length, 2);
      const fs = confined ? new NodeFileSystem({ startDirectory: '/', root: dir }) : new NodeFileSystem({ startDirectory: dir });
      const h = await fs.opendir(confined ? '/' : dir);
      const names: string[] = [];
      for (let batch = await h.read(); batch !== null; batch = await h.read()) names.push(...batch.map((e) => e.name));
      await h.close();
      // '.', '..', 'ok' and the odd one (listed with what its directory entry tells)
      assert.equal(names.filter((n) => n !== '.' && n !== '..').length, 2, `listed: ${JSON.stringify(names)}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test(`NodeFileSystem reaches a file whose name is not UTF-8 by its listed name (${confined ? 'confined' : 'unconfined'})`, { todo: 'non-UTF-8 names need byte paths through the FileSystem interface (issue 13, open)' }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sftprev-names-'));
    try {
      writeFileSync(Buffer.concat([Buffer.from(dir + '/'), Buffer.from([0xff, 0x61])]), 'data');
      const fs = confined ? new NodeFileSystem({ startDirectory: '/', root: dir }) : new NodeFileSystem({ startDirectory: dir });
      const base = confined ? '' : dir;
      const h = await fs.opendir(confined ? '/' : dir);
      const names: string[] = [];
      for (let batch = await h.read(); batch !== null; batch = await h.read()) names.push(...batch.map((e) => e.name));
      await h.close();
      const odd = names.find((n) => n !== '.' && n !== '..');
      assert.ok(odd !== undefined, `listed: ${JSON.stringify(names)}`);
      const st = await fs.lstat(`${base}/${odd}`);
      assert.equal(st.size, 4);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
