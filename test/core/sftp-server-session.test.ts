// The SFTP server's state machine over MemoryFileSystem: every request type,
// the handle and outstanding caps, read-only mode and the allow/deny lists,
// malformed input (the right STATUS, or a clean close when the framing
// breaks), writes to one handle applied in order, long names and log lines.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  EXT,
  FX,
  FXF,
  FXP,
  MAX_PACKET,
  MAX_RECEIVE_PACKET,
  ExtRequest,
  FxpInit,
  FxpVersion,
  LimitsReply,
  StatvfsReply,
  UsersGroupsReply,
  SftpFramer,
  decodeResponse,
  encodeRequest,
  frame,
  type SftpRequest,
  type SftpResponse,
} from '../../src/sftp/index.js';
import { MemoryFileSystem } from '../../src/sftp/memory-fs.js';
import { SftpServerSession, type SftpLogLevel, type SftpServerSessionOptions } from '../../src/sftp/server-session.js';
import { runOperation, type ServerOperation } from '../../src/sftp/server-operations.js';
import { longName, modeString, statusForError, type ServerClock } from '../../src/sftp/server-format.js';
import { parseRequestList } from '../../src/sftp/server-requests.js';

const enc = new TextEncoder();
const dec = new TextDecoder();
const NOW = Date.UTC(2026, 11, 3, 9, 30) / 1000;
const clock: ServerClock = { now: () => NOW, utcOffsetMinutes: () => 60 };

/** A request without its id (the harness numbers them). */
type Req = SftpRequest extends infer R ? (R extends SftpRequest ? Omit<R, 'id'> : never) : never;

type Reply = SftpResponse | { type: 'version'; version: number; extensions: [string, Uint8Array][] };

class Harness {
  readonly fs: MemoryFileSystem;
  readonly session: SftpServerSession;
  readonly ops: ServerOperation[] = [];
  readonly logs: [SftpLogLevel, string][] = [];
  closed: Error | null | undefined = undefined;
  /** What the sink's outputBlocked() answers: the channel's output backed up. */
  blocked = false;
  private readonly framer = new SftpFramer(MAX_RECEIVE_PACKET);
  private readonly replies: Reply[] = [];
  private nextId = 1;

  constructor(options: SftpServerSessionOptions = {}, readonly auto = true) {
    this.fs = new MemoryFileSystem({ now: () => NOW * 1000, startDirectory: '/home/u', users: [{ name: 'bob', uid: 7, home: '/home/bob' }] });
    this.session = new SftpServerSession(
      {
        output: (chunks) => {
          for (const c of chunks) this.framer.push(c);
          for (let p = this.framer.next(); p; p = this.framer.next()) this.replies.push(p[0] === FXP.VERSION ? { type: 'version', ...FxpVersion.decode(p) } : decodeResponse(p));
        },
        operation: (op) => {
          this.ops.push(op);
          if (this.auto) this.run(op);
        },
        log: (level, message) => this.logs.push([level, message]),
        close: (e) => (this.closed = e),
        outputBlocked: () => this.blocked,
      },
      { clock, ...options },
    );
  }

  run(op: ServerOperation): Promise<void> {
    return runOperation(this.fs, op).then(
      (r) => this.session.complete(op, r as never),
      (e: unknown) => this.session.fail(op, e),
    );
  }

  init(): Reply {
    this.session.receive(frame(FxpInit.encode({ version: 3, extensions: [] })));
    return this.replies.shift()!;
  }

  send(req: Req, id = this.nextId++): number {
    this.session.receive(frame(encodeRequest({ ...req, id } as SftpRequest)));
    return id;
  }

  /** Sends and waits for the reply to this request. */
  async call(req: Req): Promise<SftpResponse> {
    const id = this.send(req);
    for (let i = 0; i < 200; i++) {
      const at = this.replies.findIndex((r) => r.type !== 'version' && r.id === id);
      if (at >= 0) return this.replies.splice(at, 1)[0] as SftpResponse;
      await new Promise((r) => setImmediate(r));
    }
    throw new Error(`no reply to ${req.type}`);
  }

  ext<N extends keyof typeof ExtRequest>(name: N, data: Parameters<(typeof ExtRequest)[N]['encode']>[0]): Promise<SftpResponse> {
    return this.call({ type: 'extended', request: name, data: (ExtRequest[name].encode as (v: unknown) => Uint8Array)(data) });
  }

  taken(): Reply[] {
    return this.replies.splice(0);
  }
}

function status(r: SftpResponse): [number, string] {
  assert.equal(r.type, 'status', `expected STATUS, got ${r.type}`);
  const s = r as Extract<SftpResponse, { type: 'status' }>;
  return [s.code, s.text.message];
}
function handleOf(r: SftpResponse): Uint8Array {
  assert.equal(r.type, 'handle', `expected HANDLE, got ${JSON.stringify(r)}`);
  return (r as Extract<SftpResponse, { type: 'handle' }>).handle;
}
function dataOf(r: SftpResponse): string {
  assert.equal(r.type, 'data');
  return dec.decode((r as Extract<SftpResponse, { type: 'data' }>).data);
}
function namesOf(r: SftpResponse) {
  assert.equal(r.type, 'name', `expected NAME, got ${JSON.stringify(r)}`);
  return (r as Extract<SftpResponse, { type: 'name' }>).names;
}
const W = FXF.WRITE | FXF.CREAT | FXF.TRUNC;

