// The SFTP codec: every request and reply round-tripped with seeded random
// values (ATTRS in every combination of its groups, each extension's data
// and reply), the framer across random chunk splits, the header-only DATA
// and WRITE encoders against the schemas; then random, truncated and
// bit-flipped packets into every decoder, which may only throw ProtocolError.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProtocolError } from '../../src/errors.js';
import { seededRandom } from '../../src/testing/random.js';
import type { FileAttributes } from '../../src/sftp/attrs.js';
import { EXT, FX, MAX_PACKET } from '../../src/sftp/constants.js';
import { ExtRequest, LimitsReply, StatvfsReply, UsersGroupsReply } from '../../src/sftp/extensions.js';
import { SftpFramer, frame } from '../../src/sftp/framing.js';
import {
  UnknownSftpPacket,
  dataReplyHeader,
  decodeRequest,
  decodeResponse,
  encodeRequest,
  encodeResponse,
  writeRequestHeader,
  type SftpRequest,
  type SftpResponse,
} from '../../src/sftp/messages.js';
import { fuzz } from './fuzz-helpers.js';

/** Seeded values of every shape the packets hold. */
class Values {
  private readonly random;
  constructor(seed: string) {
    this.random = seededRandom(seed);
  }
  /** 0 <= n < max (max up to 2^53). */
  int(max: number): number {
    if (max <= 1) return 0;
    const b = this.random(7);
    let v = 0;
    for (const x of b) v = v * 256 + x;
    return v % max;
  }
  bool(): boolean {
    return (this.random(1)[0]! & 1) === 1;
  }
  pick<T>(list: readonly T[]): T {
    return list[this.int(list.length)]!;
  }
  u32(): number {
    return this.pick([0, 1, 0xffffffff, this.int(2 ** 32)]);
  }
  u64(): number {
    return this.pick([0, 2 ** 32, Number.MAX_SAFE_INTEGER, this.int(Number.MAX_SAFE_INTEGER)]);
  }
  bytes(max = 64): Uint8Array {
    return this.random(this.int(max + 1));
  }
  /** Text with what paths hold: spaces, newlines, quotes, non-ASCII (valid UTF-8 only). */
  text(max = 24): string {
    const alphabet = ['a', 'Z', '0', ' ', '\n', "'", '"', '/', '.', '\\', 'é', '日', '😀', '\t', '-', '~'];
    let s = '';
    for (let n = this.int(max + 1); n > 0; n--) s += this.pick(alphabet);
    return s;
  }
  handle(): Uint8Array {
    return this.random(this.int(257));
  }
  /** ATTRS with the groups `mask` selects (bit 0 size, 1 owner, 2 mode, 3 times, 4 extended). */
  attrs(mask = this.int(32)): FileAttributes {
    const a: FileAttributes = {};
    if (mask & 1) a.size = this.u64();
    if (mask & 2) {
      a.uid = this.u32();
      a.gid = this.u32();
    }
    if (mask & 4) a.mode = this.u32();
    if (mask & 8) {
      a.atime = this.u32();
      a.mtime = this.u32();
    }
    if (mask & 16) a.extended = Array.from({ length: this.int(4) }, () => [this.text(), this.bytes()] as [string, Uint8Array]);
    return a;
  }
  id(): number {
    return this.u32();
  }
}

function requests(v: Values): SftpRequest[] {
  const id = () => v.id();
  return [
    { type: 'open', id: id(), path: v.text(), pflags: v.u32(), attrs: v.attrs() },
    { type: 'close', id: id(), handle: v.handle() },
    { type: 'read', id: id(), handle: v.handle(), offset: v.u64(), length: v.u32() },
    { type: 'write', id: id(), handle: v.handle(), offset: v.u64(), data: v.bytes(300) },
    { type: 'lstat', id: id(), path: v.text() },
    { type: 'fstat', id: id(), handle: v.handle() },
    { type: 'setstat', id: id(), path: v.text(), attrs: v.attrs() },
    { type: 'fsetstat', id: id(), handle: v.handle(), attrs: v.attrs() },
    { type: 'opendir', id: id(), path: v.text() },
    { type: 'readdir', id: id(), handle: v.handle() },
    { type: 'remove', id: id(), path: v.text() },
    { type: 'mkdir', id: id(), path: v.text(), attrs: v.attrs() },
    { type: 'rmdir', id: id(), path: v.text() },
    { type: 'realpath', id: id(), path: v.text() },
    { type: 'stat', id: id(), path: v.text() },
    { type: 'rename', id: id(), oldPath: v.text(), newPath: v.text() },
    { type: 'readlink', id: id(), path: v.text() },
    { type: 'symlink', id: id(), targetPath: v.text(), linkPath: v.text() },
    { type: 'extended', id: id(), request: v.text(), data: v.bytes(100) },
  ];
}

