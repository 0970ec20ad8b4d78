// File names that are not UTF-8, end to end over a real connection: the
// library client against Nacre's server on NodeFileSystem (confined and
// not). list() gives the names with their odd bytes escaped, get/put of one
// file and of whole trees make files with the very bytes, both ways.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NodeFileSystem } from '../../src/server/sftp/node-fs.js';
import { sftpSubsystem } from '../../src/server/sftp/serve.js';
import { pathFromBytes } from '../../src/wire/path-bytes.js';
import { startServer } from './server-helpers.js';

const work = mkdtempSync(join(tmpdir(), 'nacre-byte-names-'));
after(() => rmSync(work, { recursive: true, force: true }));

/** 0x80 alone, 0xff, a lone continuation byte, an overlong '/', Latin-1 'é', and a good UTF-8 name beside them. */
const ODD_BYTE_NAMES: Buffer[] = [
  Buffer.from([0x80]),
  Buffer.from([0x78, 0xff]),
  Buffer.from([0x61, 0xbf, 0x62]),
  Buffer.from([0x6f, 0xc0, 0xaf, 0x6f]),
  Buffer.from([0x63, 0x61, 0x66, 0xe9]),
  Buffer.from('ünïcødé'),
];

/** A path under `root` (a string) ending in byte names. */
const bytePath = (root: string, ...names: Buffer[]) => Buffer.concat([Buffer.from(root), ...names.flatMap((n) => [Buffer.from('/'), n])]);

/** A tree: a directory per odd name holding a file per odd name, plus files at the top; contents name the path. */
function makeByteTree(root: string): void {
  mkdirSync(root);
  for (const d of ODD_BYTE_NAMES) {
    mkdirSync(bytePath(root, d));
    for (const n of ODD_BYTE_NAMES) writeFileSync(bytePath(root, d, n), Buffer.concat([d, Buffer.from(' / '), n]));
    writeFileSync(bytePath(root, n2(d)), d);
  }
}
const n2 = (d: Buffer) => Buffer.concat([Buffer.from('f-'), d]);

/** The tree under `root` as sorted `hex(path) size hex(content)` lines, names read as bytes. */
function describeTree(root: string | Buffer, rel: Buffer = Buffer.alloc(0)): string[] {
  const out: string[] = [];
  for (const name of readdirSync(root, { encoding: 'buffer' })) {
    const p = Buffer.concat([Buffer.from(root), Buffer.from('/'), name]);
    const r = rel.length === 0 ? name : Buffer.concat([rel, Buffer.from('/'), name]);
    const st = lstatSync(p);
    if (st.isDirectory()) out.push(`${r.toString('hex')}/`, ...describeTree(p, r));
    else out.push(`${r.toString('hex')} ${readFileSync(p).toString('hex')}`);
  }
  return out.sort();
}

for (const confined of [false, true]) {
  test(`library client and Nacre's server (${confined ? 'confined' : 'unconfined'} NodeFileSystem): non-UTF-8 names listed, got and put byte for byte`, async () => {
    const top = mkdtempSync(join(work, 'case-'));
    const served = join(top, 'served');
    mkdirSync(served);
    const fileSystem = confined ? new NodeFileSystem({ startDirectory: '/', root: served }) : new NodeFileSystem({ startDirectory: served });
    const server = await startServer({ authenticate: () => true, session: (s) => void (s.onSubsystem = sftpSubsystem({ fileSystem })) });
    try {
      const sftp = await (await server.connect({ password: 'x' })).sftp();
      const remoteRoot = confined ? '' : served;
      const local = join(top, 'local');
      makeByteTree(local);
      // put -r, then the server's side is the same tree.
      await sftp.put(local, `${remoteRoot}/up`, { recursive: true });
      assert.deepEqual(describeTree(join(served, 'up')), describeTree(local));
      // list() gives each name with its bytes escaped, exactly once.
      const listed = (await sftp.list(`${remoteRoot}/up`)).map((e) => e.filename).filter((n) => !n.startsWith('f-'));
      assert.deepEqual(listed.sort(), ODD_BYTE_NAMES.map((n) => pathFromBytes(n)).sort());
      // one file by its listed name, both ways
      const odd = pathFromBytes(ODD_BYTE_NAMES[1]!);
      await sftp.get(`${remoteRoot}/up/${odd}/${odd}`, join(top, odd));
      assert.equal(readFileSync(bytePath(top, ODD_BYTE_NAMES[1]!)).toString(), readFileSync(bytePath(local, ODD_BYTE_NAMES[1]!, ODD_BYTE_NAMES[1]!)).toString());
      await sftp.put(join(top, odd), `${remoteRoot}/${odd}`);
      assert.ok(lstatSync(bytePath(served, ODD_BYTE_NAMES[1]!)).isFile());
      // get -r back, the same tree again.
      await sftp.get(`${remoteRoot}/up`, join(top, 'down'), { recursive: true });
      assert.deepEqual(describeTree(join(top, 'down')), describeTree(local));
      // remove by listed names
      for (const name of (await sftp.list(`${remoteRoot}/up`)).map((e) => e.filename)) {
        if (name.startsWith('f-')) await sftp.unlink(`${remoteRoot}/up/${name}`);
      }
      assert.deepEqual(readdirSync(join(served, 'up'), { encoding: 'buffer' }).map((b) => b.toString('hex')).sort(), ODD_BYTE_NAMES.map((b) => b.toString('hex')).sort());
      await sftp.end();
    } finally {
      await server.close();
    }
  });
}