test('INIT gets VERSION 3 with the extensions and versions sftp-server announces', () => {
  const h = new Harness();
  const v = h.init();
  assert.equal(v.type, 'version');
  const ver = v as Extract<Reply, { type: 'version' }>;
  assert.equal(ver.version, 3);
  assert.deepEqual(
    ver.extensions.map(([n, d]) => `${n}=${dec.decode(d)}`),
    [
      'posix-rename@openssh.com=1',
      'statvfs@openssh.com=2',
      'fstatvfs@openssh.com=2',
      'hardlink@openssh.com=1',
      'fsync@openssh.com=1',
      'lsetstat@openssh.com=1',
      'limits@openssh.com=1',
      'expand-path@openssh.com=1',
      'copy-data=1',
      'home-directory=1',
      'users-groups-by-id@openssh.com=1',
    ],
  );
});

test('a request before INIT, or a second INIT, closes the session cleanly', () => {
  const a = new Harness();
  a.send({ type: 'stat', path: '/' });
  assert.ok(a.closed instanceof Error);
  assert.equal(a.session.wantsInput, false);
  const b = new Harness();
  b.init();
  b.session.receive(frame(FxpInit.encode({ version: 3, extensions: [] })));
  assert.match(String(b.closed), /duplicate INIT/);
});

test('open, write, read to EOF, fstat, close; logged as sftp-server -l INFO logs them', async () => {
  const h = new Harness();
  h.init();
  const fh = handleOf(await h.call({ type: 'open', path: 'f.txt', pflags: W, attrs: { mode: 0o640 } }));
  status(await h.call({ type: 'write', handle: fh, offset: 0, data: enc.encode('hello ') }));
  status(await h.call({ type: 'write', handle: fh, offset: 6, data: enc.encode('world') }));
  status(await h.call({ type: 'close', handle: fh }));
  const rh = handleOf(await h.call({ type: 'open', path: '/home/u/f.txt', pflags: FXF.READ, attrs: {} }));
  assert.equal(dataOf(await h.call({ type: 'read', handle: rh, offset: 0, length: 5 })), 'hello');
  assert.equal(dataOf(await h.call({ type: 'read', handle: rh, offset: 6, length: 100 })), 'world');
  assert.deepEqual(status(await h.call({ type: 'read', handle: rh, offset: 11, length: 100 })), [FX.EOF, 'End of file']);
  const st = await h.call({ type: 'fstat', handle: rh });
  assert.equal(st.type, 'attrs');
  const attrs = (st as Extract<SftpResponse, { type: 'attrs' }>).attrs;
  assert.equal(attrs.size, 11);
  assert.equal(attrs.mode, 0o100640 & ~0o022);
  status(await h.call({ type: 'close', handle: rh }));
  assert.deepEqual(status(await h.call({ type: 'close', handle: rh })), [FX.NO_SUCH_FILE, 'No such file'], 'a closed handle is gone (as sftp-server answers)');
  const info = h.logs.filter(([l]) => l === 'info').map(([, m]) => m);
  assert.deepEqual(info, [
    'open "f.txt" flags WRITE,CREATE,TRUNCATE mode 0640',
    'close "f.txt" bytes read 0 written 11',
    'open "/home/u/f.txt" flags READ mode 0666',
    'close "/home/u/f.txt" bytes read 10 written 0',
  ]);
  assert.equal(h.session.openHandles, 0);
  assert.equal(h.session.outstandingRequests, 0);
});

