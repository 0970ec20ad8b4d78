// A hostile SFTP server for the client's failure tests: a Nacre library
// server whose `sftp` subsystem is this file's own small SFTP v3 server over
// an in-memory tree, written against the codec directly (not Nacre's server
// session), so it can misbehave in ways a correct server never does and a
// real one sometimes does: READ answered with fewer bytes than asked (and
// not at the end of the file), replies held back and sent in a shuffled
// order, replies delayed, and the TCP connection cut once a given number of
// file bytes went by. Behaviour is per connection (`behave`), so a test can
// cut the first connection and let a second one finish.
import { createServer as netCreateServer, type Server as NetServer, type Socket } from 'node:net';
import { connect, type Client } from '../../src/client/client.js';
import type { ConnectOptions } from '../../src/client/options.js';
import { createServer, type Server } from '../../src/server/server.js';
import type { ServerChannel } from '../../src/server/session-channel.js';
import { EXT, FX, FXF, FXP, SFTP_VERSION, STATUS_TEXT } from '../../src/sftp/constants.js';
import type { FileAttributes } from '../../src/sftp/attrs.js';
import { S_IFLNK, S_IFREG } from '../../src/sftp/attrs.js';
import { ExtRequest, LimitsReply } from '../../src/sftp/extensions.js';
import { SftpFramer, frame } from '../../src/sftp/framing.js';
import { FxpInit, FxpVersion, dataReplyHeader, decodeRequest, encodeResponse, peekRequestId, UnknownSftpPacket, type SftpRequest, type SftpResponse } from '../../src/sftp/messages.js';
import { testHostKey } from './server-helpers.js';
import { MemoryTree, attrsOf, type Node } from './sftp-harness-tree.js';

export { MemoryTree, patterned, sha256 } from './sftp-harness-tree.js';

/** What a hostile server does wrong on one connection. */
export interface HostileBehaviour {
  /**
   * How many bytes to answer a READ of `length` at `offset` with (clamped to
   * 1..what is there); default all of it. Short answers before the end of
   * the file are legal SFTP that many clients mishandle.
   */
  shortRead?: (offset: number, length: number, fileSize: number) => number;
  /** Hold up to this many replies and send them in a shuffled order (a timer flushes fewer). */
  reorder?: number;
  /** Wait this long before sending each reply (or each shuffled batch). */
  delayMs?: number;
  /**
   * Cut the TCP connection (no DISCONNECT, no CLOSE) once this many file
   * bytes went by in DATA replies and WRITE requests together. WRITEs up to
   * the cut are applied, as a real server's would be.
   */
  dropAfterBytes?: number;
  /**
   * Answer READs at or past this offset with EOF, while STAT and FSTAT
   * still give the whole size (a file that shrank as it was read).
   */
  eofAt?: number;
  /** Answer READs with up to this many bytes more than asked for (a server that breaks the protocol). */
  overlongRead?: number;
  /**
   * Names READDIR lists in directory `dir` besides its real entries, as
   * regular files (`..`, `../x`, `a/b`, `/abs`: names a server must never
   * be able to steer a download with).
   */
  injectNames?: (dir: string) => string[];
  /** After this many replies, send a STATUS for a request id never used (a confused server). */
  strayReplyAfter?: number;
  /** limits@openssh.com's read/write length; default 64 KiB. */
  maxReadLength?: number;
  /** Announce limits@openssh.com at all; default true. */
  announceLimits?: boolean;
}

export interface HostileStats {
  reads: number;
  shortReads: number;
  /** Replies sent in an order other than their requests'. */
  reordered: number;
  writes: number;
  drops: number;
  /** Requests seen, by type. */
  requests: Map<string, number>;
}


class Status extends Error {
  constructor(readonly code: number, message?: string) {
    super(message ?? STATUS_TEXT[code] ?? 'Failure');
  }
}

/** A small seeded generator, so a shuffled order is the same on every run. */
function seeded(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
}

/** One SFTP session of the hostile server on a channel. */
class HostileSession {
  private readonly framer = new SftpFramer(1024 * 1024 + 1024);
  private initialised = false;
  private readonly handles = new Map<string, { path: string; dir?: string[]; append?: boolean }>();
  private nextHandle = 1;
  private held: Uint8Array[][] = [];
  private heldIds: number[] = [];
  private flushTimer: NodeJS.Timeout | null = null;
  private lastSentId = -1;
  private sent = 0;
  private readonly random = seeded(0x5f7a);
  private dead = false;

