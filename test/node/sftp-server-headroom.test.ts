// A READ's DATA reply written into the room NodeFileSystem leaves before a
// read's bytes (src/sftp/server-headroom.ts): the header is the one the
// codec writes, the data is untouched, reads that share Node's buffer pool
// do not overwrite each other, and serveSftp sends each DATA reply as one
// chunk. Also the handle table's keys: a handle of another length, or one
// never given out, finds no file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Duplex } from 'node:stream';
import { NodeFileSystem } from '../../src/server/sftp/node-fs.js';
import { serveSftp } from '../../src/server/sftp/serve.js';
import { DATA_HEAD, replyInPlace, withHeadRoom } from '../../src/sftp/server-headroom.js';
import { dataReplyHeader } from '../../src/sftp/messages.js';
import { FX, FXP } from '../../src/sftp/constants.js';
import type { OpenMode } from '../../src/sftp/filesystem.js';

const READ: OpenMode = { read: true, write: false, append: false, create: false, truncate: false, exclusive: false };

const concat = (a: Uint8Array, b: Uint8Array) => Buffer.concat([a, b]);

test('replyInPlace: the codec header before the data, only for marked views with room, once', () => {
  const mem = new Uint8Array(DATA_HEAD + 5).fill(0xee);
  const data = mem.subarray(DATA_HEAD);
  data.set([1, 2, 3, 4, 5]);
  assert.equal(replyInPlace(7, data), null, 'not marked');
  withHeadRoom(data);
  const whole = replyInPlace(0xfedcba98, data);
  assert.ok(whole);
  assert.deepEqual(Buffer.from(whole), concat(dataReplyHeader(0xfedcba98, 5), data));
  assert.equal(whole.buffer, mem.buffer, 'written in place, not copied');
  assert.equal(replyInPlace(1, data), null, 'the room is used once');
  const tight = new Uint8Array(20).subarray(DATA_HEAD - 1);
  withHeadRoom(tight);
  assert.equal(replyInPlace(1, tight), null, 'fewer than DATA_HEAD bytes before it: never marked');
  const empty = new Uint8Array(DATA_HEAD).subarray(DATA_HEAD);
  withHeadRoom(empty);
  assert.deepEqual(Buffer.from(replyInPlace(3, empty)!), Buffer.from(dataReplyHeader(3, 0)));
});

test('NodeFileSystem reads have room for the header; replies written in place leave every other read intact', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nacre-headroom-'));
  try {
    const sizes = [1, 13, 100, 4095, 4096, 5000, 70_000, 300_000];
    const contents = sizes.map((n) => randomBytes(n));
    contents.forEach((c, i) => writeFileSync(join(dir, `f${i}`), c));
    const fs = new NodeFileSystem({ startDirectory: dir });
    const handles = await Promise.all(sizes.map((_, i) => fs.open(join(dir, `f${i}`), READ, {})));
    // Many small reads at once: their buffers come from Node's shared pool, next to each other.
    const reads: { data: Uint8Array; want: Buffer }[] = [];
    for (let round = 0; round < 3; round++) {
      for (const [i, h] of handles.entries()) {
        const c = contents[i]!;
        const offsets = [0, Math.floor(c.length / 3), c.length - 1];
        for (const off of offsets) {
          const len = 1 + ((round * 7919 + off) % 40_000);
          const data = await h.read(off, len);
          reads.push({ data, want: c.subarray(off, off + len) });
        }
      }
    }
    for (const r of reads) assert.ok(r.data.byteOffset >= DATA_HEAD);
    // Write every reply in place, then check every read's data.
    const wholes = reads.map((r, i) => replyInPlace(i + 1, r.data));
    for (const [i, r] of reads.entries()) {
      assert.deepEqual(Buffer.from(r.data), r.want, `read ${i}: data intact`);
      const w = wholes[i];
      assert.ok(w, `read ${i} was marked`);
      assert.deepEqual(Buffer.from(w), concat(dataReplyHeader(i + 1, r.want.length), r.want));
    }
    // The read that finds the end is empty (no reply in place to write).
    assert.equal((await handles[0]!.read(1, 100)).length, 0);
    await Promise.all(handles.map((h) => h.close()));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** serveSftp on an in-memory stream; `request` sends a packet and waits for the reply (as its chunks). */
function served(dir: string) {
  const chunks: Buffer[] = [];
  let pending: { resolve: (reply: { chunks: Buffer[]; payload: Buffer }) => void; from: number } | null = null;
  let all = Buffer.alloc(0);
  const stream = new Duplex({
    read() {},
    write(chunk: Buffer, _e, cb) {
      chunks.push(Buffer.from(chunk));
      all = Buffer.concat([all, chunk]);
      if (pending && all.length >= 4 && all.length >= 4 + all.readUInt32BE(0)) {
        const n = all.readUInt32BE(0);
        const payload = all.subarray(4, 4 + n);
        all = all.subarray(4 + n);
        const p = pending;
        pending = null;
        p.resolve({ chunks: chunks.slice(p.from), payload });
      }
      cb();
    },
  });
  const serving = serveSftp(stream, { fileSystem: new NodeFileSystem({ startDirectory: dir }) });
  const u32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n);
    return b;
  };
  const str = (s: Uint8Array | string) => concat(u32(Buffer.byteLength(s as string)), typeof s === 'string' ? Buffer.from(s) : s);
  let id = 0;
  const request = (type: number, ...parts: Buffer[]) =>
    new Promise<{ chunks: Buffer[]; payload: Buffer }>((resolve) => {
      pending = { resolve, from: chunks.length };
      const body = Buffer.concat([Buffer.from([type]), ...(type === FXP.INIT ? [] : [u32(++id)]), ...parts]);
      stream.push(concat(u32(body.length), body));
    });
  return { request, u32, str, end: () => (stream.push(null), serving.done) };
}

