// The SFTP server session's `writePieces` option: a WRITE that spans channel
// chunks reaches the driver as the list of its pieces (views of the chunks,
// never joined), and the file gets the same bytes and the client the same
// replies as without the option, whatever the split; packets it does not
// take in pieces (another type, a malformed WRITE) are answered as before.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FX, FXF, FXP, MAX_RECEIVE_PACKET, SftpFramer, decodeResponse, encodeRequest, frame, FxpInit, type SftpRequest, type SftpResponse } from '../../src/sftp/index.js';
import { MemoryFileSystem } from '../../src/sftp/memory-fs.js';
import { SftpServerSession } from '../../src/sftp/server-session.js';
import { pieceWrite } from '../../src/sftp/server-pieces.js';
import { decodeRequest } from '../../src/sftp/messages.js';
import { runOperation, type ServerOperation } from '../../src/sftp/server-operations.js';
import { seededRandom } from '../../src/testing/random.js';

/** A session over a MemoryFileSystem whose operations run as they come; replies collected, each write's data recorded. */
function harness(writePieces: boolean) {
  const fs = new MemoryFileSystem({ now: () => 0, startDirectory: '/' });
  const replies: SftpResponse[] = [];
  const writes: (Uint8Array | readonly Uint8Array[])[] = [];
  const framer = new SftpFramer(MAX_RECEIVE_PACKET);
  let closed: Error | null | undefined;
  let pending: Promise<void> = Promise.resolve();
  const session: SftpServerSession = new SftpServerSession(
    {
      output: (chunks) => {
        for (const c of chunks) framer.push(c);
        for (let p = framer.next(); p; p = framer.next()) if (p[0] !== FXP.VERSION) replies.push(decodeResponse(p));
      },
      operation: (op: ServerOperation) => {
        if (op.kind === 'write') writes.push(op.data);
        pending = pending.then(() => runOperation(fs, op).then((r) => session.complete(op, r as never), (e: unknown) => session.fail(op, e)));
      },
      log: () => undefined,
      close: (e) => (closed = e),
    },
    { writePieces },
  );
  session.receive(frame(FxpInit.encode({ version: 3, extensions: [] })));
  const settle = async (): Promise<void> => {
    for (let i = 0; i < 50; i++) {
      await pending;
      await new Promise((r) => setImmediate(r));
    }
  };
  return { fs, session, replies, writes, settle, closed: () => closed };
}

