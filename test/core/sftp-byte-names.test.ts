// File names that are not UTF-8 through the SFTP codec and the server's
// state machine: a name a server lists goes back in the next request byte for
// byte (issue 13: "directory trees with ... odd names").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EXT, ExtRequest, FXP, FX, FxpInit, MAX_RECEIVE_PACKET, SftpFramer, decodeRequest, decodeResponse, encodeRequest, encodeResponse, frame, type SftpResponse } from '../../src/sftp/index.js';
import { MemoryFileSystem } from '../../src/sftp/memory-fs.js';
import { SftpServerSession } from '../../src/sftp/server-session.js';
import { runOperation } from '../../src/sftp/server-operations.js';
import { pathFromBytes } from '../../src/wire/path-bytes.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const bytes = (...parts: (string | number[] | Uint8Array)[]) => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p))));
/** Odd names: 0x80 and 0xff alone, a lone continuation byte after ASCII, an overlong '/', Latin-1, and a good UTF-8 one. */
const ODD = [bytes([0x80]), bytes('x', [0xff]), bytes('a', [0xbf], 'b'), bytes('over', [0xc0, 0xaf], 'long'), bytes('caf', [0xe9]), bytes('café')];

/** A uint32-length-prefixed field. */
function str(b: Uint8Array): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(b.length);
  return Buffer.concat([len, b]);
}

test('a NAME reply with non-UTF-8 names decodes to escapes and encodes back to the same bytes', () => {
  const payload = Buffer.concat([
    Buffer.from([FXP.NAME, 0, 0, 0, 9, 0, 0, 0, ODD.length]),
    ...ODD.map((n) => Buffer.concat([str(n), str(bytes('-rw-r--r-- 1 u u 0 Dec  3 10:00 ', n)), Buffer.from([0, 0, 0, 0])])),
  ]);
  const res = decodeResponse(payload);
  assert.equal(res.type, 'name');
  if (res.type !== 'name') return;
  assert.deepEqual(
    res.names.map((n) => n.filename),
    ODD.map((n) => pathFromBytes(n)),
  );
  assert.equal(res.names[1]!.filename, 'x\uDCFF');
  assert.equal(res.names[5]!.filename, 'café');
  assert.equal(hex(encodeResponse(res)), hex(payload));
});

test('requests carry escaped names as their bytes, in every path field (and extensions)', () => {
  for (const raw of ODD) {
    const name = pathFromBytes(raw);
    const stat = encodeRequest({ type: 'stat', id: 1, path: `/d/${name}` });
    assert.equal(hex(stat), hex(Buffer.concat([Buffer.from([FXP.STAT, 0, 0, 0, 1]), str(bytes('/d/', raw))])));
    for (const req of [
      { type: 'open' as const, id: 2, path: name, pflags: 1, attrs: {} },
      { type: 'rename' as const, id: 3, oldPath: name, newPath: `${name}.new` },
      { type: 'symlink' as const, id: 4, targetPath: name, linkPath: `l-${name}` },
      { type: 'extended' as const, id: 5, request: EXT.POSIX_RENAME, data: ExtRequest[EXT.POSIX_RENAME].encode({ oldPath: name, newPath: name }) },
    ]) {
      const back = decodeRequest(encodeRequest(req));
      assert.deepEqual(back, req);
    }
    assert.deepEqual(ExtRequest[EXT.POSIX_RENAME].decode(ExtRequest[EXT.POSIX_RENAME].encode({ oldPath: name, newPath: 'x' })), { oldPath: name, newPath: 'x' });
  }
});