test('path requests: stat, lstat, setstat, mkdir with the umask, rmdir, remove, rename, symlink, readlink, realpath', async () => {
  const h = new Harness({ umask: 0o027 });
  h.init();
  h.fs.writeFile('/home/u/a', 'A');
  status(await h.call({ type: 'mkdir', path: 'd', attrs: { mode: 0o777 } }));
  const d = await h.call({ type: 'stat', path: 'd' });
  assert.equal((d as Extract<SftpResponse, { type: 'attrs' }>).attrs.mode! & 0o777, 0o750);
  assert.ok(h.logs.some(([, m]) => m === 'mkdir name "d" mode 0750'));
  assert.deepEqual(status(await h.call({ type: 'mkdir', path: 'd', attrs: {} })), [FX.FAILURE, 'File exists']);
  status(await h.call({ type: 'setstat', path: 'a', attrs: { mode: 0o600, atime: 1000, mtime: 2000 } }));
  const a = (await h.call({ type: 'lstat', path: 'a' })) as Extract<SftpResponse, { type: 'attrs' }>;
  assert.equal(a.attrs.mode, 0o100600);
  assert.equal(a.attrs.mtime, 2000);
  assert.ok(h.logs.some(([, m]) => m === 'set "a" mode 0600'));
  assert.ok(h.logs.some(([, m]) => m === 'set "a" modtime 19700101-01:33:20'), 'in the clock\'s time zone');
  status(await h.call({ type: 'symlink', targetPath: 'a', linkPath: 'l' }));
  assert.equal(namesOf(await h.call({ type: 'readlink', path: 'l' }))[0]!.filename, 'a');
  const real = namesOf(await h.call({ type: 'realpath', path: 'd/../l' }));
  assert.deepEqual(real, [{ filename: '/home/u/a', longname: '/home/u/a', attrs: {} }]);
  assert.equal(namesOf(await h.call({ type: 'realpath', path: '' }))[0]!.filename, '/home/u');
  h.fs.writeFile('/home/u/b', 'B');
  assert.equal(status(await h.call({ type: 'rename', oldPath: 'a', newPath: 'b' }))[0], FX.FAILURE, 'RENAME refuses an existing target');
  status(await h.call({ type: 'rename', oldPath: 'a', newPath: 'c' }));
  status(await h.call({ type: 'remove', path: 'c' }));
  assert.deepEqual(status(await h.call({ type: 'stat', path: 'c' })), [FX.NO_SUCH_FILE, 'No such file']);
  status(await h.call({ type: 'rmdir', path: 'd' }));
  assert.deepEqual(
    h.logs.filter(([l, m]) => l === 'info' && /^(rename|remove|rmdir|symlink)/.test(m)).map(([, m]) => m),
    ['symlink old "a" new "l"', 'rename old "a" new "b"', 'rename old "a" new "c"', 'remove name "c"', 'rmdir name "d"'],
  );
});

test('opendir and readdir: ls -l long names, batches, EOF, closedir logged', async () => {
  const h = new Harness({ maxOutstanding: 4 });
  h.init();
  h.fs.writeFile('/home/u/recent', 'x'.repeat(1234), { mode: 0o644, mtime: NOW - 3600 });
  h.fs.writeFile('/home/u/old', '', { mode: 0o4755, mtime: Date.UTC(2020, 0, 5) / 1000 });
  for (let i = 0; i < 150; i++) h.fs.writeFile(`/home/u/many/f${i}`, '');
  const dh = handleOf(await h.call({ type: 'opendir', path: '.' }));
  const names = namesOf(await h.call({ type: 'readdir', handle: dh }));
  const byName = new Map(names.map((n) => [n.filename, n]));
  assert.ok(byName.has('.') && byName.has('..'));
  assert.equal(byName.get('recent')!.longname, '-rw-r--r--    1 0        0            1234 Dec  3 09:30 recent');
  assert.equal(byName.get('old')!.longname, '-rwsr-xr-x    1 0        0               0 Jan  5  2020 old');
  assert.equal(byName.get('recent')!.attrs.size, 1234);
  assert.equal(status(await h.call({ type: 'readdir', handle: dh }))[0], FX.EOF);
  status(await h.call({ type: 'close', handle: dh }));
  assert.ok(h.logs.some(([, m]) => m === 'opendir "."'));
  assert.ok(h.logs.some(([, m]) => m === 'closedir "."'));
  // 152 entries come in NAME replies of at most 100
  const mh = handleOf(await h.call({ type: 'opendir', path: 'many' }));
  let count = 0;
  for (;;) {
    const r = await h.call({ type: 'readdir', handle: mh });
    if (r.type === 'status') break;
    const n = namesOf(r).length;
    assert.ok(n <= 100);
    count += n;
  }
  assert.equal(count, 152);
  assert.equal(status(await h.call({ type: 'readdir', handle: new Uint8Array([9, 9, 9, 9]) }))[0], FX.FAILURE);
});

