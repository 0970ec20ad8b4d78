// Review reproduction (issue 13): a file whose name is not valid UTF-8 was
// silently left out of a NodeFileSystem listing (Node's Dir decoded the name
// to U+FFFD, the lstat of the decoded name failed, and the entry was dropped
// as "removed meanwhile"), then listed but unreachable. Names are now read as
// bytes and carried with their odd bytes escaped (src/wire/path-bytes.ts):
// listed, and reached by the listed name, confined or not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
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

  test(`NodeFileSystem reaches a file whose name is not UTF-8 by its listed name (${confined ? 'confined' : 'unconfined'})`, async () => {
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
      assert.equal(odd, 'a'.replace('a', '\uDCFFa'));
      const st = await fs.lstat(`${base}/${odd}`);
      assert.equal(st.size, 4);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

/** Names with 0x80, 0xff, a lone continuation byte and an overlong '/' (each as bytes, then as the escaped string). */
const ODD: Buffer[] = [Buffer.from([0x80]), Buffer.from([0x78, 0xff]), Buffer.from([0x61, 0xbf, 0x62]), Buffer.from([0x6f, 0xc0, 0xaf])];
const escaped = (b: Buffer) => Array.from(b, (x) => (x < 0x80 ? String.fromCharCode(x) : String.fromCharCode(0xdc00 + x))).join('');

for (const confined of [false, true]) {
  test(`NodeFileSystem: every path operation on non-UTF-8 names reaches the very bytes (${confined ? 'confined' : 'unconfined'})`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sftprev-names-'));
    const host = (...parts: Buffer[]) => Buffer.concat([Buffer.from(dir), ...parts.flatMap((p) => [Buffer.from('/'), p])]);
    try {
      const fs = confined ? new NodeFileSystem({ startDirectory: '/', root: dir }) : new NodeFileSystem({ startDirectory: dir });
      const at = (...names: Buffer[]) => (confined ? '' : dir) + names.map((n) => `/${escaped(n)}`).join('');
      const [d, f, g, l] = ODD as [Buffer, Buffer, Buffer, Buffer];
      await fs.mkdir(at(d), {});
      const h = await fs.open(at(d, f), { read: false, write: true, append: false, create: true, truncate: true, exclusive: true }, {});
      await h.write(0, Buffer.from('bytes'));
      await h.close();
      assert.equal(readFileSync(host(d, f), 'utf8'), 'bytes');
      assert.equal((await fs.stat(at(d, f))).size, 5);
      await fs.setstat(at(d, f), { mode: 0o600 }, true);
      await fs.rename(at(d, f), at(d, g), false);
      assert.equal(readFileSync(host(d, g), 'utf8'), 'bytes');
      await fs.link(at(d, g), at(d, f));
      assert.equal((await fs.lstat(at(d, f))).nlink, 2);
      await fs.remove(at(d, f));
      // A link whose target is not UTF-8, made both ways.
      await fs.symlink(escaped(g), at(d, l));
      assert.equal(readlinkSync(host(d, l), { encoding: 'buffer' }).toString('hex'), g.toString('hex'));
      assert.equal(await fs.readlink(at(d, l)), escaped(g));
      assert.equal((await fs.stat(at(d, l))).size, 5, 'followed to the file');
      rmSync(host(d, l));
      symlinkSync(g, host(d, l));
      assert.equal(await fs.readlink(at(d, l)), escaped(g));
      const real = await fs.realpath(at(d, l));
      assert.equal(real, `${confined ? '' : dir}/${escaped(d)}/${escaped(g)}`);
      assert.equal(await fs.realpath(at(d, Buffer.from('new'))), `${confined ? '' : dir}/${escaped(d)}/new`);
      const listing = await fs.opendir(at(d));
      const names: string[] = [];
      for (let b = await listing.read(); b !== null; b = await listing.read()) names.push(...b.map((e) => e.name));
      await listing.close();
      assert.deepEqual(names.sort(), ['.', '..', escaped(g), escaped(l)].sort());
      await fs.remove(at(d, l));
      await fs.remove(at(d, g));
      await fs.rmdir(at(d));
      assert.deepEqual(readdirSync(dir), []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