  constructor(
    private readonly ch: ServerChannel,
    private readonly tree: MemoryTree,
    private readonly behaviour: HostileBehaviour,
    private readonly stats: HostileStats,
    /** Counts file bytes for dropAfterBytes; true once the connection is cut. */
    private readonly countBytes: (n: number) => boolean,
    private readonly isCut: () => boolean,
  ) {
    ch.on('data', (chunk: Buffer) => this.onData(chunk));
    ch.on('end', () => ch.end());
    ch.on('close', () => (this.dead = true));
  }

  private onData(chunk: Buffer): void {
    if (this.dead || this.isCut()) return;
    this.framer.push(chunk);
    for (;;) {
      let payload: Uint8Array | undefined;
      try {
        payload = this.framer.next();
      } catch {
        this.ch.close();
        return;
      }
      if (payload === undefined || this.dead) return;
      this.handle(payload);
    }
  }

  private handle(payload: Uint8Array): void {
    if (!this.initialised) {
      FxpInit.decode(payload);
      this.initialised = true;
      const extensions: [string, Uint8Array][] = [[EXT.POSIX_RENAME, new TextEncoder().encode('1')]];
      if (this.behaviour.announceLimits !== false) extensions.push([EXT.LIMITS, new TextEncoder().encode('1')]);
      this.ch.write(frame(FxpVersion.encode({ version: SFTP_VERSION, extensions })));
      return;
    }
    let req: SftpRequest;
    try {
      req = decodeRequest(payload);
    } catch (e) {
      const id = e instanceof UnknownSftpPacket ? e.id : peekRequestId(payload);
      if (id !== undefined) this.reply(id, [frame(encodeResponse({ type: 'status', id, code: e instanceof UnknownSftpPacket ? FX.OP_UNSUPPORTED : FX.BAD_MESSAGE, text: { message: 'bad', lang: '' } }))]);
      return;
    }
    this.stats.requests.set(req.type, (this.stats.requests.get(req.type) ?? 0) + 1);
    let out: Uint8Array[];
    try {
      const r = this.answer(req);
      if (r === 'dropped') return;
      out = Array.isArray(r) ? r : [frame(encodeResponse(r))];
    } catch (e) {
      const s = e instanceof Status ? e : new Status(FX.FAILURE, String(e));
      out = [frame(encodeResponse({ type: 'status', id: req.id, code: s.code, text: { message: s.message, lang: 'en' } }))];
    }
    this.reply(req.id, out);
  }

  private ok(id: number): SftpResponse {
    return { type: 'status', id, code: FX.OK, text: { message: 'Success', lang: 'en' } };
  }

  private fileOf(handle: Uint8Array): { path: string; node: Node & { kind: 'file' }; append?: boolean } {
    const h = this.handles.get(Buffer.from(handle).toString('latin1'));
    if (h === undefined || h.dir !== undefined) throw new Status(FX.FAILURE, 'bad handle');
    const n = this.tree.nodes.get(h.path);
    if (n?.kind !== 'file') throw new Status(FX.NO_SUCH_FILE);
    return { path: h.path, node: n, append: h.append };
  }

  private newHandle(h: { path: string; dir?: string[]; append?: boolean }): Uint8Array {
    const key = `h${this.nextHandle++}`;
    this.handles.set(key, h);
    return Buffer.from(key, 'latin1');
  }

  private setAttrs(n: Node, a: FileAttributes): void {
    if (a.mode !== undefined) n.mode = (n.mode & ~0o7777) | (a.mode & 0o7777);
    if (a.atime !== undefined) n.atime = a.atime;
    if (a.mtime !== undefined) n.mtime = a.mtime;
    if (a.size !== undefined && n.kind === 'file') {
      const d = Buffer.alloc(a.size);
      n.data.copy(d, 0, 0, Math.min(a.size, n.data.length));
      n.data = d;
    }
  }

  private existing(path: string, follow = true): [string, Node] {
    const [p, n] = this.tree.resolve(path, follow);
    if (n === undefined) throw new Status(FX.NO_SUCH_FILE);
    return [p, n];
  }