test('extensions: posix-rename, statvfs, fstatvfs, hardlink, fsync, lsetstat, limits, expand-path, copy-data, home-directory, users-groups-by-id', async () => {
  const h = new Harness({ maxHandles: 64 });
  h.init();
  h.fs.writeFile('/home/u/a', 'AAAA');
  h.fs.writeFile('/home/u/b', 'B');
  status(await h.ext(EXT.POSIX_RENAME, { oldPath: 'a', newPath: 'b' }));
  assert.equal(dec.decode(h.fs.readFile('/home/u/b')), 'AAAA');
  const sv = await h.ext(EXT.STATVFS, { path: '/' });
  assert.equal(sv.type, 'extended-reply');
  assert.ok(StatvfsReply.decode((sv as Extract<SftpResponse, { type: 'extended-reply' }>).data).bsize > 0);
  const fh = handleOf(await h.call({ type: 'open', path: 'b', pflags: FXF.READ | FXF.WRITE, attrs: {} }));
  assert.equal((await h.ext(EXT.FSTATVFS, { handle: fh })).type, 'extended-reply');
  status(await h.ext(EXT.FSYNC, { handle: fh }));
  status(await h.ext(EXT.HARDLINK, { oldPath: 'b', newPath: 'hl' }));
  assert.equal(dec.decode(h.fs.readFile('/home/u/hl')), 'AAAA');
  status(await h.call({ type: 'symlink', targetPath: 'b', linkPath: 'sl' }));
  status(await h.ext(EXT.LSETSTAT, { path: 'sl', attrs: { atime: 5, mtime: 6 } }));
  assert.equal((await h.fs.lstat('/home/u/sl')).mtime, 6);
  const lim = LimitsReply.decode(((await h.ext(EXT.LIMITS, {})) as Extract<SftpResponse, { type: 'extended-reply' }>).data);
  assert.deepEqual(lim, { maxPacketLength: MAX_PACKET, maxReadLength: MAX_PACKET - 1024, maxWriteLength: MAX_PACKET - 1024, maxOpenHandles: 64 });
  assert.equal(namesOf(await h.ext(EXT.EXPAND_PATH, { path: '~/.' }))[0]!.filename, '/home/u');
  h.fs.mkdirs('/home/bob');
  assert.equal(namesOf(await h.ext(EXT.EXPAND_PATH, { path: '~bob' }))[0]!.filename, '/home/bob');
  assert.equal(namesOf(await h.ext(EXT.HOME_DIRECTORY, { username: 'bob' }))[0]!.filename, '/home/bob');
  assert.equal(status(await h.ext(EXT.HOME_DIRECTORY, { username: 'nobody' }))[0], FX.NO_SUCH_FILE);
  const ug = await h.ext(EXT.USERS_GROUPS_BY_ID, { uids: [7, 99], gids: [5] });
  assert.deepEqual(UsersGroupsReply.decode((ug as Extract<SftpResponse, { type: 'extended-reply' }>).data), { usernames: ['bob', ''], groupnames: [''] });
  const to = handleOf(await h.call({ type: 'open', path: 'copy', pflags: W, attrs: {} }));
  status(await h.ext(EXT.COPY_DATA, { readHandle: fh, readOffset: 1, length: 0, writeHandle: to, writeOffset: 0 }));
  assert.equal(dec.decode(h.fs.readFile('/home/u/copy')), 'AAA');
  assert.equal(status(await h.ext(EXT.COPY_DATA, { readHandle: fh, readOffset: 0, length: 2, writeHandle: fh, writeOffset: 1 }))[0], FX.FAILURE, 'overlapping ranges of one file');
  assert.deepEqual(status(await h.call({ type: 'extended', request: 'nope@example.com', data: new Uint8Array() })), [FX.OP_UNSUPPORTED, 'Operation unsupported']);
  assert.equal(status(await h.call({ type: 'extended', request: EXT.STATVFS, data: new Uint8Array([0, 0]) }))[0], FX.BAD_MESSAGE);
});

test('read-only mode refuses every request that changes the file system, and OPEN for writing', async () => {
  const h = new Harness({ readOnly: true });
  h.init();
  h.fs.writeFile('/home/u/a', 'A');
  assert.deepEqual(status(await h.call({ type: 'open', path: 'a', pflags: FXF.WRITE, attrs: {} })), [FX.PERMISSION_DENIED, 'Permission denied']);
  assert.equal(status(await h.call({ type: 'open', path: 'a', pflags: FXF.READ | FXF.TRUNC, attrs: {} }))[0], FX.PERMISSION_DENIED);
  for (const req of [
    { type: 'mkdir', path: 'd', attrs: {} },
    { type: 'remove', path: 'a' },
    { type: 'rmdir', path: 'a' },
    { type: 'setstat', path: 'a', attrs: { mode: 0 } },
    { type: 'rename', oldPath: 'a', newPath: 'b' },
    { type: 'symlink', targetPath: 'a', linkPath: 'b' },
  ] as const) {
    assert.equal(status(await h.call(req))[0], FX.PERMISSION_DENIED, req.type);
  }
  assert.equal(status(await h.ext(EXT.POSIX_RENAME, { oldPath: 'a', newPath: 'b' }))[0], FX.PERMISSION_DENIED);
  const rh = handleOf(await h.call({ type: 'open', path: 'a', pflags: FXF.READ, attrs: {} }));
  assert.equal(dataOf(await h.call({ type: 'read', handle: rh, offset: 0, length: 10 })), 'A');
  assert.equal(status(await h.call({ type: 'write', handle: rh, offset: 0, data: enc.encode('x') }))[0], FX.PERMISSION_DENIED);
  assert.ok(h.logs.some(([l, m]) => l === 'verbose' && m === 'Refusing mkdir request in read-only mode'));
  assert.equal(dec.decode(h.fs.readFile('/home/u/a')), 'A');
});

test('allow and deny lists by sftp-server -Q requests names', async () => {
  const deny = new Harness({ denyRequests: 'remove,statvfs' });
  deny.init();
  deny.fs.writeFile('/home/u/a', 'A');
  assert.equal(status(await deny.call({ type: 'remove', path: 'a' }))[0], FX.PERMISSION_DENIED);
  assert.equal(status(await deny.ext(EXT.STATVFS, { path: '/' }))[0], FX.PERMISSION_DENIED);
  assert.equal((await deny.call({ type: 'stat', path: 'a' })).type, 'attrs');
  assert.ok(deny.logs.some(([, m]) => m === 'Refusing denylisted remove request'));
  const allow = new Harness({ allowRequests: ['stat', 'realpath'] });
  allow.init();
  assert.equal((await allow.call({ type: 'realpath', path: '.' })).type, 'name');
  assert.equal(status(await allow.call({ type: 'lstat', path: '.' }))[0], FX.PERMISSION_DENIED);
  assert.ok(allow.logs.some(([, m]) => m === 'Refusing non-allowlisted lstat request'));
  assert.throws(() => parseRequestList('stat,frobnicate'), TypeError);
  assert.throws(() => new Harness({ denyRequests: 'rm' }), TypeError);
});

