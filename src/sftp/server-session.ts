// The SFTP server's state machine, sans I/O: channel bytes in (`receive`),
// file system work out (`ServerOperation`s for the driver to run, see
// server-operations.ts), results in (`complete`/`fail`), reply bytes out.
// It holds the policy that needs no I/O: INIT and VERSION with OpenSSH's
// extensions, the handle table and its cap, the cap on requests waiting for
// a reply (beyond it no more input is taken: `wantsInput` turns false and
// the driver stops reading the channel), no new request taken while the
// sink says its output is blocked (until outputReady()), read-only mode and the request allow/deny lists,
// the umask for created files, STATUS for errors and for malformed packets,
// `ls -l` long names, and sftp-server's log lines (as `-l INFO` and
// `-l VERBOSE` give them). How operations are scheduled (per handle, in
// order) is server-scheduler.ts; its options and sink, server-options.ts.
import { ProtocolError } from '../errors.js';
import type { FileAttributes } from './attrs.js';
import { DEFAULT_MAX_READ, EXT, FX, FXF, FXP, MAX_PACKET, SFTP_VERSION, STATUS_TEXT } from './constants.js';
import { ExtRequest, LimitsReply, StatvfsReply, UsersGroupsReply } from './extensions.js';
import type { DirectoryEntry, OpenMode } from './filesystem.js';
import { SftpFramer, frame } from './framing.js';
import { FxpInit, FxpVersion, UnknownSftpPacket, dataReplyHeader, decodeRequest, encodeResponse, peekRequestId, type NameEntry, type SftpRequest } from './messages.js';
import type { ServerOperation } from './server-operations.js';
import { DEFAULT_MAX_HANDLES, DEFAULT_MAX_OUTSTANDING, DEFAULT_MAX_OUTSTANDING_BYTES, type SftpLogLevel, type SftpServerSessionOptions, type SftpServerSink } from './server-options.js';
import { closeLogLine, logPath as q, longName, openFlagsText, setLogLines, statsToAttributes, UTC_CLOCK, type ServerClock } from './server-format.js';
import { HandleTable, takeNames, type DirEntry, type Entry, type FileEntry } from './server-handles.js';
import { OperationScheduler } from './server-scheduler.js';
import { PIECES_FROM, byteLength, joined, pieceWrite } from './server-pieces.js';
import { ANNOUNCED_EXTENSIONS, parseRequestList, refusal, servedRequest, type RequestPolicy } from './server-requests.js';

export { DEFAULT_MAX_HANDLES, DEFAULT_MAX_OUTSTANDING, DEFAULT_MAX_OUTSTANDING_BYTES } from './server-options.js';
export type { SftpLogLevel, SftpServerSessionOptions, SftpServerSink } from './server-options.js';
const encoder = new TextEncoder();

export class SftpServerSession extends OperationScheduler {
  private readonly framer: SftpFramer;
  private readonly policy: RequestPolicy;
  private readonly umask: number | null;
  private readonly maxHandles: number;
  private readonly maxOutstanding: number;
  private readonly maxHeld: number;
  /** WRITE data and READ lengths of the requests not yet answered. */
  private held = 0;
  private readonly clock: ServerClock;
  private readonly handles = new HandleTable();
  /** OPEN/OPENDIR running: they count against the handle cap. */
  private opening = 0;
  private outstanding = 0;
  private initialized = false;
  private pumping = false;
  /** A whole packet taken from the framer while the output was blocked: the next one handled. */
  private nextPacket: Uint8Array | Uint8Array[] | undefined;
  private readonly writePieces: boolean;
  private readonly allocate: (size: number) => Uint8Array;

