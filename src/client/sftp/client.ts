// The SFTP client on a channel: the promise methods of SFTP v3 and OpenSSH's
// extensions, over the sans-I/O SftpClientSession. Streams and whole-file
// transfers are in their own modules and use the narrow methods here
// (`readInto`, `writeFrom`) that keep data bodies uncopied.
import type { Readable, Writable } from 'node:stream';
import type { Channel } from '../../io/node/channel.js';
import { NacreError, ProtocolError } from '../../errors.js';
import { SftpClientSession, joined, type SftpReplyKind, type SftpRequestBody } from '../../sftp/client-session.js';
import { DEFAULT_MAX_READ, EXT, FX, FXF, MAX_PACKET, MAX_RECEIVE_PACKET } from '../../sftp/constants.js';
import type { FileAttributes } from '../../sftp/attrs.js';
import { ExtRequest, LimitsReply, StatvfsReply, UsersGroupsReply, type SftpLimits, type Statvfs } from '../../sftp/extensions.js';
import type { SftpResponse } from '../../sftp/messages.js';
import { SftpError } from '../../sftp/errors.js';
import { Outbox, type SftpCarrier } from './outbox.js';
import type { ReadDone } from './ops.js';
import { NO_DATA_EOF } from './reader.js';
import type { ReadStreamOptions, SftpClient, SftpEntry, SftpHandle, SftpOpenFlags, TransferOptions, WriteStreamOptions } from './api.js';
import { createSftpReadStream, createSftpWriteStream } from './streams.js';
import { getPath, putPath } from './tree.js';

const OPEN_FLAGS: Readonly<Record<SftpOpenFlags, number>> = {
  r: FXF.READ,
  'r+': FXF.READ | FXF.WRITE,
  w: FXF.WRITE | FXF.CREAT | FXF.TRUNC,
  wx: FXF.WRITE | FXF.CREAT | FXF.TRUNC | FXF.EXCL,
  'w+': FXF.READ | FXF.WRITE | FXF.CREAT | FXF.TRUNC,
  'wx+': FXF.READ | FXF.WRITE | FXF.CREAT | FXF.TRUNC | FXF.EXCL,
  a: FXF.WRITE | FXF.APPEND | FXF.CREAT,
  ax: FXF.WRITE | FXF.APPEND | FXF.CREAT | FXF.EXCL,
  'a+': FXF.READ | FXF.WRITE | FXF.APPEND | FXF.CREAT,
  'ax+': FXF.READ | FXF.WRITE | FXF.APPEND | FXF.CREAT | FXF.EXCL,
};

/** What sftp-server announces in limits@openssh.com, used when a server does not say. */
const DEFAULT_LIMITS: SftpLimits = { maxPacketLength: MAX_PACKET, maxReadLength: DEFAULT_MAX_READ, maxWriteLength: DEFAULT_MAX_READ, maxOpenHandles: 0 };

const text = new TextDecoder();
const EMPTY = new Uint8Array(0);

/**
 * The receive window an SFTP channel asks for: downloads keep several MiB of
 * replies in flight, and a window of 8 MiB re-opened at half (the core's
 * rule) lets them flow with a WINDOW_ADJUST every 4 MiB instead of every 1.
 * Data never waits in it: the session takes every byte as it arrives.
 */
const SFTP_WINDOW = 8 * 1024 * 1024;

/** Opens an SFTP session on a channel already running the `sftp` subsystem. */
export async function startSftp(channel: Channel): Promise<NodeSftpClient> {
  channel.growWindow(SFTP_WINDOW);
  const client = new NodeSftpClient(channel);
  await client.ready;
  return client;
}

export class NodeSftpClient implements SftpClient {
  version = 0;
  extensions: ReadonlyMap<string, string> = new Map();
  limits: SftpLimits = DEFAULT_LIMITS;
  /** @internal Resolves once VERSION (and the limits) arrived. */
  readonly ready: Promise<void>;
  private readonly session: SftpClientSession;
  private readonly outbox: Outbox;
  private ended = false;