test('the server lists a non-UTF-8 name as its bytes and reaches the file by them (MemoryFileSystem)', async () => {
  const fs = new MemoryFileSystem({ startDirectory: '/' });
  const replies: SftpResponse[] = [];
  const framer = new SftpFramer(MAX_RECEIVE_PACKET);
  const raw: Uint8Array[] = [];
  const logs: string[] = [];
  let pending: Promise<void>[] = [];
  const session = new SftpServerSession({
    output: (chunks) => {
      for (const c of chunks) framer.push(c);
      for (let p = framer.next(); p; p = framer.next()) {
        if (p[0] === FXP.VERSION) continue;
        raw.push(p.slice());
        replies.push(decodeResponse(p));
      }
    },
    operation: (op) => {
      pending.push(runOperation(fs, op).then((r) => session.complete(op, r as never), (e: unknown) => session.fail(op, e)));
    },
    log: (_level, line) => void logs.push(line),
    close: () => undefined,
    outputBlocked: () => false,
  });
  const send = async (payload: Uint8Array) => {
    session.receive(frame(payload));
    while (pending.length > 0) {
      const p = pending;
      pending = [];
      await Promise.all(p);
    }
    return replies.at(-1)!;
  };
  await send(FxpInit.encode({ version: 3, extensions: [] }));
  // Created by raw bytes, as OpenSSH's sftp sends them.
  const name = bytes('f', [0xff, 0x80], 'é', [0xc0, 0xaf]);
  const openRaw = Buffer.concat([Buffer.from([FXP.OPEN, 0, 0, 0, 1]), str(bytes('/', name)), Buffer.from([0, 0, 0, 0x1a, 0, 0, 0, 0])]);
  const opened = await send(openRaw);
  assert.equal(opened.type, 'handle');
  if (opened.type !== 'handle') return;
  await send(encodeRequest({ type: 'write', id: 2, handle: opened.handle, offset: 0, data: bytes('data') }));
  assert.equal((await send(encodeRequest({ type: 'close', id: 3, handle: opened.handle }))).type, 'status');
  const dir = await send(encodeRequest({ type: 'opendir', id: 4, path: '/' }));
  assert.equal(dir.type, 'handle');
  if (dir.type !== 'handle') return;
  const listed = await send(encodeRequest({ type: 'readdir', id: 5, handle: dir.handle }));
  assert.equal(listed.type, 'name');
  if (listed.type !== 'name') return;
  const entry = listed.names.find((n) => n.filename !== '.' && n.filename !== '..')!;
  // On the wire: the very bytes (searched in the raw reply).
  assert.ok(Buffer.from(raw.at(-1)!).includes(str(name)), 'the raw NAME reply holds the name as bytes');
  assert.ok(entry.longname.endsWith(entry.filename));
  // Sent back as listed: the same file.
  const st = await send(encodeRequest({ type: 'stat', id: 6, path: `/${entry.filename}` }));
  assert.equal(st.type, 'attrs');
  if (st.type === 'attrs') assert.equal(st.attrs.size, 4);
  // And a name with U+FFFD in its place is another (missing) file.
  const lossy = await send(encodeRequest({ type: 'stat', id: 7, path: `/${new TextDecoder().decode(name)}` }));
  assert.equal(lossy.type === 'status' && lossy.code, FX.NO_SUCH_FILE);
  // A symbolic link to it: its size is the target's bytes, readlink gives the target back.
  await send(encodeRequest({ type: 'symlink', id: 8, targetPath: entry.filename, linkPath: '/link' }));
  const link = await send(encodeRequest({ type: 'lstat', id: 9, path: '/link' }));
  assert.equal(link.type === 'attrs' && link.attrs.size, name.length);
  const target = await send(encodeRequest({ type: 'readlink', id: 10, path: '/link' }));
  assert.equal(target.type === 'name' && target.names[0]!.filename, entry.filename);
  // Log lines show the odd bytes as OpenSSH's log does.
  assert.ok(logs.some((l) => l.includes('"/f\\377\\200é\\300\\257"')), logs.join('\n'));
});

test('MemoryFileSystem counts a name in bytes, as the kernel does: 255 fit, 256 are ENAMETOOLONG', async () => {
  const fs = new MemoryFileSystem({ startDirectory: '/' });
  const fits = 'é'.repeat(127) + pathFromBytes(Uint8Array.from([0xff])); // 254 + 1 bytes
  const h = await fs.open(`/${fits}`, { read: false, write: true, append: false, create: true, truncate: false, exclusive: true }, {});
  await h.close();
  assert.equal((await fs.stat(`/${fits}`)).size, 0);
  await assert.rejects(fs.stat(`/${'é'.repeat(128)}`), (e: { code?: string }) => e.code === 'ENAMETOOLONG');
  await assert.rejects(fs.mkdir(`/${fits}x`, {}), (e: { code?: string }) => e.code === 'ENAMETOOLONG');
});