/** The bytes of `packets` cut at the given points, as channel chunks. */
function cut(bytes: Uint8Array, at: number[]): Uint8Array[] {
  const points = [...new Set(at.filter((x) => x > 0 && x < bytes.length))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let from = 0;
  for (const p of [...points, bytes.length]) {
    out.push(bytes.slice(from, p));
    from = p;
  }
  return out;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const req = (r: SftpRequest) => frame(encodeRequest(r));

/** Seeded integers below `n`, and seeded bytes. */
function randomInts(seed: number) {
  const source = seededRandom(seed);
  return { int: (n: number) => new DataView(source(4).buffer).getUint32(0) % n, bytes: (n: number) => source(n) };
}

async function openFile(h: ReturnType<typeof harness>): Promise<Uint8Array> {
  h.session.receive(req({ type: 'open', id: 1, path: '/f', pflags: FXF.WRITE | FXF.CREAT | FXF.TRUNC | FXF.READ, attrs: {} }));
  await h.settle();
  const r = h.replies.shift()!;
  assert.equal(r.type, 'handle');
  return (r as Extract<SftpResponse, { type: 'handle' }>).handle;
}

test('a 32 KiB WRITE across two chunks reaches the driver in two pieces, and the file has its bytes', async () => {
  const h = harness(true);
  const handle = await openFile(h);
  const data = new Uint8Array(32768).map((_, i) => (i * 7) & 0xff);
  const bytes = req({ type: 'write', id: 2, handle, offset: 5, data });
  const [a, b] = cut(bytes, [32768]);
  h.session.receive(a!);
  h.session.receive(b!);
  await h.settle();
  assert.equal(h.writes.length, 1);
  assert.ok(Array.isArray(h.writes[0]), 'the data came in pieces');
  assert.equal((h.writes[0] as Uint8Array[]).length, 2);
  assert.deepEqual(concat(h.writes[0] as Uint8Array[]), data);
  assert.deepEqual(h.replies.splice(0).map((r) => [r.type, r.id, (r as { code?: number }).code]), [['status', 2, FX.OK]]);
  const st = await h.fs.stat('/f');
  assert.equal(st.size, 5 + 32768);
});

test('random splits of WRITEs and other requests: the same replies and file contents with and without pieces', async () => {
  const random = randomInts(1303);
  let inPieces = 0;
  for (let round = 0; round < 40; round++) {
    const results: string[] = [];
    const seed = random.int(1 << 30);
    for (const writePieces of [false, true]) {
      const r = randomInts(seed);
      const h = harness(writePieces);
      const handle = await openFile(h);
      const packets: Uint8Array[] = [];
      let id = 10;
      for (let i = 0; i < 12; i++) {
        const kind = r.int(6);
        if (kind === 0) packets.push(req({ type: 'fstat', id: id++, handle }));
        else if (kind === 1) packets.push(req({ type: 'write', id: id++, handle: new Uint8Array([9, 9, 9, 9]), offset: 0, data: new Uint8Array(3000) }));
        else {
          const data = r.bytes(1 + r.int(40_000));
          packets.push(req({ type: 'write', id: id++, handle, offset: r.int(100_000), data }));
        }
      }
      const stream = concat(packets);
      const points = Array.from({ length: 1 + r.int(30) }, () => r.int(stream.length));
      for (const c of cut(stream, points)) h.session.receive(c);
      await h.settle();
      assert.equal(h.closed(), undefined);
      const file = await h.fs.open('/f', { read: true, write: false, append: false, create: false, truncate: false, exclusive: false }, {});
      const body = await file.read(0, 1 << 20);
      if (writePieces) inPieces += h.writes.filter((w) => Array.isArray(w)).length;
      results.push(JSON.stringify(h.replies.map((x) => [x.type, x.id, (x as { code?: number }).code])) + ' ' + Buffer.from(body).toString('base64'));
    }
    assert.equal(results[1], results[0], `round ${round}`);
  }
  assert.ok(inPieces > 50, `only ${inPieces} writes came in pieces`);
});

test('malformed WRITEs in pieces get the replies they get joined: a data length that does not end the packet, an offset past 2^53, a long handle', async () => {
  for (const writePieces of [false, true]) {
    const h = harness(writePieces);
    const handle = await openFile(h);
    const good = encodeRequest({ type: 'write', id: 3, handle, offset: 0, data: new Uint8Array(5000) });
    // data length one short of the packet's end
    const short = good.slice();
    new DataView(short.buffer).setUint32(1 + 4 + 4 + handle.length + 8, 4999);
    // offset 2^60
    const far = good.slice();
    new DataView(far.buffer).setUint32(1 + 4 + 4 + handle.length, 0x1000_0000);
    // a handle of 300 bytes
    const long = encodeRequest({ type: 'write', id: 5, handle: new Uint8Array(300), offset: 0, data: new Uint8Array(5000) });
    new DataView(far.buffer).setUint32(1, 4);
    for (const p of [short, far, long]) {
      const bytes = frame(p);
      for (const c of cut(bytes, [bytes.length >> 1])) h.session.receive(c);
    }
    await h.settle();
    const got = h.replies.map((x) => [x.type, x.id, (x as { code?: number }).code]);
    assert.deepEqual(
      got,
      [
        ['status', 3, FX.BAD_MESSAGE],
        ['status', 4, FX.BAD_MESSAGE],
        ['status', 5, FX.BAD_MESSAGE],
      ],
      `writePieces ${writePieces}`,
    );
    assert.equal(h.writes.length, 0);
  }
});

test('pieceWrite on random, truncated and bit-flipped WRITEs in random pieces: null, or exactly what decodeRequest reads from them joined; never a throw', () => {
  const r = randomInts(77);
  let taken = 0;
  for (let i = 0; i < 4000; i++) {
    const handle = r.bytes(r.int(8) === 0 ? 300 : 4);
    let bytes = encodeRequest({ type: 'write', id: r.int(1 << 30), handle, offset: r.int(2 ** 31) * (r.int(4) === 0 ? 2 ** 22 : 1), data: r.bytes(r.int(3000)) });
    const how = r.int(4);
    if (how === 1) bytes = bytes.subarray(0, r.int(bytes.length + 1));
    else if (how === 2) {
      bytes = bytes.slice();
      for (let f = 0; f < 1 + r.int(3); f++) bytes[r.int(bytes.length)]! ^= 1 << r.int(8);
    } else if (how === 3) bytes = r.bytes(r.int(64));
    const pieces = cut(bytes, Array.from({ length: r.int(6) }, () => r.int(bytes.length)));
    let expected: ReturnType<typeof decodeRequest> | null = null;
    try {
      expected = decodeRequest(bytes);
    } catch {
      expected = null;
    }
    const got = pieceWrite(pieces);
    if (got === null) continue;
    taken++;
    assert.ok(expected !== null && expected.type === 'write', `pieceWrite took what decodeRequest refuses (case ${i})`);
    assert.equal(got.id, expected.id);
    assert.deepEqual(got.handle, expected.handle);
    assert.equal(got.offset, expected.offset);
    assert.deepEqual(concat(got.data), expected.data);
  }
  assert.ok(taken > 1000, `only ${taken} taken`);
});