  /** @internal */
  constructor(readonly channel: SftpCarrier) {
    this.outbox = new Outbox(channel);
    this.session = new SftpClientSession((b) => this.outbox.push(b));
    this.ready = new Promise<void>((resolve, reject) => {
      this.session.onHello = (hello) => {
        this.version = hello.version;
        const ext = new Map<string, string>();
        for (const [name, data] of hello.extensions) ext.set(name, text.decode(data));
        this.extensions = ext;
        this.loadLimits().then(resolve, reject);
      };
      this.session.onFailure = (err) => {
        reject(err);
        // A session that broke the protocol is of no further use; its channel goes.
        if (!channel.destroyed) channel.destroy();
      };
    });
    this.ready.catch(() => undefined);
    channel.on('data', (b: Uint8Array) => this.session.receive(b));
    const lost = (): void => this.session.close(new SftpError(FX.CONNECTION_LOST, 'the SFTP channel closed', 'sftp'));
    channel.on('end', lost);
    channel.on('close', lost);
    channel.on('channel-close', lost);
    channel.on('error', (err: Error) => this.session.close(new SftpError(FX.CONNECTION_LOST, err.message, 'sftp', undefined, { cause: err })));
    this.session.start();
  }

  private async loadLimits(): Promise<void> {
    if (!this.extensions.has(EXT.LIMITS)) return;
    const data = await this.extended(EXT.LIMITS, ExtRequest[EXT.LIMITS].encode({}), 'extended-reply', 'limits');
    const l = LimitsReply.decode(data);
    this.limits = {
      maxPacketLength: l.maxPacketLength || DEFAULT_LIMITS.maxPacketLength,
      maxReadLength: l.maxReadLength || DEFAULT_LIMITS.maxReadLength,
      maxWriteLength: l.maxWriteLength || DEFAULT_LIMITS.maxWriteLength,
      maxOpenHandles: l.maxOpenHandles,
    };
  }

  /** @internal The longest READ to ask for: the server's limit, and a DATA reply must fit what we accept. */
  get maxRead(): number {
    return Math.max(1, Math.min(this.limits.maxReadLength, MAX_RECEIVE_PACKET - 1024));
  }

  /** @internal The longest WRITE to send: the server's limit, and the packet must fit its packet limit. */
  get maxWrite(): number {
    return Math.max(1, Math.min(this.limits.maxWriteLength, this.limits.maxPacketLength - 1024));
  }

  /** @internal Whether the server announced extension `name`. */
  has(name: string): boolean {
    return this.extensions.has(name);
  }

  /** @internal Requests awaiting replies. */
  get outstanding(): number {
    return this.session.outstanding;
  }

  /**
   * @internal Sends a request; resolves with its reply (STATUS OK as null),
   * rejects with SftpError naming `op` and `path` for another status.
   */
  call(body: SftpRequestBody, op: string, path: string | undefined, expect?: SftpReplyKind): Promise<SftpResponse | null> {
    return new Promise((resolve, reject) => {
      this.session.request(
        body,
        (reply, err) => {
          if (reply === null) reject(sessionError(err!, op, path));
          else if (reply.type !== 'status') resolve(reply);
          else if (reply.code === FX.OK) resolve(null);
          else reject(new SftpError(reply.code, reply.text.message, op, path));
        },
        expect,
      );
    });
  }

  private async expectReply<T extends SftpResponse['type']>(body: SftpRequestBody, op: string, path: string | undefined, type: T): Promise<Extract<SftpResponse, { type: T }>> {
    const r = await this.call(body, op, path, type);
    if (r === null) throw new SftpError(FX.BAD_MESSAGE, `the server answered ${op} with OK and no ${type}`, op, path);
    return r as Extract<SftpResponse, { type: T }>;
  }

  private async status(body: SftpRequestBody, op: string, path?: string): Promise<void> {
    await this.call(body, op, path, 'status');
  }

  private async extended(name: string, data: Uint8Array, expect: SftpReplyKind, op: string, path?: string): Promise<Uint8Array> {
    if (!this.extensions.has(name)) throw new SftpError(FX.OP_UNSUPPORTED, `the server does not offer ${name}`, op, path);
    const r = await this.call({ type: 'extended', request: name, data }, op, path, expect);
    if (expect === 'status') return EMPTY;
    if (r === null || r.type !== 'extended-reply') throw new SftpError(FX.BAD_MESSAGE, `the server answered ${name} without data`, op, path);
    return r.data;
  }