test('malformed requests get BAD_MESSAGE or OP_UNSUPPORTED; broken framing closes the session', async () => {
  const h = new Harness();
  h.init();
  // an unknown packet type with an id
  h.session.receive(frame(Uint8Array.from([250, 0, 0, 0, 42])));
  // OPEN cut short after its id
  h.session.receive(frame(Uint8Array.from([FXP.OPEN, 0, 0, 0, 43, 0, 0])));
  // a reply type sent as a request
  h.session.receive(frame(Uint8Array.from([FXP.STATUS, 0, 0, 0, 44, 0, 0, 0, 0])));
  const got = h.taken().map((r) => [(r as { id: number }).id, status(r as SftpResponse)[0]]);
  assert.deepEqual(got, [
    [42, FX.OP_UNSUPPORTED],
    [43, FX.BAD_MESSAGE],
    [44, FX.OP_UNSUPPORTED],
  ]);
  assert.equal(h.closed, undefined, 'the session goes on');
  assert.equal((await h.call({ type: 'stat', path: '/' })).type, 'attrs');
  // a packet too short to hold an id
  h.session.receive(frame(Uint8Array.from([FXP.STAT, 0])));
  assert.ok((h.closed as unknown) instanceof Error);
  for (const bad of [Uint8Array.from([0, 0, 0, 0]), Uint8Array.from([0, 0x10, 0, 0, 1])]) {
    const b = new Harness();
    b.init();
    b.session.receive(bad);
    assert.ok(b.closed instanceof Error, 'length 0 or over the limit closes');
    assert.equal(b.session.wantsInput, false);
  }
});

test('a flood of requests: no more input is taken past the outstanding cap, and it resumes as replies go out', async () => {
  const h = new Harness({ maxOutstanding: 8 }, false);
  h.init();
  const burst: Uint8Array[] = [];
  for (let i = 0; i < 1000; i++) burst.push(frame(encodeRequest({ type: 'stat', id: i, path: '/' })));
  h.session.receive(Buffer.concat(burst));
  assert.equal(h.ops.length, 8, 'only 8 operations started');
  assert.equal(h.session.wantsInput, false);
  assert.equal(h.session.outstandingRequests, 8);
  await h.run(h.ops[0]!);
  assert.equal(h.ops.length, 9, 'one reply lets one more request in');
  assert.equal(h.session.wantsInput, false);
  for (let i = 1; i < 1000; i++) await h.run(h.ops[i]!);
  assert.equal(h.taken().length, 1000);
  assert.equal(h.session.wantsInput, true);
});

test('output blocked: requests already received wait (none taken, even as replies go out) until outputReady()', async () => {
  const h = new Harness({}, false);
  h.init();
  const burst: Uint8Array[] = [];
  for (let i = 0; i < 50; i++) burst.push(frame(encodeRequest({ type: 'stat', id: i, path: '/' })));
  h.session.receive(Buffer.concat(burst.slice(0, 2)));
  assert.equal(h.ops.length, 2);
  h.blocked = true;
  h.session.receive(Buffer.concat(burst.slice(2)));
  assert.equal(h.ops.length, 2, 'nothing taken while the output is blocked');
  assert.equal(h.session.holdsRequest, true);
  await h.run(h.ops[0]!);
  await h.run(h.ops[1]!);
  assert.equal(h.taken().length, 2, 'replies to requests taken before still go out');
  assert.equal(h.ops.length, 2, 'a reply going out takes no new request while blocked');
  assert.equal(h.session.outstandingRequests, 0);
  h.session.outputReady();
  assert.equal(h.ops.length, 2, 'outputReady() while still blocked takes nothing');
  h.blocked = false;
  h.session.outputReady();
  assert.equal(h.ops.length, 50, 'the rest are taken once the output drains');
  assert.equal(h.session.holdsRequest, false);
  for (let i = 2; i < 50; i++) await h.run(h.ops[i]!);
  assert.equal(h.taken().length, 48);
  // a packet broken while blocked still closes the session, and outputReady() after end() does nothing
  h.blocked = true;
  const bad = new Uint8Array(8);
  new DataView(bad.buffer).setUint32(0, 0xffffffff);
  h.session.receive(bad);
  assert.ok(h.closed instanceof Error);
  h.blocked = false;
  h.session.outputReady();
  assert.equal(h.ops.length, 50);
});

