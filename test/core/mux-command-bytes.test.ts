// A command through a control master is an SSH string, so any bytes, as the
// connection's own exec request carries it (nacre-scp -O names a file whose
// name is not UTF-8 that way): the codec keeps the bytes, the master hands
// them to its host as they came, and a fuzzed request decodes or fails with
// a ProtocolError only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProtocolError } from '../../src/errors.js';
import { decodeMuxBody, encodeMuxBody, MuxType, type MuxMessage, type MuxSessionRequest } from '../../src/mux/codec.js';
import { MuxMasterConnection, type MuxMasterHost, type MuxSessionBackend } from '../../src/mux/master.js';
import { MuxClientConnection } from '../../src/mux/client.js';
import { Writer } from '../../src/wire/writer.js';
import { pathFromBytes, pathToBytes } from '../../src/wire/path-bytes.js';
import { seededRandom } from '../../src/testing/random.js';
import { fuzz } from './fuzz-helpers.js';

const utf8 = new TextEncoder();

/** The bytes a decoded command stands for (a string is its UTF-8). */
function bytesOf(command: string | Uint8Array): Uint8Array {
  return typeof command === 'string' ? utf8.encode(command) : command;
}

function execRequest(command: string | Uint8Array): MuxMessage {
  return { type: 'nacre-session', requestId: 1, session: { kind: 'exec', command, pty: null, env: [] } };
}

function decodedCommand(body: Uint8Array): string | Uint8Array {
  const m = decodeMuxBody(body);
  assert.equal(m.type, 'nacre-session');
  if (m.type !== 'nacre-session' || m.session.kind !== 'exec') throw new Error('not an exec request');
  return m.session.command;
}

/** Byte strings that are not UTF-8, and UTF-8 that a careless decoder would change. */
const EDGES: Uint8Array[] = [
  new Uint8Array([0xff]),
  new Uint8Array([0x73, 0x63, 0x70, 0x20, 0x2d, 0x66, 0x20, 0x78, 0xff, 0xfe]),
  new Uint8Array([0xc3]), // a character cut short
  new Uint8Array([0xc0, 0xaf]), // an overlong "/"
  new Uint8Array([0xed, 0xa0, 0x80]), // a surrogate's three-byte form
  new Uint8Array([0xf4, 0x90, 0x80, 0x80]), // past U+10FFFF
  new Uint8Array([0xef, 0xbb, 0xbf, 0x6c, 0x73]), // a BOM, which is UTF-8 and must stay
  new Uint8Array([0x63, 0x61, 0x74, 0x00, 0x78]), // a NUL inside
  new Uint8Array([]),
];

test('a byte command comes out of the codec as the same bytes: edge cases and 2000 random ones', () => {
  const random = seededRandom('mux-command-bytes');
  const cases = [...EDGES];
  for (let i = 0; i < 2000; i++) {
    const len = random(1)[0]! % 40;
    const b = random(len);
    // Mostly ASCII with some high bytes, so valid and invalid UTF-8 both occur.
    for (let j = 0; j < b.length; j++) if (b[j]! < 0xa0) b[j] = 0x20 + (b[j]! % 0x5f);
    cases.push(b);
  }
  let asBytes = 0;
  for (const b of cases) {
    const got = decodedCommand(encodeMuxBody(execRequest(b)));
    assert.deepEqual([...bytesOf(got)], [...b]);
    if (typeof got !== 'string') asBytes++;
    // OpenSSH's own session request carries its command the same way.
    const w = new Writer();
    w.uint32(MuxType.C_NEW_SESSION).uint32(9).string('').uint32(0).uint32(0).uint32(0).uint32(0).uint32(0xffffffff).string('').string(b);
    const m = decodeMuxBody(w.finish());
    assert.ok(m.type === 'new-session');
    assert.deepEqual([...bytesOf(m.command)], [...b]);
  }
  assert.ok(asBytes > 100, `only ${asBytes} of the cases were not UTF-8`);
});

