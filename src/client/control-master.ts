// Connection sharing, the master's side: a Client serves later commands over
// a control socket (ssh's ControlMaster). Each control connection runs a
// MuxMasterConnection (src/mux/master.ts); its sessions become channels on
// the Client, and -O forward/cancel become the Client's forwardings.
import { EventEmitter } from 'node:events';
import type { Server, Socket } from 'node:net';
import { NacreError, DisconnectReason } from '../errors.js';
import { MuxMasterConnection, type MuxSessionBackend, type MuxSessionSink } from '../mux/master.js';
import { MUX_PORT_STREAMLOCAL, type MuxForward, type MuxSessionRequest } from '../mux/codec.js';
import { listenControlSocket, removeControlSocket, socketInode } from '../io/node/control-socket.js';
import type { Client } from './client.js';
import type { LocalForward, RemoteForward } from './forward.js';
import type { Readable } from 'node:stream';
import type { SharedProcess } from './control-client.js';

export type { MuxForward } from '../mux/codec.js';

/** How the master carries out `ssh -O forward` and `-O cancel`. */
export interface ControlForwarding {
  /** Resolves with the allocated port for a remote forwarding of port 0; rejects with the reason the client prints. */
  open(forward: MuxForward): Promise<{ readonly allocatedPort?: number }>;
  close(forward: MuxForward): Promise<void>;
}

export interface ListenControlOptions {
  /** The ControlPath. Its directory must not be writable by others (unless sticky, as /tmp). */
  readonly path: string;
  /**
   * -O forward/cancel. Default: clientForwarding(client), every kind
   * (-L, -R, -D, TCP or Unix sockets) through the Client.
   */
  readonly forwarding?: ControlForwarding;
  /** The pid `-O check` reports; default process.pid. */
  readonly pid?: number;
  /**
   * ControlMaster ask/autoask: asked before each shared session, forwarding,
   * `-O exit` and `-O stop` (with ssh's question, e.g. "Allow shared
   * connection?"); false refuses it (MUX_S_PERMISSION_DENIED).
   */
  readonly confirm?: (question: string) => Promise<boolean>;
}

export interface ControlMasterEvents {
  /** A client asked the master to exit (`-O exit`); the master has closed the Client. */
  terminate: [];
  /** The last shared session ended (ControlPersist counts from here). */
  idle: [];
  /** A shared session started. */
  session: [];
}

/** A Client shared over a control socket; from listenControl(). */
export class ControlMaster extends EventEmitter<ControlMasterEvents> {
  private readonly connections = new Set<{ socket: Socket; mux: MuxMasterConnection }>();
  private listening = true;
  private activeSessions = 0;

  /** @internal */
  constructor(
    private readonly client: Client,
    private readonly server: Server,
    private readonly inode: number,
    readonly path: string,
    private readonly forwarding: ControlForwarding,
    private readonly pid: number,
    private readonly confirm?: (question: string) => Promise<boolean>,
  ) {
    super();
    server.on('connection', (socket) => this.accept(socket));
    // The Client going away ends the sharing.
    void client.closed.then(() => this.close());
  }

  /** Sessions running for control clients now. */
  get sessions(): number {
    return this.activeSessions;
  }

  /** Whether the socket still takes new clients. */
  get isListening(): boolean {
    return this.listening;
  }

  /** Stops taking new clients and removes the socket (`-O stop`); running sessions go on. */
  stopListening(): void {
    if (!this.listening) return;
    this.listening = false;
    this.server.close();
    removeControlSocket(this.path, this.inode);
  }

  /** Stops listening and ends every control connection and its sessions. The Client stays open. */
  async close(): Promise<void> {
    this.stopListening();
    for (const c of this.connections) {
      c.mux.disconnected();
      c.socket.destroy();
    }
    this.connections.clear();
  }

  private accept(socket: Socket): void {
    const mux = new MuxMasterConnection({
      pid: this.pid,
      // No wait for the socket's drain: what can queue here is bounded by
      // the client's windows (session data) or is a small reply.
      send: (b) => void socket.write(b),
      close: () => socket.destroy(),
      terminate: () => {
        void this.close().then(() => this.client.close()).then(() => this.emit('terminate'));
      },
      stopListening: () => this.stopListening(),
      openForward: (f) => this.forwarding.open(f),
      closeForward: (f) => this.forwarding.close(f),
      openSession: (req, sink) => this.openSession(req, sink),
      ...(this.confirm ? { permit: this.confirm } : {}),
    });
    const entry = { socket, mux };
    this.connections.add(entry);
    socket.on('data', (b: Buffer) => mux.receive(b));
    socket.on('error', () => {});
    socket.on('close', () => {
      this.connections.delete(entry);
      mux.disconnected();
    });
  }