  constructor(
    protected override readonly sink: SftpServerSink,
    options: SftpServerSessionOptions = {},
  ) {
    super(sink);
    this.allocate = options.allocate ?? ((size) => new Uint8Array(size));
    this.framer = new SftpFramer(MAX_PACKET, this.allocate);
    this.writePieces = options.writePieces === true;
    const deny = options.denyRequests == null ? null : new Set(parseRequestList(options.denyRequests));
    const allow = options.allowRequests == null ? null : new Set(parseRequestList(options.allowRequests));
    this.policy = { readOnly: options.readOnly === true, deny, allow };
    const umask = options.umask ?? null;
    if (umask !== null && (!Number.isInteger(umask) || umask < 0 || umask > 0o777)) throw new RangeError(`umask ${umask} is not between 0 and 0777`);
    this.umask = umask;
    this.maxHandles = positive(options.maxHandles ?? DEFAULT_MAX_HANDLES, 'maxHandles');
    this.maxOutstanding = positive(options.maxOutstanding ?? DEFAULT_MAX_OUTSTANDING, 'maxOutstanding');
    this.maxHeld = positive(options.maxOutstandingBytes ?? DEFAULT_MAX_OUTSTANDING_BYTES, 'maxOutstandingBytes');
    this.clock = options.clock ?? UTC_CLOCK;
  }

  /** False while the requests waiting for replies are at the cap (or the session is over): stop reading the channel. */
  get wantsInput(): boolean {
    return !this.ended && this.roomForInput();
  }

  /** Bytes of WRITE data and READ lengths held by requests not yet answered. */
  get outstandingBytes(): number {
    return this.held;
  }

  private roomForInput(): boolean {
    return this.outstanding < this.maxOutstanding && this.held < this.maxHeld;
  }

  /** A whole request has been received and waits for the output to unblock (see SftpServerSink.outputBlocked). */
  get holdsRequest(): boolean {
    return this.nextPacket !== undefined;
  }

  /** The channel's output has drained: take the requests waiting for it. */
  outputReady(): void {
    if (!this.ended) this.pump();
  }

  /** Requests received and not yet answered. */
  get outstandingRequests(): number {
    return this.outstanding;
  }

  /** Handles open now. */
  get openHandles(): number {
    return this.handles.size;
  }

  get isEnded(): boolean {
    return this.ended;
  }

  /** Channel data. Whole packets are handled at once while under the outstanding cap; the rest waits. */
  receive(chunk: Uint8Array): void {
    if (this.ended) return;
    this.framer.push(chunk);
    this.pump();
  }