  private answer(req: SftpRequest): SftpResponse | Uint8Array[] | 'dropped' {
    const t = this.tree;
    switch (req.type) {
      case 'open': {
        const [p, n] = t.resolve(req.path);
        if (n?.kind === 'dir') throw new Status(FX.FAILURE, 'is a directory');
        if (n === undefined) {
          if (!(req.pflags & FXF.CREAT)) throw new Status(FX.NO_SUCH_FILE);
          const parent = t.nodes.get(MemoryTree.parent(p));
          if (parent?.kind !== 'dir') throw new Status(FX.NO_SUCH_FILE);
          t.writeFile(p, new Uint8Array(0), (req.attrs.mode ?? 0o644) & 0o7777);
        } else {
          if (req.pflags & FXF.CREAT && req.pflags & FXF.EXCL) throw new Status(FX.FAILURE, 'file exists');
          if (req.pflags & FXF.TRUNC && n.kind === 'file') n.data = Buffer.alloc(0);
        }
        return { type: 'handle', id: req.id, handle: this.newHandle({ path: p, append: (req.pflags & FXF.APPEND) !== 0 }) };
      }
      case 'close':
        if (!this.handles.delete(Buffer.from(req.handle).toString('latin1'))) throw new Status(FX.FAILURE, 'bad handle');
        return this.ok(req.id);
      case 'read': {
        const { node } = this.fileOf(req.handle);
        this.stats.reads++;
        const size = Math.min(node.data.length, this.behaviour.eofAt ?? Infinity);
        if (req.offset >= size) throw new Status(FX.EOF);
        let n = Math.min(req.length + (this.behaviour.overlongRead ?? 0), size - req.offset);
        if (this.behaviour.shortRead) {
          const want = Math.max(1, Math.min(n, Math.floor(this.behaviour.shortRead(req.offset, req.length, size))));
          if (want < n) this.stats.shortReads++;
          n = want;
        }
        if (this.countBytes(n)) return 'dropped';
        const body = node.data.subarray(req.offset, req.offset + n);
        return [dataReplyHeader(req.id, n), body];
      }
      case 'write': {
        const { node, append } = this.fileOf(req.handle);
        this.stats.writes++;
        const at = append ? node.data.length : req.offset;
        const end = at + req.data.length;
        if (end > node.data.length) {
          const grown = Buffer.alloc(end);
          node.data.copy(grown);
          node.data = grown;
        }
        node.data.set(req.data, at);
        if (this.countBytes(req.data.length)) return 'dropped';
        return this.ok(req.id);
      }
      case 'fstat':
        return { type: 'attrs', id: req.id, attrs: attrsOf(this.fileOf(req.handle).node) };
      case 'stat':
      case 'lstat':
        return { type: 'attrs', id: req.id, attrs: attrsOf(this.existing(req.path, req.type === 'stat')[1]) };
      case 'setstat':
        this.setAttrs(this.existing(req.path)[1], req.attrs);
        return this.ok(req.id);
      case 'fsetstat':
        this.setAttrs(this.fileOf(req.handle).node, req.attrs);
        return this.ok(req.id);
      case 'opendir': {
        const [p, n] = this.existing(req.path);
        if (n.kind !== 'dir') throw new Status(FX.FAILURE, 'not a directory');
        return { type: 'handle', id: req.id, handle: this.newHandle({ path: p, dir: ['.', '..', ...t.children(p), ...(this.behaviour.injectNames?.(p) ?? [])] }) };
      }
      case 'readdir': {
        const h = this.handles.get(Buffer.from(req.handle).toString('latin1'));
        if (h?.dir === undefined) throw new Status(FX.FAILURE, 'bad handle');
        // a few names at a time, as a real server's batches are
        const batch = h.dir.splice(0, 3);
        if (batch.length === 0) throw new Status(FX.EOF);
        const names = batch.map((name) => {
          const real = name === '.' || name === '..' ? t.resolve(name === '.' ? h.path : MemoryTree.parent(h.path))[1] : t.nodes.get(MemoryTree.normalize(name, h.path));
          const node: Node = real ?? { kind: 'file', data: Buffer.from('injected'), mode: S_IFREG | 0o644, atime: 0, mtime: 0 };
          return { filename: name, longname: name, attrs: attrsOf(node) };
        });
        return { type: 'name', id: req.id, names };
      }
      case 'remove': {
        const [p, n] = this.existing(req.path, false);
        if (n.kind === 'dir') throw new Status(FX.FAILURE, 'is a directory');
        t.nodes.delete(p);
        return this.ok(req.id);
      }
      case 'mkdir': {
        const p = MemoryTree.normalize(req.path);
        if (t.nodes.has(p)) throw new Status(FX.FAILURE, 'file exists');
        if (t.nodes.get(MemoryTree.parent(p))?.kind !== 'dir') throw new Status(FX.NO_SUCH_FILE);
        t.mkdir(p, (req.attrs.mode ?? 0o755) & 0o7777);
        return this.ok(req.id);
      }
      case 'rmdir': {
        const [p, n] = this.existing(req.path, false);
        if (n.kind !== 'dir') throw new Status(FX.FAILURE, 'not a directory');
        if (t.children(p).length > 0) throw new Status(FX.FAILURE, 'directory not empty');
        t.nodes.delete(p);
        return this.ok(req.id);
      }
      case 'realpath': {
        const [p] = t.resolve(req.path);
        return { type: 'name', id: req.id, names: [{ filename: p, longname: p, attrs: {} }] };
      }
      case 'rename':
        this.rename(req.oldPath, req.newPath, false);
        return this.ok(req.id);
      case 'readlink': {
        const [, n] = this.existing(req.path, false);
        if (n.kind !== 'link') throw new Status(FX.FAILURE, 'not a link');
        return { type: 'name', id: req.id, names: [{ filename: n.target, longname: n.target, attrs: {} }] };
      }
      case 'symlink': {
        const p = MemoryTree.normalize(req.linkPath);
        if (t.nodes.has(p)) throw new Status(FX.FAILURE, 'file exists');
        t.nodes.set(p, { kind: 'link', target: req.targetPath, mode: S_IFLNK | 0o777, atime: 0, mtime: 0 });
        return this.ok(req.id);
      }
      case 'extended':
        if (req.request === EXT.POSIX_RENAME) {
          const a = ExtRequest[EXT.POSIX_RENAME].decode(req.data);
          this.rename(a.oldPath, a.newPath, true);
          return this.ok(req.id);
        }
        if (req.request === EXT.LIMITS && this.behaviour.announceLimits !== false) {
          const max = this.behaviour.maxReadLength ?? 64 * 1024;
          return { type: 'extended-reply', id: req.id, data: LimitsReply.encode({ maxPacketLength: max + 1024, maxReadLength: max, maxWriteLength: max, maxOpenHandles: 64 }) };
        }
        throw new Status(FX.OP_UNSUPPORTED);
    }
  }

