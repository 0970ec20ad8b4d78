// The server's direct codec for the requests of every transfer (READ,
// WRITE, CLOSE, FSTAT) and its most common replies (STATUS, HANDLE): it
// must read exactly what decodeRequest reads, and leave to it (null)
// everything else, whatever the bytes; the replies must be the general
// encoder's bytes. And a sink that keeps no `info` lines gets none.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FX, FXF, FXP, MAX_HANDLE, MAX_RECEIVE_PACKET, STATUS_TEXT } from '../../src/sftp/constants.js';
import { decodeRequest, encodeRequest, encodeResponse, FxpInit, type SftpRequest } from '../../src/sftp/messages.js';
import { frame, SftpFramer } from '../../src/sftp/framing.js';
import { handleFrame, hotRequest, statusFrame } from '../../src/sftp/server-hot-requests.js';
import { SftpServerSession } from '../../src/sftp/server-session.js';
import type { SftpLogLevel } from '../../src/sftp/server-options.js';
import { MemoryFileSystem } from '../../src/sftp/memory-fs.js';
import { runOperation } from '../../src/sftp/server-operations.js';
import { seededRandom } from '../../src/testing/random.js';

const random = seededRandom('sftp-server-hot-requests');
const int = (max: number): number => {
  const b = random(4);
  return (((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0) % (max + 1);
};
const pick = <T>(xs: readonly T[]): T => xs[int(xs.length - 1)]!;

function randomHotRequest(): SftpRequest {
  const id = int(0xffffffff);
  const handle = random(pick([0, 1, 4, 4, 4, 17, MAX_HANDLE]));
  const offset = pick([0, 4096, int(0xffffffff), 2 ** 53 - 1, int(0x1fffff) * 2 ** 32 + int(0xffffffff)]);
  switch (int(3)) {
    case 0:
      return { type: 'read', id, handle, offset, length: pick([0, 32768, 261120, int(0xffffffff)]) };
    case 1:
      return { type: 'write', id, handle, offset, data: random(pick([0, 1, 4096, 32768])) };
    case 2:
      return { type: 'close', id, handle };
    default:
      return { type: 'fstat', id, handle };
  }
}

/** What hotRequest gives, checked against decodeRequest; returns whether it took the packet. */
function agrees(payload: Uint8Array): boolean {
  const hot = hotRequest(payload);
  if (hot === null) return false;
  let general: SftpRequest;
  try {
    general = decodeRequest(payload);
  } catch (e) {
    assert.fail(`hotRequest took a packet decodeRequest refuses (${(e as Error).message}): ${Buffer.from(payload).toString('hex').slice(0, 80)}`);
  }
  assert.deepEqual(normal(hot), normal(general));
  return true;
}

/** Byte fields as plain arrays, so views and copies compare by content. */
function normal(r: SftpRequest): Record<string, unknown> {
  return Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v instanceof Uint8Array ? [...v] : v]));
}

test('READ, WRITE, CLOSE and FSTAT are read as decodeRequest reads them; other types are left to it', () => {
  for (let i = 0; i < 2000; i++) {
    const req = randomHotRequest();
    const payload = encodeRequest(req);
    assert.ok(agrees(payload), `a well-formed ${req.type} is taken`);
  }
  for (const req of [
    { type: 'open', id: 1, path: 'a', pflags: FXF.READ, attrs: {} },
    { type: 'stat', id: 2, path: 'a' },
    { type: 'readdir', id: 3, handle: new Uint8Array(4) },
    { type: 'fsetstat', id: 4, handle: new Uint8Array(4), attrs: {} },
  ] as SftpRequest[]) {
    assert.equal(hotRequest(encodeRequest(req)), null, req.type);
  }
});