test('handles are capped; a CLOSE waits for the handle\'s operations; writes to one handle run one at a time, in order', async () => {
  const cap = new Harness({ maxHandles: 2 });
  cap.init();
  cap.fs.writeFile('/home/u/a', 'A');
  handleOf(await cap.call({ type: 'open', path: 'a', pflags: FXF.READ, attrs: {} }));
  handleOf(await cap.call({ type: 'opendir', path: '.' }));
  assert.deepEqual(status(await cap.call({ type: 'open', path: 'a', pflags: FXF.READ, attrs: {} })), [FX.FAILURE, 'too many open handles (at most 2)']);

  const h = new Harness({}, false);
  h.init();
  h.send({ type: 'open', path: 'w', pflags: W, attrs: {} }, 1);
  await h.run(h.ops[0]!);
  const fh = handleOf(h.taken()[0] as SftpResponse);
  // each write overlaps the one before it: one at a time, in order
  for (let i = 0; i < 3; i++) h.send({ type: 'write', handle: fh, offset: i, data: enc.encode(`${i}${i}`) }, 10 + i);
  h.send({ type: 'read', handle: fh, offset: 0, length: 1 }, 20);
  h.send({ type: 'close', handle: fh }, 30);
  const kinds = () => h.ops.slice(1).map((o) => o.kind);
  assert.deepEqual(kinds(), ['write', 'read'], 'one overlapping write at a time; the read runs alongside; the close waits');
  assert.equal(h.session.openHandles, 0, 'the handle is gone from the table at once');
  await h.run(h.ops[1]!);
  assert.deepEqual(kinds(), ['write', 'read', 'write']);
  await h.run(h.ops[3]!);
  await h.run(h.ops[4]!);
  assert.deepEqual(kinds(), ['write', 'read', 'write', 'write']);
  await h.run(h.ops[2]!);
  assert.deepEqual(kinds(), ['write', 'read', 'write', 'write', 'close']);
  await h.run(h.ops[5]!);
  assert.equal(dec.decode(h.fs.readFile('/home/u/w')), '0122');
  assert.deepEqual(
    h.taken().map((r) => (r as { id: number }).id),
    [10, 11, 12, 20, 30],
  );
});

test('writes to disjoint ranges of a handle run together (up to 16); fsync waits for them and runs alone; an appending handle writes one at a time', async () => {
  const h = new Harness({}, false);
  h.init();
  h.send({ type: 'open', path: 'w', pflags: W, attrs: {} }, 1);
  await h.run(h.ops[0]!);
  const fh = handleOf(h.taken()[0] as SftpResponse);
  for (let i = 0; i < 20; i++) h.send({ type: 'write', handle: fh, offset: i * 4, data: enc.encode(String(i % 10).repeat(4)) }, 100 + i);
  h.send({ type: 'extended', request: EXT.FSYNC, data: ExtRequest[EXT.FSYNC].encode({ handle: fh }) }, 200);
  h.send({ type: 'write', handle: fh, offset: 0, data: enc.encode('Z') }, 201);
  const kinds = () => h.ops.slice(1).map((o) => o.kind);
  assert.equal(kinds().length, 16, '16 writes at once');
  for (let i = 1; i <= 4; i++) await h.run(h.ops[i]!);
  assert.deepEqual(kinds(), Array(20).fill('write'), 'each finished write lets the next one start; fsync waits for every write before it');
  for (let i = 5; i <= 20; i++) await h.run(h.ops[i]!);
  assert.deepEqual(kinds().slice(20), ['fsync'], 'fsync alone; the write behind it waits');
  await h.run(h.ops[21]!);
  assert.deepEqual(kinds().slice(20), ['fsync', 'write']);
  await h.run(h.ops[22]!);
  assert.equal(dec.decode(h.fs.readFile('/home/u/w')), 'Z' + '000' + [...Array(19)].map((_, i) => String((i + 1) % 10).repeat(4)).join(''));

  const ap = new Harness({}, false);
  ap.init();
  ap.send({ type: 'open', path: 'log', pflags: FXF.WRITE | FXF.CREAT | FXF.APPEND, attrs: {} }, 1);
  await ap.run(ap.ops[0]!);
  const ah = handleOf(ap.taken()[0] as SftpResponse);
  for (let i = 0; i < 3; i++) ap.send({ type: 'write', handle: ah, offset: i * 10, data: enc.encode(`line${i}\n`) }, 10 + i);
  assert.equal(ap.ops.length, 2, 'appending writes one at a time');
  for (let i = 1; i <= 3; i++) await ap.run(ap.ops[i]!);
  assert.equal(dec.decode(ap.fs.readFile('/home/u/log')), 'line0\nline1\nline2\n');
});

test('end(): open handles are closed (also one whose OPEN completes later), nothing more is answered', async () => {
  const h = new Harness({}, false);
  h.init();
  h.fs.writeFile('/home/u/a', 'A');
  h.send({ type: 'open', path: 'a', pflags: FXF.READ, attrs: {} });
  await h.run(h.ops[0]!);
  h.send({ type: 'opendir', path: '.' });
  h.session.end();
  assert.deepEqual(h.ops.map((o) => [o.kind, o.id]), [['open', 1], ['opendir', 2], ['close', -1]]);
  await h.run(h.ops[1]!);
  assert.deepEqual(h.ops.slice(3).map((o) => [o.kind, o.id]), [['close', -1]], 'the late directory handle is closed');
  assert.ok(h.logs.some(([, m]) => m === 'forced close "a" bytes read 0 written 0'));
  h.send({ type: 'stat', path: '/' });
  assert.equal(h.ops.length, 4);
});