  private async openSession(req: MuxSessionRequest, sink: MuxSessionSink): Promise<MuxSessionBackend> {
    const proc = await startSession(this.client, req);
    this.activeSessions++;
    this.emit('session');
    let ended = false;
    const pump = (stream: Readable, name: 'stdout' | 'stderr'): void => {
      stream.on('data', (b: Buffer) => {
        if (!sink.output(name, b)) {
          stream.pause();
          sink.onDrain(name, () => stream.resume());
        }
      });
      stream.on('end', () => sink.end(name));
    };
    pump(proc.stdout, 'stdout');
    pump(proc.stderr, 'stderr');
    const finish = (): void => {
      if (ended) return;
      ended = true;
      if (--this.activeSessions === 0) this.emit('idle');
    };
    void proc.exit.then((info) => {
      sink.exit(info);
      finish();
    });
    return {
      stdin: (data, done) => {
        if (proc.stdin.writableEnded || proc.stdin.destroyed) return done();
        proc.stdin.write(data, () => done());
      },
      stdinEnd: () => proc.stdin.end(),
      signal: (name) => void proc.signal(name).catch(() => {}),
      resize: (c, r, w, h) => void proc.resize(c, r, w, h).catch(() => {}),
      close: () => {
        proc.close();
        finish();
      },
    };
  }
}

/** What a shared session runs on: a RemoteProcess without its channel, as the client side sees it. */
type SessionProcess = SharedProcess;

async function startSession(client: Client, req: MuxSessionRequest): Promise<SessionProcess> {
  const env = Object.fromEntries(req.env);
  const pty = req.pty ? { term: req.pty.term, cols: req.pty.cols, rows: req.pty.rows, width: req.pty.width, height: req.pty.height, modes: req.pty.modes } : false;
  // An exec's command comes as the client sent it, text or bytes that are not UTF-8; the exec request carries either.
  if (req.kind === 'exec') return client.spawn(req.command, { pty, env });
  if (req.kind === 'shell') return client.shell({ pty, env });
  const ch = await client.subsystem(req.command);
  return {
    stdin: ch,
    stdout: ch,
    stderr: ch.stderr,
    exit: ch.exit,
    signal: async () => {},
    resize: async () => {},
    close: () => ch.close(),
  };
}

/**
 * -O forward/cancel through the Client, every kind ssh's master takes:
 * local (-L, TCP or Unix socket on either side), dynamic (-D, SOCKS served
 * here), remote (-R: TCP or a socket path on the server, to a TCP address,
 * a local socket, or SOCKS when no target is given).
 */
export function clientForwarding(client: Client): ControlForwarding {
  const key = (f: MuxForward) => `${f.kind}|${f.listenHost}|${f.listenPort}|${f.connectHost}|${f.connectPort}`;
  const active = new Map<string, LocalForward | RemoteForward>();
  const isPath = (port: number) => port === MUX_PORT_STREAMLOCAL;
  return {
    async open(f) {
      const k = key(f);
      // ssh answers a forwarding it already has with success.
      const existing = active.get(k);
      if (existing) return f.kind === 'remote' && !isPath(f.listenPort) ? { allocatedPort: existing.port } : {};
      const listen = isPath(f.listenPort) ? { localPath: f.listenHost } : { localHost: f.listenHost || '127.0.0.1', localPort: f.listenPort };
      if (f.kind === 'local') {
        const target = isPath(f.connectPort) ? { remotePath: f.connectHost } : { remoteHost: f.connectHost, remotePort: f.connectPort };
        active.set(k, await client.forwardLocal({ ...listen, ...target }));
        return {};
      }
      if (f.kind === 'dynamic') {
        active.set(k, await client.forwardDynamic(listen));
        return {};
      }
      const connectTo = f.connectHost === '' && f.connectPort === 0 ? ('socks' as const) : isPath(f.connectPort) ? { path: f.connectHost } : { host: f.connectHost, port: f.connectPort };
      const bind = isPath(f.listenPort) ? { remotePath: f.listenHost } : { bindAddress: f.listenHost || 'localhost', bindPort: f.listenPort };
      const fwd = await client.forwardRemote({ ...bind, connectTo });
      active.set(k, fwd);
      return isPath(f.listenPort) ? {} : { allocatedPort: fwd.port };
    },
    async close(f) {
      const k = key(f);
      let fwd = active.get(k);
      // A remote forwarding of port 0 is cancelled by the port it got.
      if (!fwd && f.kind === 'remote') {
        for (const [kk, v] of active) if (kk.startsWith('remote|') && v.port === f.listenPort && kk.endsWith(`|${f.connectHost}|${f.connectPort}`)) fwd = v;
      }
      if (!fwd) throw new NacreError('port not forwarded', DisconnectReason.BY_APPLICATION);
      for (const [kk, v] of active) if (v === fwd) active.delete(kk);
      await fwd.close();
    },
  };
}

/**
 * Shares `client` over a control socket at `options.path` (ssh -M): later
 * commands reach the server through this connection with connectControl(),
 * and OpenSSH's `ssh -S path -O check|exit|stop|forward|cancel` work too.
 * Rejects with ControlSocketError ('in-use' when another master holds the
 * path, 'unsafe' for a directory others can write to).
 */
export async function listenControl(client: Client, options: ListenControlOptions): Promise<ControlMaster> {
  let master: ControlMaster | null = null;
  const early: Socket[] = [];
  const server = await listenControlSocket(options.path, (s) => {
    if (!master) early.push(s);
  });
  master = new ControlMaster(client, server, socketInode(options.path), options.path, options.forwarding ?? clientForwarding(client), options.pid ?? process.pid, options.confirm);
  for (const s of early) server.emit('connection', s);
  return master;
}