  /**
   * The channel is gone (or the driver is stopping): every open handle is
   * closed (close operations with id -1), nothing more is answered.
   */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    for (const e of this.handles.drain()) this.closeOnEnd(e);
  }

  // -- input ---------------------------------------------------------------

  protected settled(): void {
    this.pump();
  }

  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (!this.ended && this.roomForInput()) {
        if (this.nextPacket === undefined) {
          try {
            this.nextPacket = this.writePieces ? this.framer.nextPieces(PIECES_FROM) : this.framer.next();
          } catch (e) {
            this.abort(e as Error);
            return;
          }
          if (this.nextPacket === undefined) return;
        }
        // Replies handed over go on piling up in the channel while the client reads none: wait for it to drain.
        if (this.sink.outputBlocked?.() === true) return;
        const payload = this.nextPacket;
        this.nextPacket = undefined;
        this.packet(payload);
      }
    } finally {
      this.pumping = false;
    }
  }

  private abort(error: Error): void {
    this.sink.log('error', error.message);
    this.end();
    this.sink.close(error);
  }

  private packet(packet: Uint8Array | Uint8Array[]): void {
    if (Array.isArray(packet)) {
      if (this.initialized && this.writeInPieces(packet)) return;
      packet = joined(packet, this.allocate);
    }
    const payload = packet;
    const type = payload[0]!;
    if (!this.initialized) {
      if (type !== FXP.INIT) return this.abort(new ProtocolError(`Received ${type} request before init`));
      let version: number;
      try {
        version = FxpInit.decode(payload).version;
      } catch (e) {
        return this.abort(e as Error);
      }
      this.initialized = true;
      this.sink.log('debug', `received client version ${version}`);
      const reply = FxpVersion.encode({ version: SFTP_VERSION, extensions: ANNOUNCED_EXTENSIONS.map(([n, v]) => [n, encoder.encode(v)] as [string, Uint8Array]) });
      this.sink.output([frame(reply)]);
      return;
    }
    if (type === FXP.INIT) return this.abort(new ProtocolError('Received duplicate INIT'));
    let req: SftpRequest;
    try {
      req = decodeRequest(payload);
    } catch (e) {
      const id = e instanceof UnknownSftpPacket ? e.id : peekRequestId(payload);
      if (id === undefined) return this.abort(e as Error);
      this.outstanding++;
      if (e instanceof UnknownSftpPacket) {
        this.sink.log('error', `Unknown message ${type}`);
        return this.status(id, FX.OP_UNSUPPORTED);
      }
      this.sink.log('error', `Bad message ${type}: ${(e as Error).message}`);
      return this.status(id, FX.BAD_MESSAGE);
    }
    this.outstanding++;
    this.request(req);
  }

  /** A WRITE that came in pieces, taken without joining them (see server-pieces.ts); false for anything else. */
  private writeInPieces(pieces: Uint8Array[]): boolean {
    const w = pieceWrite(pieces);
    if (w === null) return false;
    this.outstanding++;
    if (this.permitted(FXP.WRITE, w.id)) this.write(w.id, w.handle, w.offset, w.data);
    return true;
  }

  // -- requests ------------------------------------------------------------

  private permitted(packet: number | string, id: number): boolean {
    const served = servedRequest(packet);
    if (!served) return true;
    const why = refusal(served, this.policy);
    if (why === null) return true;
    this.sink.log('verbose', why);
    this.status(id, FX.PERMISSION_DENIED);
    return false;
  }

  private request(req: SftpRequest): void {
    const id = req.id;
    if (req.type === 'extended') return this.extended(req);
    if (!this.permitted(FXP[req.type.toUpperCase() as keyof typeof FXP], id)) return;
    switch (req.type) {
      case 'open':
        return this.open(id, req.path, req.pflags, req.attrs);
      case 'opendir':
        return this.opendir(id, req.path);
      case 'close':
        return this.close(id, req.handle);
      case 'read':
        return this.read(id, req.handle, req.offset, req.length);
      case 'write':
        return this.write(id, req.handle, req.offset, req.data);
      case 'readdir':
        return this.readdir(id, req.handle);
      case 'stat':
      case 'lstat':
        return this.run({ kind: req.type, id, path: req.path }, (st) => this.attrs(id, statsToAttributes(st)));
      case 'fstat': {
        const e = this.file(id, req.handle);
        if (e) this.onHandle(e, { kind: 'fstat', id, file: e.object }, (st) => this.attrs(id, statsToAttributes(st)));
        return;
      }
      case 'setstat':
        this.logSet(req.path, req.attrs);
        return this.run({ kind: 'setstat', id, path: req.path, attrs: req.attrs, followSymlinks: true }, () => this.ok(id));
      case 'fsetstat': {
        const e = this.file(id, req.handle);
        if (!e) return;
        this.logSet(e.path, req.attrs);
        return this.ordered(e, { kind: 'fsetstat', id, file: e.object, attrs: req.attrs }, () => this.ok(id));
      }
      case 'remove':
        this.sink.log('info', `remove name ${q(req.path)}`);
        return this.run({ kind: 'remove', id, path: req.path }, () => this.ok(id));
      case 'mkdir': {
        const mode = this.createMode(req.attrs.mode, 0o777);
        this.sink.log('info', `mkdir name ${q(req.path)} mode 0${mode.toString(8)}`);
        return this.run({ kind: 'mkdir', id, path: req.path, attrs: { ...req.attrs, mode } }, () => this.ok(id));
      }
      case 'rmdir':
        this.sink.log('info', `rmdir name ${q(req.path)}`);
        return this.run({ kind: 'rmdir', id, path: req.path }, () => this.ok(id));
      case 'realpath':
        return this.run({ kind: 'realpath', id, path: req.path === '' ? '.' : req.path }, (p) => this.onePath(id, p));
      case 'rename':
        this.sink.log('info', `rename old ${q(req.oldPath)} new ${q(req.newPath)}`);
        return this.run({ kind: 'rename', id, oldPath: req.oldPath, newPath: req.newPath, posix: false }, () => this.ok(id));
      case 'readlink':
        return this.run({ kind: 'readlink', id, path: req.path }, (p) => this.onePath(id, p));
      case 'symlink':
        this.sink.log('info', `symlink old ${q(req.targetPath)} new ${q(req.linkPath)}`);
        return this.run({ kind: 'symlink', id, targetPath: req.targetPath, linkPath: req.linkPath }, () => this.ok(id));
    }
  }

  private extended(req: Extract<SftpRequest, { type: 'extended' }>): void {
    const id = req.id;
    const name = req.request;
    const schema = (ExtRequest as Record<string, (typeof ExtRequest)[keyof typeof ExtRequest]>)[name];
    if (schema === undefined) {
      this.sink.log('error', `Unknown extended request ${q(name.slice(0, 100))}`);
      return this.status(id, FX.OP_UNSUPPORTED);
    }
    if (!this.permitted(name, id)) return;
    let data: Record<string, unknown>;
    try {
      data = schema.decode(req.data) as Record<string, unknown>;
    } catch (e) {
      this.sink.log('error', `Bad ${name} request: ${(e as Error).message}`);
      return this.status(id, FX.BAD_MESSAGE);
    }
    switch (name) {
      case EXT.POSIX_RENAME: {
        const d = data as { oldPath: string; newPath: string };
        this.sink.log('info', `posix-rename old ${q(d.oldPath)} new ${q(d.newPath)}`);
        return this.run({ kind: 'rename', id, oldPath: d.oldPath, newPath: d.newPath, posix: true }, () => this.ok(id));
      }
      case EXT.STATVFS:
        return this.run({ kind: 'statvfs', id, path: (data as { path: string }).path }, (s) => this.reply(id, StatvfsReply.encode(s)));
      case EXT.FSTATVFS: {
        const e = this.file(id, (data as { handle: Uint8Array }).handle);
        if (e) this.onHandle(e, { kind: 'fstatvfs', id, file: e.object }, (s) => this.reply(id, StatvfsReply.encode(s)));
        return;
      }
      case EXT.HARDLINK: {
        const d = data as { oldPath: string; newPath: string };
        this.sink.log('info', `hardlink old ${q(d.oldPath)} new ${q(d.newPath)}`);
        return this.run({ kind: 'hardlink', id, oldPath: d.oldPath, newPath: d.newPath }, () => this.ok(id));
      }
      case EXT.FSYNC: {
        const e = this.file(id, (data as { handle: Uint8Array }).handle);
        if (e) this.ordered(e, { kind: 'fsync', id, file: e.object }, () => this.ok(id));
        return;
      }
      case EXT.LSETSTAT: {
        const d = data as { path: string; attrs: FileAttributes };
        this.logSet(d.path, d.attrs);
        return this.run({ kind: 'setstat', id, path: d.path, attrs: d.attrs, followSymlinks: false }, () => this.ok(id));
      }
      case EXT.LIMITS:
        return this.reply(
          id,
          LimitsReply.encode({ maxPacketLength: MAX_PACKET, maxReadLength: DEFAULT_MAX_READ, maxWriteLength: MAX_PACKET - 1024, maxOpenHandles: this.maxHandles }),
        );
      case EXT.EXPAND_PATH:
        return this.run({ kind: 'expand-path', id, path: (data as { path: string }).path }, (p) => this.onePath(id, p));
      case EXT.COPY_DATA:
        return this.copyData(id, data as { readHandle: Uint8Array; readOffset: number; length: number; writeHandle: Uint8Array; writeOffset: number });
      case EXT.HOME_DIRECTORY:
        return this.run({ kind: 'home-directory', id, username: (data as { username: string }).username }, (p) => this.onePath(id, p));
      case EXT.USERS_GROUPS_BY_ID: {
        const d = data as { uids: number[]; gids: number[] };
        return this.run({ kind: 'users-groups', id, uids: d.uids, gids: d.gids }, (names) =>
          this.reply(id, UsersGroupsReply.encode({ usernames: fill(names.users, d.uids.length), groupnames: fill(names.groups, d.gids.length) })),
        );
      }
    }
    // A name ExtRequest knows and this switch does not: an extension added to the contract but not served yet.
    return this.status(id, FX.OP_UNSUPPORTED);
  }

  private open(id: number, path: string, pflags: number, attrs: FileAttributes): void {
    const mode: OpenMode = {
      read: (pflags & FXF.READ) !== 0 || (pflags & FXF.WRITE) === 0,
      write: (pflags & FXF.WRITE) !== 0,
      append: (pflags & FXF.APPEND) !== 0,
      create: (pflags & FXF.CREAT) !== 0,
      truncate: (pflags & FXF.TRUNC) !== 0,
      exclusive: (pflags & FXF.EXCL) !== 0,
    };
    const perm = this.createMode(attrs.mode, 0o666);
    this.sink.log('info', `open ${q(path)} flags ${openFlagsText(pflags)} mode 0${perm.toString(8)}`);
    if (this.policy.readOnly && (mode.write || mode.create || mode.truncate)) {
      this.sink.log('verbose', 'Refusing open request in read-only mode');
      return this.status(id, FX.PERMISSION_DENIED);
    }
    if (!this.handleRoom(id)) return;
    this.opening++;
    this.run(
      { kind: 'open', id, path, mode, attrs: { mode: perm } },
      (object) => {
        const handle = this.handles.newHandle();
        this.handles.add({ kind: 'file', handle, path, object, append: mode.append, inflight: 0, closing: null, bytesRead: 0, bytesWritten: 0, writing: [], exclusive: false, queued: [] });
        this.handleReply(id, handle);
      },
      () => this.opening--,
    );
  }

  private opendir(id: number, path: string): void {
    this.sink.log('info', `opendir ${q(path)}`);
    if (!this.handleRoom(id)) return;
    this.opening++;
    this.run(
      { kind: 'opendir', id, path },
      (object) => {
        const handle = this.handles.newHandle();
        this.handles.add({ kind: 'dir', handle, path, object, inflight: 0, closing: null, backlog: [], done: false, reading: false, waiting: [] });
        this.handleReply(id, handle);
      },
      () => this.opening--,
    );
  }

  private handleRoom(id: number): boolean {
    if (this.handles.size + this.opening < this.maxHandles) return true;
    this.sink.log('error', `Refusing open: ${this.maxHandles} handles are open`);
    this.status(id, FX.FAILURE, `too many open handles (at most ${this.maxHandles})`);
    return false;
  }

  private close(id: number, handle: Uint8Array): void {
    const e = this.handles.get(handle);
    // sftp-server's handle_close fails with ENOENT for a handle it does not have
    if (!e) return this.status(id, FX.NO_SUCH_FILE);
    this.handles.delete(e);
    e.closing = () => {
      this.run({ kind: 'close', id, target: e.object, file: e.kind === 'file' }, () => this.ok(id));
      this.logClose(e, false);
    };
    if (e.inflight === 0) this.runClosing(e);
  }

  private read(id: number, handle: Uint8Array, offset: number, length: number): void {
    const e = this.file(id, handle);
    if (!e) return;
    const len = Math.min(length, DEFAULT_MAX_READ);
    this.held += len;
    this.onHandle(
      e,
      { kind: 'read', id, file: e.object, offset, length: len },
      (data) => {
        if (data.length === 0) return this.status(id, FX.EOF);
        const body = data.length > len ? data.subarray(0, len) : data;
        e.bytesRead += body.length;
        this.outstanding--;
        this.sink.output([dataReplyHeader(id, body.length), body]);
      },
      () => (this.held -= len),
    );
  }

  private write(id: number, handle: Uint8Array, offset: number, data: Uint8Array | readonly Uint8Array[]): void {
    const e = this.file(id, handle);
    if (!e) return;
    const length = byteLength(data);
    this.held += length;
    this.ordered(
      e,
      { kind: 'write', id, file: e.object, offset, data },
      () => {
        e.bytesWritten += length;
        this.ok(id);
      },
      () => (this.held -= length),
      { start: offset, end: offset + length },
    );
  }

  private readdir(id: number, handle: Uint8Array): void {
    const e = this.handles.get(handle);
    if (!e || e.kind !== 'dir') return this.status(id, FX.FAILURE);
    if (e.reading) {
      // one read of a directory at a time; a waiting READDIR holds the handle open like an operation
      e.inflight++;
      e.waiting.push(id);
    } else this.serveReaddir(e, id);
  }

  private serveReaddir(e: DirEntry, id: number): void {
    if (e.backlog.length > 0) return this.names(id, takeNames(e));
    if (e.done) return this.status(id, FX.EOF);
    e.reading = true;
    this.onHandle(
      e,
      { kind: 'readdir', id, dir: e.object },
      (entries) => {
        e.reading = false;
        if (entries === null || entries.length === 0) e.done = true;
        else e.backlog = entries.map((d) => this.nameEntry(d));
        this.serveReaddir(e, id);
        this.nextReaddir(e);
      },
      (succeeded) => {
        if (succeeded) return; // the result is used above
        e.reading = false;
        this.nextReaddir(e);
      },
    );
  }

  private nextReaddir(e: DirEntry): void {
    while (!e.reading && e.waiting.length > 0) {
      e.inflight--;
      this.serveReaddir(e, e.waiting.shift()!);
    }
    if (e.inflight === 0 && e.closing) this.runClosing(e);
  }

  private copyData(id: number, d: { readHandle: Uint8Array; readOffset: number; length: number; writeHandle: Uint8Array; writeOffset: number }): void {
    const from = this.file(id, d.readHandle);
    if (!from) return;
    const to = this.file(id, d.writeHandle);
    if (!to) return;
    if (from === to) {
      const end = (x: number) => (d.length === 0 ? Infinity : x + d.length);
      if (d.readOffset < end(d.writeOffset) && d.writeOffset < end(d.readOffset)) {
        this.sink.log('error', 'copy-data: the read and write ranges of one file overlap');
        return this.status(id, FX.FAILURE);
      }
    }
    from.inflight++;
    this.ordered(to, { kind: 'copy-data', id, from: from.object, readOffset: d.readOffset, length: d.length, to: to.object, writeOffset: d.writeOffset }, () => this.ok(id), () => {
      from.inflight--;
      if (from.inflight === 0 && from.closing) this.runClosing(from);
    });
  }

  // -- replies ---------------------------------------------------------------

  private file(id: number, handle: Uint8Array): FileEntry | null {
    const e = this.handles.get(handle);
    if (e && e.kind === 'file') return e;
    this.status(id, FX.FAILURE);
    return null;
  }

  private send(payload: Uint8Array): void {
    this.outstanding--;
    this.sink.output([frame(payload)]);
  }

  protected status(id: number, code: number, message = STATUS_TEXT[code] ?? ''): void {
    this.send(encodeResponse({ type: 'status', id, code, text: { message, lang: '' } }));
  }

  private ok(id: number): void {
    this.status(id, FX.OK);
  }

  private attrs(id: number, attrs: FileAttributes): void {
    this.send(encodeResponse({ type: 'attrs', id, attrs }));
  }

  private handleReply(id: number, handle: Uint8Array): void {
    this.send(encodeResponse({ type: 'handle', id, handle }));
  }

  private reply(id: number, data: Uint8Array): void {
    this.send(encodeResponse({ type: 'extended-reply', id, data }));
  }

  /** A NAME with one path (REALPATH, READLINK, expand-path, home-directory), its long name the path, no attributes. */
  private onePath(id: number, path: string): void {
    this.names(id, [{ filename: path, longname: path, attrs: {} }]);
  }

  private names(id: number, names: NameEntry[]): void {
    this.send(encodeResponse({ type: 'name', id, names }));
  }

  private nameEntry(d: DirectoryEntry): NameEntry {
    return { filename: d.name, longname: longName(d.name, d.stats, this.clock), attrs: statsToAttributes(d.stats) };
  }

  protected logClose(e: Entry, forced: boolean): void {
    this.sink.log('info', closeLogLine(e.kind, e.path, e.kind === 'file' ? e.bytesRead : 0, e.kind === 'file' ? e.bytesWritten : 0, forced));
  }

  private logSet(path: string, a: FileAttributes): void {
    for (const line of setLogLines(path, a, this.clock)) this.sink.log('info', line);
  }

  /** The mode a created file or directory gets: the client's (or the default) less the umask. */
  private createMode(mode: number | undefined, fallback: number): number {
    const m = mode === undefined ? fallback : mode & 0o7777;
    return this.umask === null ? m : m & ~this.umask;
  }
}

function fill(names: readonly string[], n: number): string[] {
  const out = names.slice(0, n);
  while (out.length < n) out.push('');
  return out;
}

function positive(n: number, what: string): number {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`${what} must be a positive integer, got ${n}`);
  return n;
}