test('fuzz: truncated, extended, bit-flipped and random packets are either read exactly as decodeRequest reads them or left to it', () => {
  let taken = 0;
  let left = 0;
  for (let i = 0; i < 3000; i++) {
    const good = encodeRequest(randomHotRequest());
    const variants: Uint8Array[] = [good.subarray(0, int(good.length)), concat(good, random(1 + int(8)))];
    const flipped = good.slice();
    for (let k = 0; k <= int(3); k++) {
      const at = int(Math.min(flipped.length - 1, 40));
      flipped[at]! ^= 1 << int(7);
    }
    variants.push(flipped);
    const junk = random(int(64));
    if (junk.length > 0) junk[0] = pick([FXP.READ, FXP.WRITE, FXP.CLOSE, FXP.FSTAT]);
    variants.push(junk);
    for (const v of variants) {
      if (agrees(v)) taken++;
      else left++;
    }
  }
  assert.ok(taken > 1000 && left > 1000, `both kinds exercised: ${taken} taken, ${left} left`);
  // The limits decodeRequest enforces: a handle over MAX_HANDLE, an offset of 2^53.
  const longHandle = encodeRequest({ type: 'close', id: 1, handle: new Uint8Array(MAX_HANDLE) });
  longHandle.set([0, 0, 1, 1], 5);
  assert.equal(hotRequest(concat(longHandle, new Uint8Array(257 - MAX_HANDLE))), null);
  const far = encodeRequest({ type: 'read', id: 1, handle: new Uint8Array(4), offset: 0, length: 10 });
  far.set([0, 0x20, 0, 0, 0, 0, 0, 0], 13);
  assert.equal(hotRequest(far), null);
  assert.throws(() => decodeRequest(far));
});

test('STATUS and HANDLE replies are the general encoder\'s bytes', () => {
  for (let i = 0; i < 500; i++) {
    const id = int(0xffffffff);
    const code = int(9);
    const message = i % 5 === 0 ? `custom ${i}` : (STATUS_TEXT[code] ?? '');
    assert.deepEqual(statusFrame(id, code, message), frame(encodeResponse({ type: 'status', id, code, text: { message, lang: '' } })));
    const handle = random(int(MAX_HANDLE));
    assert.deepEqual(handleFrame(id, handle), frame(encodeResponse({ type: 'handle', id, handle })));
  }
  // The cached frame is copied, never handed out itself.
  const a = statusFrame(1, FX.OK, STATUS_TEXT[FX.OK]!);
  a.fill(0);
  assert.deepEqual(statusFrame(2, FX.OK, STATUS_TEXT[FX.OK]!), frame(encodeResponse({ type: 'status', id: 2, code: FX.OK, text: { message: STATUS_TEXT[FX.OK]!, lang: '' } })));
});

test('a sink that keeps no info lines is sent none; other levels still come', async () => {
  const fs = new MemoryFileSystem({ now: () => 0, startDirectory: '/' });
  const lines: [SftpLogLevel, string][] = [];
  const asked: SftpLogLevel[] = [];
  const framer = new SftpFramer(MAX_RECEIVE_PACKET);
  let replies = 0;
  const session: SftpServerSession = new SftpServerSession({
    output: (chunks) => {
      for (const c of chunks) framer.push(c);
      while (framer.next()) replies++;
    },
    operation: (op) => void runOperation(fs, op).then((r) => session.complete(op, r as never), (e: unknown) => session.fail(op, e)),
    log: (level, message) => lines.push([level, message]),
    logs: (level) => {
      asked.push(level);
      return level !== 'info';
    },
    close: () => undefined,
  }, { readOnly: true });
  session.receive(frame(FxpInit.encode({ version: 3, extensions: [] })));
  session.receive(frame(encodeRequest({ type: 'open', id: 1, path: '/x', pflags: FXF.WRITE | FXF.CREAT, attrs: {} })));
  session.receive(frame(encodeRequest({ type: 'mkdir', id: 2, path: '/d', attrs: {} })));
  session.receive(frame(encodeRequest({ type: 'opendir', id: 3, path: '/' })));
  for (let i = 0; i < 50 && replies < 4; i++) await new Promise((r) => setImmediate(r));
  assert.equal(replies, 4, 'VERSION and the three replies');
  assert.ok(asked.includes('info'));
  assert.deepEqual(lines.filter(([l]) => l === 'info'), []);
  assert.ok(lines.some(([l, m]) => l === 'verbose' && /read-only/.test(m)), lines.map(([, m]) => m).join('\n'));
});

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