test('errno to STATUS as sftp-server maps it', () => {
  const err = (code: string) => Object.assign(new Error(code), { code });
  assert.deepEqual(statusForError(err('ENOENT')), { code: FX.NO_SUCH_FILE, message: 'No such file' });
  assert.deepEqual(statusForError(err('ENOTDIR')).code, FX.NO_SUCH_FILE);
  assert.deepEqual(statusForError(err('ELOOP')).code, FX.NO_SUCH_FILE);
  assert.deepEqual(statusForError(err('EACCES')), { code: FX.PERMISSION_DENIED, message: 'Permission denied' });
  assert.deepEqual(statusForError(err('EPERM')).code, FX.PERMISSION_DENIED);
  assert.deepEqual(statusForError(err('EINVAL')).code, FX.BAD_MESSAGE);
  assert.deepEqual(statusForError(err('ENOSYS')).code, FX.OP_UNSUPPORTED);
  assert.deepEqual(statusForError(err('ENOSPC')), { code: FX.FAILURE, message: 'No space left on device' });
  assert.deepEqual(statusForError(new Error('x')), { code: FX.FAILURE, message: 'Failure' });
  assert.deepEqual(statusForError(null), { code: FX.FAILURE, message: 'Failure' });
});

test('long names as ls_file formats them', () => {
  assert.equal(modeString(0o040755), 'drwxr-xr-x ');
  assert.equal(modeString(0o120777), 'lrwxrwxrwx ');
  assert.equal(modeString(0o106644), '-rwSr-Sr-- ');
  assert.equal(modeString(0o041777), 'drwxrwxrwt ');
  assert.equal(modeString(0o010600), 'prw------- ');
  const st = { size: 42, uid: 1000, gid: 1000, mode: 0o100644, atime: 0, mtime: NOW - 60, nlink: 2, owner: 'averylongname', group: 'g' };
  assert.equal(longName('x y', st, clock), '-rw-r--r--    2 averylongname g              42 Dec  3 10:29 x y');
  assert.equal(longName('f', { ...st, owner: undefined, group: undefined, mtime: NOW + 3600 }, clock), '-rw-r--r--    2 1000     1000           42 Dec  3  2026 f', 'future dates show the year');
});

test('fuzz: random, truncated and bit-flipped packets get replies or a clean close, never an exception or a runaway', async () => {
  // xorshift32: the same cases on every run
  let seed = 1313;
  const rnd = () => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) / 2 ** 32;
  };
  const valid: Uint8Array[] = [
    encodeRequest({ type: 'open', id: 1, path: 'f', pflags: W, attrs: { mode: 0o644, size: 3 } }),
    encodeRequest({ type: 'write', id: 2, handle: Uint8Array.from([0, 0, 0, 1]), offset: 0, data: enc.encode('abc') }),
    encodeRequest({ type: 'read', id: 3, handle: Uint8Array.from([0, 0, 0, 1]), offset: 0, length: 10 }),
    encodeRequest({ type: 'readdir', id: 4, handle: Uint8Array.from([0, 0, 0, 2]) }),
    encodeRequest({ type: 'opendir', id: 5, path: '.' }),
    encodeRequest({ type: 'setstat', id: 6, path: 'f', attrs: { uid: 1, gid: 2, atime: 3, mtime: 4, extended: [['a', new Uint8Array(2)]] } }),
    encodeRequest({ type: 'symlink', id: 7, targetPath: 'f', linkPath: 'l' }),
    encodeRequest({ type: 'extended', id: 8, request: EXT.COPY_DATA, data: ExtRequest[EXT.COPY_DATA].encode({ readHandle: new Uint8Array(4), readOffset: 0, length: 0, writeHandle: new Uint8Array(4), writeOffset: 0 }) }),
    encodeRequest({ type: 'extended', id: 9, request: EXT.USERS_GROUPS_BY_ID, data: ExtRequest[EXT.USERS_GROUPS_BY_ID].encode({ uids: [1, 2], gids: [3] }) }),
  ];
  const int = (n: number) => Math.floor(rnd() * n);
  for (let round = 0; round < 3000; round++) {
    const h = new Harness({ maxOutstanding: 4 });
    h.init();
    const base = valid[int(valid.length)]!;
    let p: Uint8Array;
    const kind = int(3);
    if (kind === 0) p = base.subarray(0, int(base.length + 1));
    else if (kind === 1) {
      p = Uint8Array.from(base);
      for (let k = 0; k <= int(4); k++) {
        const at = int(p.length);
        p[at] = p[at]! ^ (1 << int(8));
      }
    } else p = Uint8Array.from({ length: int(64) }, () => int(256));
    // a length word that may lie too
    const framed = rnd() < 0.2 ? Uint8Array.from([...frame(p).subarray(0, 4).map((b) => b ^ int(256)), ...p]) : frame(p);
    try {
      h.session.receive(framed);
      for (let i = 0; i < 5; i++) await Promise.resolve();
    } catch (e) {
      assert.fail(`round ${round}: ${(e as Error).stack}`);
    }
    assert.ok(h.session.outstandingRequests <= 4);
    if (h.closed === undefined) assert.ok(h.session.openHandles <= 1);
  }
});