  private rename(from: string, to: string, replace: boolean): void {
    const [src, n] = this.existing(from, false);
    const dst = MemoryTree.normalize(to);
    if (!replace && this.tree.nodes.has(dst)) throw new Status(FX.FAILURE, 'file exists');
    const moved: [string, Node][] = [];
    for (const [p, node] of this.tree.nodes) if (p === src || p.startsWith(src + '/')) moved.push([p, node]);
    for (const [p] of moved) this.tree.nodes.delete(p);
    this.tree.nodes.set(dst, n);
    for (const [p, node] of moved) if (p !== src) this.tree.nodes.set(dst + p.slice(src.length), node);
  }

  /** Sends (or holds, for reordering) one reply made of `parts`. */
  private reply(id: number, parts: Uint8Array[]): void {
    const { reorder, delayMs } = this.behaviour;
    if (!reorder && !delayMs) return this.send([parts], [id]);
    this.held.push(parts);
    this.heldIds.push(id);
    if (reorder && this.held.length >= reorder) return this.flush();
    // A timer sends what is held when the client waits for it: a client
    // with fewer requests in flight than `reorder` still gets its answers.
    this.flushTimer ??= setTimeout(() => this.flush(), delayMs ?? 2);
  }

  private flush(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    const parts = this.held;
    const ids = this.heldIds;
    this.held = [];
    this.heldIds = [];
    if (this.behaviour.reorder) {
      const order = parts.map((_, i) => i);
      for (let i = order.length - 1; i > 0; i--) {
        const j = Math.floor(this.random() * (i + 1));
        [order[i], order[j]] = [order[j]!, order[i]!];
      }
      const send = () => this.send(order.map((i) => parts[i]!), order.map((i) => ids[i]!));
      if (this.behaviour.delayMs) setTimeout(send, this.behaviour.delayMs);
      else send();
    } else this.send(parts, ids);
  }

