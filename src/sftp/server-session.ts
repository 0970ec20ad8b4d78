// The SFTP server's state machine, sans I/O: channel bytes in (`receive`),
// file system work out (`ServerOperation`s for the driver to run, see
// server-operations.ts), results in (`complete`/`fail`), reply bytes out.
// This file is the session's front: the framing of its input, the cap on
// requests waiting for a reply (beyond it no more input is taken:
// `wantsInput` turns false and the driver stops reading the channel), no
// new request taken while the sink says its output is blocked (until
// outputReady()), INIT and VERSION with OpenSSH's extensions, STATUS for
// malformed packets, read-only mode and the request allow/deny lists, and
// the requests on paths and the extended ones. The requests on handles are
// server-handle-requests.ts; the replies and log lines, server-replies.ts;
// how operations are scheduled (per handle, in order), server-scheduler.ts;
// the options and sink, server-options.ts.
import { ProtocolError } from '../errors.js';
import { EXT, FX, FXP, MAX_PACKET, DEFAULT_MAX_READ, SFTP_VERSION } from './constants.js';
import { ExtRequest, LimitsReply, StatvfsReply, UsersGroupsReply } from './extensions.js';
import type { FileAttributes } from './attrs.js';
import { SftpFramer, frame } from './framing.js';
import { FxpInit, FxpVersion, UnknownSftpPacket, decodeRequest, peekRequestId, type SftpRequest } from './messages.js';
import { DEFAULT_MAX_HANDLES, DEFAULT_MAX_OUTSTANDING, DEFAULT_MAX_OUTSTANDING_BYTES, type SftpServerSessionOptions, type SftpServerSink } from './server-options.js';
import { logPath as q, statsToAttributes, UTC_CLOCK } from './server-format.js';
import { HandleRequests } from './server-handle-requests.js';
import { hotRequest } from './server-hot-requests.js';
import { PIECES_FROM, joined, pieceWrite } from './server-pieces.js';
import { ANNOUNCED_EXTENSIONS, parseRequestList, refusal, servedRequest, type RequestPolicy } from './server-requests.js';

export { DEFAULT_MAX_HANDLES, DEFAULT_MAX_OUTSTANDING, DEFAULT_MAX_OUTSTANDING_BYTES } from './server-options.js';
export type { SftpLogLevel, SftpServerSessionOptions, SftpServerSink } from './server-options.js';
const encoder = new TextEncoder();

export class SftpServerSession extends HandleRequests {
  private readonly framer: SftpFramer;
  private readonly policy: RequestPolicy;
  private readonly maxOutstanding: number;
  private readonly maxHeld: number;
  private initialized = false;
  private pumping = false;
  /** A whole packet taken from the framer while the output was blocked: the next one handled. */
  private nextPacket: Uint8Array | Uint8Array[] | undefined;
  private readonly writePieces: boolean;
  private readonly allocate: (size: number) => Uint8Array;

  constructor(sink: SftpServerSink, options: SftpServerSessionOptions = {}) {
    const umask = options.umask ?? null;
    if (umask !== null && (!Number.isInteger(umask) || umask < 0 || umask > 0o777)) throw new RangeError(`umask ${umask} is not between 0 and 0777`);
    super(sink, options.clock ?? UTC_CLOCK, positive(options.maxHandles ?? DEFAULT_MAX_HANDLES, 'maxHandles'), options.readOnly === true, umask);
    this.allocate = options.allocate ?? ((size) => new Uint8Array(size));
    this.framer = new SftpFramer(MAX_PACKET, this.allocate);
    this.writePieces = options.writePieces === true;
    const deny = options.denyRequests == null ? null : new Set(parseRequestList(options.denyRequests));
    const allow = options.allowRequests == null ? null : new Set(parseRequestList(options.allowRequests));
    this.policy = { readOnly: options.readOnly === true, deny, allow };
    this.maxOutstanding = positive(options.maxOutstanding ?? DEFAULT_MAX_OUTSTANDING, 'maxOutstanding');
    this.maxHeld = positive(options.maxOutstandingBytes ?? DEFAULT_MAX_OUTSTANDING_BYTES, 'maxOutstandingBytes');
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
    const hot = hotRequest(payload);
    if (hot !== null) {
      this.outstanding++;
      return this.request(hot);
    }
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
    if (!this.permitted(REQUEST_NUMBERS[req.type], id)) return;
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
        if (this.logsInfo) this.sink.log('info', `remove name ${q(req.path)}`);
        return this.run({ kind: 'remove', id, path: req.path }, () => this.ok(id));
      case 'mkdir': {
        const mode = this.createMode(req.attrs.mode, 0o777);
        if (this.logsInfo) this.sink.log('info', `mkdir name ${q(req.path)} mode 0${mode.toString(8)}`);
        return this.run({ kind: 'mkdir', id, path: req.path, attrs: { ...req.attrs, mode } }, () => this.ok(id));
      }
      case 'rmdir':
        if (this.logsInfo) this.sink.log('info', `rmdir name ${q(req.path)}`);
        return this.run({ kind: 'rmdir', id, path: req.path }, () => this.ok(id));
      case 'realpath':
        return this.run({ kind: 'realpath', id, path: req.path === '' ? '.' : req.path }, (p) => this.onePath(id, p));
      case 'rename':
        if (this.logsInfo) this.sink.log('info', `rename old ${q(req.oldPath)} new ${q(req.newPath)}`);
        return this.run({ kind: 'rename', id, oldPath: req.oldPath, newPath: req.newPath, posix: false }, () => this.ok(id));
      case 'readlink':
        return this.run({ kind: 'readlink', id, path: req.path }, (p) => this.onePath(id, p));
      case 'symlink':
        if (this.logsInfo) this.sink.log('info', `symlink old ${q(req.targetPath)} new ${q(req.linkPath)}`);
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
        if (this.logsInfo) this.sink.log('info', `posix-rename old ${q(d.oldPath)} new ${q(d.newPath)}`);
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
        if (this.logsInfo) this.sink.log('info', `hardlink old ${q(d.oldPath)} new ${q(d.newPath)}`);
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
}

/** Each request's packet number, for the request policy (which also takes them by number). */
const REQUEST_NUMBERS: Readonly<Record<Exclude<SftpRequest['type'], 'extended'>, number>> = {
  open: FXP.OPEN,
  close: FXP.CLOSE,
  read: FXP.READ,
  write: FXP.WRITE,
  lstat: FXP.LSTAT,
  fstat: FXP.FSTAT,
  setstat: FXP.SETSTAT,
  fsetstat: FXP.FSETSTAT,
  opendir: FXP.OPENDIR,
  readdir: FXP.READDIR,
  remove: FXP.REMOVE,
  mkdir: FXP.MKDIR,
  rmdir: FXP.RMDIR,
  realpath: FXP.REALPATH,
  stat: FXP.STAT,
  rename: FXP.RENAME,
  readlink: FXP.READLINK,
  symlink: FXP.SYMLINK,
};

function fill(names: readonly string[], n: number): string[] {
  const out = names.slice(0, n);
  while (out.length < n) out.push('');
  return out;
}

function positive(n: number, what: string): number {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`${what} must be a positive integer, got ${n}`);
  return n;
}