test('pipelined READDIRs read the directory one batch at a time, in order; a CLOSE behind them waits, and a CLOSE behind a WRITE logs its bytes', async () => {
  const h = new Harness({}, false);
  h.init();
  for (let i = 0; i < 5; i++) h.fs.writeFile(`/home/u/d/f${i}`, '');
  h.send({ type: 'opendir', path: 'd' }, 1);
  await h.run(h.ops[0]!);
  const dh = handleOf(h.taken()[0] as SftpResponse);
  for (const id of [10, 11, 12]) h.send({ type: 'readdir', handle: dh }, id);
  h.send({ type: 'close', handle: dh }, 13);
  assert.deepEqual(h.ops.slice(1).map((o) => o.kind), ['readdir'], 'one directory read at a time');
  await h.run(h.ops[1]!);
  assert.deepEqual(h.ops.slice(1).map((o) => o.kind), ['readdir', 'readdir'], 'the next READDIR reads on');
  await h.run(h.ops[2]!);
  assert.deepEqual(h.ops.slice(1).map((o) => o.kind), ['readdir', 'readdir', 'close'], 'the CLOSE ran after the last READDIR');
  await h.run(h.ops[3]!);
  const replies = h.taken() as SftpResponse[];
  assert.deepEqual(replies.map((r) => [r.id, r.type]), [[10, 'name'], [11, 'status'], [12, 'status'], [13, 'status']]);
  assert.equal(namesOf(replies[0]!).length, 7);
  assert.deepEqual([status(replies[1]!)[0], status(replies[2]!)[0], status(replies[3]!)[0]], [FX.EOF, FX.EOF, FX.OK]);

  h.send({ type: 'open', path: 'w', pflags: W, attrs: {} }, 20);
  await h.run(h.ops[4]!);
  const fh = handleOf(h.taken()[0] as SftpResponse);
  h.send({ type: 'write', handle: fh, offset: 0, data: enc.encode('12345') }, 21);
  h.send({ type: 'close', handle: fh }, 22);
  await h.run(h.ops[5]!);
  await h.run(h.ops[6]!);
  assert.ok(h.logs.some(([, m]) => m === 'close "w" bytes read 0 written 5'), h.logs.map(([, m]) => m).join('\n'));
});

test('the bytes held by requests in flight are capped too: WRITE data and READ lengths', async () => {
  const h = new Harness({ maxOutstandingBytes: 1024 * 1024 }, false);
  h.init();
  h.send({ type: 'open', path: 'w', pflags: W | FXF.READ, attrs: {} }, 1);
  await h.run(h.ops[0]!);
  const fh = handleOf(h.taken()[0] as SftpResponse);
  const chunk = new Uint8Array(200 * 1024);
  const burst: Uint8Array[] = [];
  for (let i = 0; i < 50; i++) burst.push(frame(encodeRequest({ type: 'write', id: 10 + i, handle: fh, offset: i * chunk.length, data: chunk })));
  h.session.receive(Buffer.concat(burst));
  assert.equal(h.ops.length - 1, 6, 'six 200 KiB writes pass 1 MiB; the rest wait unread');
  assert.equal(h.session.outstandingBytes, 6 * chunk.length);
  assert.equal(h.session.wantsInput, false);
  for (let i = 1; h.ops[i]; i++) await h.run(h.ops[i]!);
  assert.equal(h.ops.length - 1, 50, 'all written in the end');
  assert.equal(h.session.outstandingBytes, 0);
  for (let i = 0; i < 20; i++) h.send({ type: 'read', handle: fh, offset: 0, length: 100_000 }, 100 + i);
  assert.equal(h.ops.length - 51, 11, 'READ lengths count: eleven of 100 000 bytes pass 1 MiB');
  for (let i = 51; h.ops[i]; i++) await h.run(h.ops[i]!);
  assert.equal(h.session.outstandingBytes, 0);
  assert.equal(h.session.wantsInput, true);
});

test('a file system result a reply cannot carry fails that request only', async () => {
  const h = new Harness({}, false);
  h.init();
  h.send({ type: 'stat', path: '/' }, 1);
  h.session.complete(h.ops[0] as Extract<ServerOperation, { kind: 'stat' }>, { size: 1.5, uid: 0, gid: 0, mode: 0o100644, atime: 0, mtime: 0 });
  assert.deepEqual(status(h.taken()[0] as SftpResponse), [FX.FAILURE, 'Failure']);
  assert.equal(h.session.outstandingRequests, 0);
  assert.equal(h.closed, undefined);
});