test('serveSftp sends each DATA reply of NodeFileSystem as one chunk; handles of another length or never given out find no file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nacre-headroom-'));
  try {
    const small = randomBytes(4096);
    const big = randomBytes(600_000);
    writeFileSync(join(dir, 'small'), small);
    writeFileSync(join(dir, 'big'), big);
    const s = served(dir);
    await s.request(FXP.INIT, s.u32(3));
    const u64 = (n: number) => concat(s.u32(Math.floor(n / 2 ** 32)), s.u32(n >>> 0));
    for (const [name, content] of [['small', small], ['big', big]] as const) {
      const open = await s.request(FXP.OPEN, s.str(join(dir, name)), s.u32(1), s.u32(0));
      assert.equal(open.payload[0], FXP.HANDLE);
      const handle = open.payload.subarray(9);
      assert.equal(handle.length, 4);
      let off = 0;
      const got: Buffer[] = [];
      for (;;) {
        const r = await s.request(FXP.READ, s.str(handle), u64(off), s.u32(261_120));
        if (r.payload[0] === FXP.STATUS) {
          assert.equal(r.payload.readUInt32BE(5), FX.EOF);
          break;
        }
        assert.equal(r.payload[0], FXP.DATA);
        assert.equal(r.chunks.length, 1, 'header and data in one chunk');
        const n = r.payload.readUInt32BE(5);
        got.push(r.payload.subarray(9, 9 + n));
        off += n;
      }
      assert.deepEqual(Buffer.concat(got), content);
      // The same handle with a byte more, or another 4-byte handle: no such handle.
      const longer = await s.request(FXP.READ, s.str(concat(handle, Buffer.from([0]))), u64(0), s.u32(10));
      assert.equal(longer.payload[0], FXP.STATUS);
      assert.equal(longer.payload.readUInt32BE(5), FX.FAILURE);
      const other = Buffer.from(handle);
      other[3]! ^= 0x80;
      const never = await s.request(FXP.READ, s.str(other), u64(0), s.u32(10));
      assert.equal(never.payload.readUInt32BE(5), FX.FAILURE);
      const close = await s.request(FXP.CLOSE, s.str(handle));
      assert.equal(close.payload.readUInt32BE(5), FX.OK);
      const again = await s.request(FXP.READ, s.str(handle), u64(0), s.u32(10));
      assert.equal(again.payload.readUInt32BE(5), FX.FAILURE, 'a closed handle is gone');
    }
    await s.end();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