function responses(v: Values): SftpResponse[] {
  return [
    { type: 'status', id: v.id(), code: v.pick(Object.values(FX)), text: { message: v.text(), lang: v.pick(['', 'en']) } },
    { type: 'handle', id: v.id(), handle: v.handle() },
    { type: 'data', id: v.id(), data: v.bytes(300) },
    {
      type: 'name',
      id: v.id(),
      names: Array.from({ length: v.int(5) }, () => ({ filename: v.text(), longname: v.text(60), attrs: v.attrs() })),
    },
    { type: 'attrs', id: v.id(), attrs: v.attrs() },
    { type: 'extended-reply', id: v.id(), data: v.bytes(100) },
  ];
}

/** A value for each extension's request data. */
function extensionData(v: Values): { [N in keyof typeof ExtRequest]: Parameters<(typeof ExtRequest)[N]['encode']>[0] } {
  return {
    [EXT.POSIX_RENAME]: { oldPath: v.text(), newPath: v.text() },
    [EXT.STATVFS]: { path: v.text() },
    [EXT.FSTATVFS]: { handle: v.handle() },
    [EXT.HARDLINK]: { oldPath: v.text(), newPath: v.text() },
    [EXT.FSYNC]: { handle: v.handle() },
    [EXT.LSETSTAT]: { path: v.text(), attrs: v.attrs() },
    [EXT.LIMITS]: {},
    [EXT.EXPAND_PATH]: { path: v.text() },
    [EXT.COPY_DATA]: { readHandle: v.handle(), readOffset: v.u64(), length: v.u64(), writeHandle: v.handle(), writeOffset: v.u64() },
    [EXT.HOME_DIRECTORY]: { username: v.text() },
    [EXT.USERS_GROUPS_BY_ID]: { uids: Array.from({ length: v.int(6) }, () => v.u32()), gids: Array.from({ length: v.int(6) }, () => v.u32()) },
  };
}

function statvfs(v: Values) {
  const n = () => v.u64();
  return { bsize: n(), frsize: n(), blocks: n(), bfree: n(), bavail: n(), files: n(), ffree: n(), favail: n(), fsid: n(), flag: n(), namemax: n() };
}

const ROUNDS = 150;

test('every request type round-trips through encodeRequest and decodeRequest', () => {
  const v = new Values('sftp requests');
  const seen = new Set<string>();
  for (let i = 0; i < ROUNDS; i++) {
    for (const req of requests(v)) {
      seen.add(req.type);
      assert.deepEqual(decodeRequest(encodeRequest(req)), req, req.type);
    }
  }
  assert.equal(seen.size, 19);
});

test('every reply type round-trips through encodeResponse and decodeResponse', () => {
  const v = new Values('sftp responses');
  for (let i = 0; i < ROUNDS; i++) {
    for (const res of responses(v)) assert.deepEqual(decodeResponse(encodeResponse(res)), res, res.type);
  }
});

test('ATTRS round-trips with every combination of its groups, in each packet that carries it', () => {
  const v = new Values('sftp attrs');
  for (let mask = 0; mask < 32; mask++) {
    for (let i = 0; i < 8; i++) {
      const attrs = v.attrs(mask);
      const id = v.id();
      assert.deepEqual(decodeResponse(encodeResponse({ type: 'attrs', id, attrs })), { type: 'attrs', id, attrs }, `mask ${mask}`);
      const req: SftpRequest = { type: 'setstat', id, path: v.text(), attrs };
      assert.deepEqual(decodeRequest(encodeRequest(req)), req);
      const lset = { path: v.text(), attrs };
      assert.deepEqual(ExtRequest[EXT.LSETSTAT].decode(ExtRequest[EXT.LSETSTAT].encode(lset)), lset);
    }
  }
});

test('ATTRS refuses half a pair when encoding (uid without gid, atime without mtime)', () => {
  assert.throws(() => encodeResponse({ type: 'attrs', id: 1, attrs: { uid: 1 } }), RangeError);
  assert.throws(() => encodeResponse({ type: 'attrs', id: 1, attrs: { mtime: 1 } }), RangeError);
});

test("each extension's request data round-trips, alone and inside an EXTENDED request", () => {
  const v = new Values('sftp extensions');
  for (let i = 0; i < ROUNDS; i++) {
    const data = extensionData(v);
    for (const name of Object.keys(ExtRequest) as (keyof typeof ExtRequest)[]) {
      const schema = ExtRequest[name] as unknown as { encode(x: unknown): Uint8Array; decode(b: Uint8Array): unknown };
      const bytes = schema.encode(data[name]);
      assert.deepEqual(schema.decode(bytes), data[name], name);
      const req: SftpRequest = { type: 'extended', id: v.id(), request: name, data: bytes };
      const back = decodeRequest(encodeRequest(req));
      assert.ok(back.type === 'extended');
      assert.equal(back.request, name);
      assert.deepEqual(schema.decode(back.data), data[name]);
    }
  }
});