test('a command that is UTF-8 decodes as its text; one that is not, as a Uint8Array not sharing the message buffer', () => {
  assert.equal(decodedCommand(encodeMuxBody(execRequest('ls -l café'))), 'ls -l café');
  assert.equal(decodedCommand(encodeMuxBody(execRequest(utf8.encode('ls')))), 'ls');
  const body = encodeMuxBody(execRequest(new Uint8Array([0x78, 0xff])));
  const got = decodedCommand(body);
  assert.ok(got instanceof Uint8Array);
  body.fill(0);
  assert.deepEqual([...got], [0x78, 0xff]);
  // An escaped name (pathFromBytes) sent as its bytes comes back as those bytes.
  const name = pathFromBytes(new Uint8Array([0x61, 0xfe, 0x62]));
  assert.equal(pathFromBytes(bytesOf(decodedCommand(encodeMuxBody(execRequest(pathToBytes(`scp -t ${name}`)))))), `scp -t ${name}`);
});

test('a subsystem name and a shell stay text: bytes that are not UTF-8 there are a ProtocolError', () => {
  const w = new Writer();
  w.uint32(MuxType.C_NACRE_SESSION).uint32(1).string('subsystem').string(new Uint8Array([0x73, 0xff])).boolean(false).uint32(0);
  assert.throws(() => decodeMuxBody(w.finish()), ProtocolError);
  const m = decodeMuxBody(encodeMuxBody({ type: 'nacre-session', requestId: 2, session: { kind: 'subsystem', command: 'sftp', pty: null, env: [] } }));
  assert.ok(m.type === 'nacre-session' && m.session.command === 'sftp');
});

test('client to master in memory: the master\'s host is asked to run exactly the bytes the client gave', async () => {
  const asked: MuxSessionRequest[] = [];
  let client!: MuxClientConnection;
  let master!: MuxMasterConnection;
  const host: MuxMasterHost = {
    pid: 1,
    send: (b) => void queueMicrotask(() => client.receive(b)),
    close: (reason) => assert.fail(reason),
    terminate() {},
    stopListening() {},
    openForward: async () => ({}),
    closeForward: async () => undefined,
    openSession: async (req, sink): Promise<MuxSessionBackend> => {
      asked.push(req);
      queueMicrotask(() => {
        sink.end('stdout');
        sink.end('stderr');
        sink.exit({ code: 0, signal: null });
      });
      return { stdin: (_d, done) => done(), stdinEnd() {}, signal() {}, resize() {}, close() {} };
    },
  };
  client = new MuxClientConnection({ send: (b) => queueMicrotask(() => master.receive(b)), close: (r) => assert.fail(r) });
  master = new MuxMasterConnection(host);
  const command = new Uint8Array([0x73, 0x63, 0x70, 0x20, 0x2d, 0x66, 0x20, 0x2f, 0x72, 0x2f, 0xff, 0x80]);
  let exited: (() => void) | null = null;
  const done = new Promise<void>((r) => (exited = r));
  await client.openSession({ kind: 'exec', command, pty: null, env: [] }, { output() {}, end() {}, exit: () => exited?.() });
  await done;
  assert.equal(asked.length, 1);
  const req = asked[0]!;
  assert.ok(req.kind === 'exec' && req.command instanceof Uint8Array);
  assert.deepEqual([...req.command], [...command]);
});

test('fuzz: byte command requests, mutated, decode or fail with ProtocolError only, and what decodes encodes back to the same message', () => {
  const samples = EDGES.map((b) => encodeMuxBody(execRequest(b)));
  let decoded = 0;
  const n = fuzz(
    'mux-command-bytes',
    samples,
    10000,
    (input) => {
      const m = decodeMuxBody(input);
      decoded++;
      if (m.type === 'nacre-session') assert.deepEqual(plain(decodeMuxBody(encodeMuxBody(m))), plain(m));
    },
    (e) => e instanceof ProtocolError,
  );
  assert.ok(n > 10000);
  assert.ok(decoded > 0);
});

function plain(m: MuxMessage): unknown {
  return JSON.parse(JSON.stringify(m, (_k, v) => (v instanceof Uint8Array ? { bytes: [...v] } : v)));
}