  private send(replies: Uint8Array[][], ids: number[]): void {
    if (this.dead || this.isCut()) return;
    for (let i = 0; i < replies.length; i++) {
      const id = ids[i]!;
      if (id < this.lastSentId) this.stats.reordered++;
      this.lastSentId = id;
      for (const p of replies[i]!) this.ch.write(p);
      if (++this.sent === this.behaviour.strayReplyAfter) {
        this.ch.write(frame(encodeResponse({ type: 'status', id: 0x7ead_beef, code: FX.OK, text: { message: 'stray', lang: '' } })));
      }
    }
  }
}

export interface HostileServer {
  readonly port: number;
  readonly tree: MemoryTree;
  readonly stats: HostileStats;
  /** The behaviour of connection number `n` (0 first) is `behave(n)`. */
  behave: (n: number) => HostileBehaviour;
  connect(options?: Partial<ConnectOptions>): Promise<Client>;
  close(): Promise<void>;
}

/**
 * Starts the hostile server on a loopback port. Anyone logs in (password
 * "x"); each connection's `sftp` subsystem is a HostileSession over the
 * shared tree, with that connection's behaviour. Each accepted socket gets
 * a Nacre server of its own, so a session knows its connection's behaviour
 * and socket (to cut it) without any bookkeeping across connections.
 */
export async function startHostileSftpServer(behave: (n: number) => HostileBehaviour = () => ({})): Promise<HostileServer> {
  const key = testHostKey();
  const tree = new MemoryTree();
  const stats: HostileStats = { reads: 0, shortReads: 0, reordered: 0, writes: 0, drops: 0, requests: new Map() };
  const sockets = new Set<Socket>();
  const servers = new Set<Server>();
  const clients: Client[] = [];
  let connections = 0;
  const result: HostileServer = {
    port: 0,
    tree,
    stats,
    behave,
    async connect(o = {}) {
      const c = await connect({ host: '127.0.0.1', port: result.port, username: 'tester', password: 'x', keepalive: false, verifyHostKey: () => true, readyTimeout: 10_000, ...o });
      clients.push(c);
      return c;
    },
    async close() {
      await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
      for (const s of sockets) s.destroy();
      await Promise.all([...servers].map((s) => s.close().catch(() => undefined)));
      await new Promise<void>((r) => net.close(() => r()));
    },
  };
  const net: NetServer = netCreateServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    const behaviour = result.behave(connections++);
    let seen = 0;
    let cut = false;
    // Past the limit nothing more is sent or applied; the socket is
    // destroyed a moment later, once what was sent before is on the wire.
    const countBytes = (n: number): boolean => {
      if (cut) return true;
      seen += n;
      if (behaviour.dropAfterBytes === undefined || seen < behaviour.dropAfterBytes) return false;
      cut = true;
      stats.drops++;
      setTimeout(() => socket.destroy(), 20);
      return true;
    };
    const isCut = () => cut;
    const server = createServer({
      hostKeys: [key],
      auth: { failureDelayMs: 0 },
      authenticate: () => true,
      session: (s) => {
        s.onSubsystem = (name, ch) => {
          if (name !== 'sftp') return false;
          new HostileSession(ch, tree, behaviour, stats, countBytes, isCut);
          return true;
        };
      },
    });
    server.on('error', () => undefined);
    servers.add(server);
    socket.on('close', () => {
      servers.delete(server);
      void server.close().catch(() => undefined);
    });
    if (server.handleConnection(socket, { remoteAddress: socket.remoteAddress, remotePort: socket.remotePort }) === null) socket.destroy();
  });
  await new Promise<void>((r) => net.listen(0, '127.0.0.1', r));
  (result as { port: number }).port = (net.address() as { port: number }).port;
  return result;
}