test('statvfs, limits and users-groups-by-id replies round-trip, also inside EXTENDED_REPLY', () => {
  const v = new Values('sftp extended replies');
  for (let i = 0; i < ROUNDS; i++) {
    const s = statvfs(v);
    assert.deepEqual(StatvfsReply.decode(StatvfsReply.encode(s)), s);
    const l = { maxPacketLength: v.u64(), maxReadLength: v.u64(), maxWriteLength: v.u64(), maxOpenHandles: v.u64() };
    assert.deepEqual(LimitsReply.decode(LimitsReply.encode(l)), l);
    const u = { usernames: Array.from({ length: v.int(6) }, () => v.text()), groupnames: Array.from({ length: v.int(6) }, () => v.text()) };
    assert.deepEqual(UsersGroupsReply.decode(UsersGroupsReply.encode(u)), u);
    const reply = decodeResponse(encodeResponse({ type: 'extended-reply', id: 9, data: StatvfsReply.encode(s) }));
    assert.ok(reply.type === 'extended-reply');
    assert.deepEqual(StatvfsReply.decode(reply.data), s);
  }
});

test('the framer gives back every packet whatever the chunk boundaries', () => {
  const v = new Values('sftp framing');
  for (let round = 0; round < 60; round++) {
    const payloads = [...requests(v).map(encodeRequest), ...responses(v).map(encodeResponse)];
    const stream = concat(payloads.map(frame));
    const framer = new SftpFramer(MAX_PACKET);
    const out: Uint8Array[] = [];
    let at = 0;
    while (at < stream.length) {
      // Chunks from 1 byte (splitting length words) to a few packets long.
      const size = v.pick([1, 2, 3, 5, 1 + v.int(64), 1 + v.int(4096)]);
      framer.push(stream.subarray(at, at + size));
      at += size;
      for (let p = framer.next(); p !== undefined; p = framer.next()) out.push(Uint8Array.from(p));
    }
    assert.equal(framer.pending, 0);
    assert.deepEqual(out, payloads.map((p) => Uint8Array.from(p)));
  }
});

test('the framer refuses a length of 0 or over its limit before buffering the body', () => {
  const over = new SftpFramer(1000);
  over.push(new Uint8Array([0, 0, 3, 233]));
  assert.throws(() => over.next(), ProtocolError);
  const zero = new SftpFramer(1000);
  zero.push(new Uint8Array([0, 0, 0, 0, 1]));
  assert.throws(() => zero.next(), ProtocolError);
  const exact = new SftpFramer(4);
  exact.push(new Uint8Array([0, 0, 0, 4, 1, 2, 3]));
  assert.equal(exact.next(), undefined, 'waits for the rest');
  exact.push(new Uint8Array([4]));
  assert.deepEqual([...exact.next()!], [1, 2, 3, 4]);
});

test('dataReplyHeader and writeRequestHeader with their bodies are the schema encoders’ packets', () => {
  const v = new Values('sftp headers');
  for (let i = 0; i < ROUNDS; i++) {
    const id = v.id();
    const data = v.bytes(2000);
    assert.deepEqual(concat([dataReplyHeader(id, data.length), data]), frame(encodeResponse({ type: 'data', id, data })));
    const handle = v.handle();
    const offset = v.u64();
    assert.deepEqual(
      concat([writeRequestHeader(id, handle, offset, data.length), data]),
      frame(encodeRequest({ type: 'write', id, handle, offset, data })),
    );
  }
});

test('an unknown packet type is UnknownSftpPacket with its id; an empty one a ProtocolError', () => {
  const err = (() => {
    try {
      decodeRequest(new Uint8Array([99, 0, 0, 1, 2, 7]));
    } catch (e) {
      return e;
    }
    return undefined;
  })();
  assert.ok(err instanceof UnknownSftpPacket);
  assert.equal(err.packetType, 99);
  assert.equal(err.id, 258);
  assert.throws(() => decodeRequest(new Uint8Array(0)), ProtocolError);
  assert.throws(() => decodeResponse(encodeRequest({ type: 'stat', id: 1, path: 'x' })), UnknownSftpPacket);
  assert.throws(() => decodeRequest(new Uint8Array([17, 0, 0, 0, 1, 0, 0, 0, 1, 120, 0])), ProtocolError, 'a byte left over');
});

const onlyProtocolErrors = (err: unknown) => err instanceof ProtocolError;