  /**
   * @internal READ of up to `length` bytes at `offset`: `done` gets the data
   * as the pieces of received chunks it lies in (none at EOF) with their
   * total, or an error. No promise, no copy: the transfer loops call this
   * many times.
   */
  readInto(handle: SftpHandle, offset: number, length: number, done: ReadDone): void {
    if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isInteger(length) || length < 0 || length > 0xffffffff) {
      done(null, 0, new RangeError(`read: offset ${offset} or length ${length} out of range`));
      return;
    }
    this.session.read(
      handle.handle,
      offset,
      length,
      (reply, err) => {
        if (reply === null) done(null, 0, sessionError(err!, 'read', handle.path));
        else if (reply.type === 'status' && reply.code === FX.EOF) done(NO_DATA_EOF, 0);
        else if (reply.type === 'status') done(null, 0, new SftpError(reply.code === FX.OK ? FX.BAD_MESSAGE : reply.code, reply.text.message, 'read', handle.path));
      },
      (pieces, got) => {
        if (got > length) done(null, 0, new ProtocolError(`SFTP: ${got} bytes in reply to a read of ${length}`));
        else done(pieces, got);
      },
    );
  }

  /**
   * @internal WRITE of `data` at `offset`, `data` sent as it is (not copied;
   * it may be reused once `afterSent` says so), `done` with the server's answer.
   */
  writeFrom(handle: SftpHandle, offset: number, data: Uint8Array, done: (err?: Error) => void): void {
    this.session.write(handle.handle, offset, data, (reply, err) => {
      if (reply === null) done(sessionError(err!, 'write', handle.path));
      else if (reply.type === 'status' && reply.code === FX.OK) done();
      else if (reply.type === 'status') done(new SftpError(reply.code, reply.text.message, 'write', handle.path));
    });
  }

  /** @internal Calls `fn` once the channel has taken everything sent so far (perhaps at once). */
  afterSent(fn: () => void): void {
    this.outbox.afterSent(fn);
  }

  async open(path: string, flags: SftpOpenFlags = 'r', attrs: FileAttributes = {}): Promise<SftpHandle> {
    const pflags = OPEN_FLAGS[flags];
    if (pflags === undefined) throw new TypeError(`open: unknown flags ${JSON.stringify(flags)}`);
    return this.openWith(path, pflags, attrs);
  }

  /** @internal OPEN with FXF flags as they are (resuming opens for writing without truncating or appending). */
  async openWith(path: string, pflags: number, attrs: FileAttributes = {}): Promise<SftpHandle> {
    const r = await this.expectReply({ type: 'open', path, pflags, attrs }, 'open', path, 'handle');
    return { handle: r.handle, path };
  }

  async close(handle: SftpHandle): Promise<void> {
    await this.status({ type: 'close', handle: handle.handle }, 'close', handle.path);
  }

  read(handle: SftpHandle, position: number, length: number): Promise<Uint8Array> {
    return new Promise((resolve, reject) => this.readInto(handle, position, length, (pieces, got, err) => (pieces ? resolve(joined(pieces, got)) : reject(err))));
  }

  write(handle: SftpHandle, position: number, data: Uint8Array): Promise<void> {
    const max = this.maxWrite;
    if (data.length <= max) return new Promise((resolve, reject) => this.writeFrom(handle, position, data, (err) => (err ? reject(err) : resolve())));
    // Longer than one packet may hold: in pieces, all sent at once.
    const parts: Promise<void>[] = [];
    for (let at = 0; at < data.length; at += max) parts.push(this.write(handle, position + at, data.subarray(at, at + max)));
    return Promise.all(parts).then(() => undefined);
  }

  async fstat(handle: SftpHandle): Promise<FileAttributes> {
    return (await this.expectReply({ type: 'fstat', handle: handle.handle }, 'fstat', handle.path, 'attrs')).attrs;
  }

  async fsetstat(handle: SftpHandle, attrs: FileAttributes): Promise<void> {
    await this.status({ type: 'fsetstat', handle: handle.handle, attrs }, 'fsetstat', handle.path);
  }

  async fsync(handle: SftpHandle): Promise<void> {
    await this.extended(EXT.FSYNC, ExtRequest[EXT.FSYNC].encode({ handle: handle.handle }), 'status', 'fsync', handle.path);
  }

  async opendir(path: string): Promise<SftpHandle> {
    const r = await this.expectReply({ type: 'opendir', path }, 'opendir', path, 'handle');
    return { handle: r.handle, path };
  }

  async readdir(handle: SftpHandle): Promise<SftpEntry[] | null> {
    try {
      const r = await this.expectReply({ type: 'readdir', handle: handle.handle }, 'readdir', handle.path, 'name');
      return r.names.map((n) => ({ filename: n.filename, longname: n.longname, attrs: n.attrs }));
    } catch (err) {
      if (err instanceof SftpError && err.code === FX.EOF) return null;
      throw err;
    }
  }

  async list(path: string): Promise<SftpEntry[]> {
    const h = await this.opendir(path);
    const out: SftpEntry[] = [];
    try {
      for (let batch = await this.readdir(h); batch !== null; batch = await this.readdir(h)) {
        for (const e of batch) if (e.filename !== '.' && e.filename !== '..') out.push(e);
      }
    } finally {
      await this.close(h).catch(() => undefined);
    }
    return out;
  }

  async stat(path: string): Promise<FileAttributes> {
    return (await this.expectReply({ type: 'stat', path }, 'stat', path, 'attrs')).attrs;
  }

  /** @internal LSTAT or STAT: the attributes, or the code of the STATUS the server answered with. */
  probe(path: string, follow: boolean): Promise<FileAttributes | number> {
    const op = follow ? 'stat' : 'lstat';
    return new Promise((resolve, reject) => {
      this.session.request(follow ? { type: 'stat', path } : { type: 'lstat', path }, (reply, err) => {
        if (reply === null) reject(sessionError(err!, op, path));
        else if (reply.type === 'attrs') resolve(reply.attrs);
        else if (reply.type === 'status') resolve(reply.code === FX.OK ? FX.BAD_MESSAGE : reply.code);
        else reject(new SftpError(FX.BAD_MESSAGE, `the server answered ${op} with ${reply.type}`, op, path));
      });
    });
  }

  async lstat(path: string): Promise<FileAttributes> {
    return (await this.expectReply({ type: 'lstat', path }, 'lstat', path, 'attrs')).attrs;
  }

  async setstat(path: string, attrs: FileAttributes): Promise<void> {
    await this.status({ type: 'setstat', path, attrs }, 'setstat', path);
  }

  async lsetstat(path: string, attrs: FileAttributes): Promise<void> {
    await this.extended(EXT.LSETSTAT, ExtRequest[EXT.LSETSTAT].encode({ path, attrs }), 'status', 'lsetstat', path);
  }

  async exists(path: string): Promise<boolean> {
    try {
      await this.lstat(path);
      return true;
    } catch (err) {
      if (err instanceof SftpError && err.code === FX.NO_SUCH_FILE) return false;
      throw err;
    }
  }

  async mkdir(path: string, attrs: FileAttributes = {}): Promise<void> {
    await this.status({ type: 'mkdir', path, attrs }, 'mkdir', path);
  }

  async rmdir(path: string): Promise<void> {
    await this.status({ type: 'rmdir', path }, 'rmdir', path);
  }

  async unlink(path: string): Promise<void> {
    await this.status({ type: 'remove', path }, 'remove', path);
  }

  async rename(oldPath: string, newPath: string): Promise<void> {
    if (this.extensions.has(EXT.POSIX_RENAME)) {
      await this.extended(EXT.POSIX_RENAME, ExtRequest[EXT.POSIX_RENAME].encode({ oldPath, newPath }), 'status', 'rename', oldPath);
    } else {
      await this.status({ type: 'rename', oldPath, newPath }, 'rename', oldPath);
    }
  }

  async renameNoReplace(oldPath: string, newPath: string): Promise<void> {
    await this.status({ type: 'rename', oldPath, newPath }, 'rename', oldPath);
  }

  async symlink(targetPath: string, linkPath: string): Promise<void> {
    await this.status({ type: 'symlink', targetPath, linkPath }, 'symlink', linkPath);
  }

  async readlink(path: string): Promise<string> {
    return this.oneName(await this.expectReply({ type: 'readlink', path }, 'readlink', path, 'name'), 'readlink', path);
  }

  async realpath(path: string): Promise<string> {
    return this.oneName(await this.expectReply({ type: 'realpath', path }, 'realpath', path, 'name'), 'realpath', path);
  }

  async expandPath(path: string): Promise<string> {
    if (!this.extensions.has(EXT.EXPAND_PATH)) return this.realpath(path.replace(/^~\/?/, '') || '.');
    const data = ExtRequest[EXT.EXPAND_PATH].encode({ path });
    const r = await this.call({ type: 'extended', request: EXT.EXPAND_PATH, data }, 'expand-path', path, 'name');
    if (r === null || r.type !== 'name') throw new SftpError(FX.BAD_MESSAGE, 'no name in the reply', 'expand-path', path);
    return this.oneName(r, 'expand-path', path);
  }

  async hardlink(oldPath: string, newPath: string): Promise<void> {
    await this.extended(EXT.HARDLINK, ExtRequest[EXT.HARDLINK].encode({ oldPath, newPath }), 'status', 'hardlink', newPath);
  }

  async statvfs(path: string): Promise<Statvfs> {
    return StatvfsReply.decode(await this.extended(EXT.STATVFS, ExtRequest[EXT.STATVFS].encode({ path }), 'extended-reply', 'statvfs', path));
  }

  async copyData(from: SftpHandle, fromOffset: number, length: number, to: SftpHandle, toOffset: number): Promise<void> {
    const data = ExtRequest[EXT.COPY_DATA].encode({ readHandle: from.handle, readOffset: fromOffset, length, writeHandle: to.handle, writeOffset: toOffset });
    await this.extended(EXT.COPY_DATA, data, 'status', 'copy-data', to.path);
  }

  async homeDirectory(username = ''): Promise<string> {
    if (!this.extensions.has(EXT.HOME_DIRECTORY)) {
      if (username === '') return this.realpath('.');
      throw new SftpError(FX.OP_UNSUPPORTED, `the server does not offer ${EXT.HOME_DIRECTORY}`, 'home-directory', username);
    }
    const data = ExtRequest[EXT.HOME_DIRECTORY].encode({ username });
    const r = await this.call({ type: 'extended', request: EXT.HOME_DIRECTORY, data }, 'home-directory', username, 'name');
    if (r === null || r.type !== 'name') throw new SftpError(FX.BAD_MESSAGE, 'no name in the reply', 'home-directory', username);
    return this.oneName(r, 'home-directory', username);
  }

  async namesById(uids: readonly number[], gids: readonly number[]): Promise<{ users: string[]; groups: string[] }> {
    const data = ExtRequest[EXT.USERS_GROUPS_BY_ID].encode({ uids: [...uids], gids: [...gids] });
    const r = UsersGroupsReply.decode(await this.extended(EXT.USERS_GROUPS_BY_ID, data, 'extended-reply', 'users-groups-by-id'));
    if (r.usernames.length !== uids.length || r.groupnames.length !== gids.length) {
      throw new SftpError(FX.BAD_MESSAGE, 'the reply does not have one name per id', 'users-groups-by-id');
    }
    return { users: r.usernames, groups: r.groupnames };
  }

  createReadStream(path: string, options: ReadStreamOptions = {}): Readable {
    return createSftpReadStream(this, path, options);
  }

  createWriteStream(path: string, options: WriteStreamOptions = {}): Writable {
    return createSftpWriteStream(this, path, options);
  }

  get(remotePath: string, localPath: string, options: TransferOptions = {}): Promise<void> {
    return getPath(this, remotePath, localPath, options);
  }

  put(localPath: string, remotePath: string, options: TransferOptions = {}): Promise<void> {
    return putPath(this, localPath, remotePath, options);
  }

  async end(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    this.session.close(new SftpError(FX.NO_CONNECTION, 'the SFTP session was ended', 'sftp'));
    if (!this.channel.destroyed) {
      const closed = new Promise<void>((r) => this.channel.once('close', () => r()));
      this.channel.close();
      await closed;
    }
  }

  private oneName(r: { names: { filename: string }[] }, op: string, path: string): string {
    const first = r.names[0];
    if (r.names.length !== 1 || first === undefined) throw new SftpError(FX.BAD_MESSAGE, `${r.names.length} names in the reply, not 1`, op, path);
    return first.filename;
  }
}

/** The session's failure as the error of one operation: a lost channel names the operation, a protocol error stays itself. */
function sessionError(err: Error, op: string, path: string | undefined): Error {
  if (err instanceof SftpError && err.operation === 'sftp') return new SftpError(err.code, err.serverMessage, op, path, { cause: err });
  if (err instanceof NacreError) return err;
  return new SftpError(FX.CONNECTION_LOST, err.message, op, path, { cause: err });
}