test('fuzz: mutated and random packets into decodeRequest and decodeResponse throw only ProtocolError', () => {
  const v = new Values('sftp fuzz samples');
  const reqSamples = [...requests(v), ...requests(v)].map(encodeRequest);
  const resSamples = [...responses(v), ...responses(v)].map(encodeResponse);
  const n1 = fuzz('sftp requests fuzz', reqSamples, 6000, decodeRequest, onlyProtocolErrors);
  const n2 = fuzz('sftp responses fuzz', resSamples, 6000, decodeResponse, onlyProtocolErrors);
  // Either direction's packets into the other decoder too.
  const n3 = fuzz('sftp crossed fuzz', [...reqSamples, ...resSamples], 2000, (b) => (b.length % 2 === 0 ? decodeRequest(b) : decodeResponse(b)), onlyProtocolErrors);
  assert.ok(n1 + n2 + n3 > 14000);
});

test("fuzz: mutated extension data into each ExtRequest decoder and the extension replies' decoders throw only ProtocolError", () => {
  const v = new Values('sftp ext fuzz samples');
  for (const name of Object.keys(ExtRequest) as (keyof typeof ExtRequest)[]) {
    const schema = ExtRequest[name] as unknown as { encode(x: unknown): Uint8Array; decode(b: Uint8Array): unknown };
    const samples = [0, 1, 2].map(() => schema.encode(extensionData(v)[name]));
    fuzz(`sftp ext fuzz ${name}`, samples, 600, (b) => schema.decode(b), onlyProtocolErrors);
  }
  fuzz('sftp statvfs fuzz', [StatvfsReply.encode(statvfs(v))], 600, (b) => StatvfsReply.decode(b), onlyProtocolErrors);
  fuzz('sftp limits fuzz', [LimitsReply.encode({ maxPacketLength: 1, maxReadLength: 2, maxWriteLength: 3, maxOpenHandles: 4 })], 600, (b) => LimitsReply.decode(b), onlyProtocolErrors);
  fuzz('sftp users fuzz', [UsersGroupsReply.encode({ usernames: ['a', 'bb'], groupnames: ['c'] })], 600, (b) => UsersGroupsReply.decode(b), onlyProtocolErrors);
});

test('fuzz: random and mutated byte streams into SftpFramer throw only ProtocolError, and its payloads stay within the limit', () => {
  const v = new Values('sftp framer fuzz samples');
  const samples = [requests(v), requests(v)].map((list) => concat(list.map((r) => frame(encodeRequest(r)))));
  const limit = 4096;
  fuzz(
    'sftp framer fuzz',
    samples,
    3000,
    (stream) => {
      const framer = new SftpFramer(limit);
      for (let at = 0; at < stream.length; at += 7) {
        framer.push(stream.subarray(at, at + 7));
        for (let p = framer.next(); p !== undefined; p = framer.next()) {
          assert.ok(p.length > 0 && p.length <= limit);
          // What a server does with each payload.
          try {
            decodeRequest(p);
          } catch (err) {
            if (!(err instanceof ProtocolError)) throw err;
          }
        }
      }
    },
    onlyProtocolErrors,
  );
});

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

test('SftpFramer gathers a packet that spans chunks in the buffer its allocator gives (dirty memory included), exactly; one chunk needs none', () => {
  const Framer = SftpFramer;
  const framed = frame;
  const sizes: number[] = [];
  const framer = new Framer(1 << 20, (n) => {
    sizes.push(n);
    return new Uint8Array(n).fill(0xaa); // as Buffer.allocUnsafe may give it
  });
  const payloads = [1, 5, 33_000, 70_000, 4].map((n, k) => Uint8Array.from({ length: n }, (_, i) => (i * 13 + k) & 0xff));
  const wire = new Uint8Array(payloads.reduce((a, p) => a + 4 + p.length, 0));
  let at = 0;
  for (const p of payloads) {
    wire.set(framed(p), at);
    at += 4 + p.length;
  }
  // cut in pieces of 3, 32768 and 1000 bytes in turn
  const cuts = [3, 32768, 1000];
  const got: Uint8Array[] = [];
  for (let i = 0, c = 0; i < wire.length; c++) {
    const n = Math.min(cuts[c % cuts.length]!, wire.length - i);
    framer.push(wire.subarray(i, i + n));
    i += n;
    for (let p = framer.next(); p !== undefined; p = framer.next()) got.push(p);
  }
  assert.deepEqual(got, payloads);
  assert.ok(sizes.length > 0 && sizes.every((n) => payloads.some((p) => p.length === n || n === 4)), `allocated ${sizes}`);
  // a packet inside one chunk is a view of it: nothing allocated
  const before = sizes.length;
  framer.push(framed(payloads[1]!));
  assert.deepEqual(framer.next(), payloads[1]);
  assert.equal(sizes.length, before);
});
