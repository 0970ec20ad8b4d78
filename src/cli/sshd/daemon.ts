// The running nacred: its listening sockets (Port × ListenAddress ×
// AddressFamily, as sshd binds them), the Server that serves new
// connections, and the process's life: SIGHUP re-reads the configuration
// and host keys for new connections (a broken file keeps the old ones and
// the log says why; connections already up keep the settings they started
// with, as sshd's re-exec leaves its children alone), SIGTERM stops
// listening, closes every connection cleanly and exits 0, and the PidFile
// is written once listening and removed at exit.
import { createServer as netCreateServer, type Server as NetServer, type Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { unlinkSync, writeFileSync } from 'node:fs';
import { createServer, listenEndpoints, type Server, type SshdSettings } from '../../index.js';
import { buildServerOptions, loadHostKeys, matchSpec, settingsOf, type BuildDeps, type LoadedConfig } from './server-options.js';
import { logServerEvents, OncePerConnection } from './events-log.js';
import { parseLogLevel, peer, type SshdLog } from './log.js';

/** One address to listen on (sshd_config's listenEndpoints: each ListenAddress with its port or each Port, or each family's wildcard). */
export interface ListenSpec {
  readonly host: string;
  readonly port: number;
}

/** No address could be bound: sshd's `Cannot bind any address.`, exit 255. */
export class ListenError extends Error {}

export interface DaemonOptions {
  /** Reads and parses the configuration (the file, -o, -p ...); throws a SshdConfigError naming file:line. */
  readonly load: () => LoadedConfig;
  readonly log: SshdLog;
  readonly deps: Omit<BuildDeps, 'log'>;
  /** The LogLevel the command line forces (-d, -q), or null to follow the configuration. */
  readonly forcedLevel: SshdLog['level'] | null;
  /** sshd's -d: serve one connection, then stop (exit 0). */
  readonly oneConnection?: boolean;
}

interface Bound {
  readonly spec: ListenSpec;
  readonly net: NetServer;
}

function specKey(s: ListenSpec): string {
  return `${s.host} ${s.port}`;
}

export class Daemon {
  private config: LoadedConfig;
  private current: Server;
  /** Earlier Servers still holding connections (after a reload). */
  private readonly servers = new Set<Server>();
  private bound: Bound[] = [];
  private pidFile: string | null = null;
  private stopping = false;
  /** -d: the one connection was accepted. */
  private served = false;
  /** Told the exit status once stopped (by a signal, or -d's connection ending). */
  private stopped: ((code: number) => void) | undefined;
  private readonly once: OncePerConnection;

  constructor(private readonly options: DaemonOptions) {
    this.once = new OncePerConnection(options.log);
    this.config = options.load();
    this.applyLogLevel(this.config.global);
    this.current = this.makeServer(this.config);
  }

  /** The configuration new connections get. */
  get settings(): SshdSettings {
    return this.config.global;
  }

  private applyLogLevel(s: SshdSettings): void {
    this.options.log.level = this.options.forcedLevel ?? parseLogLevel(s.logLevel) ?? 'info';
  }

  private makeServer(config: LoadedConfig): Server {
    const hostKeys = loadHostKeys(config.global, this.options.log);
    for (const [i, k] of hostKeys.keys.entries()) this.options.log.debug(1, `private host key #${i}: ${k.keyType}`);
    const server = createServer(buildServerOptions(config, hostKeys, { ...this.options.deps, log: this.options.log }, this.once));
    logServerEvents(server, this.options.log, this.once, this.options.deps.logStyle);
    this.servers.add(server);
    return server;
  }

  /** Binds every address; resolves once listening (throws ListenError when none could be bound). */
  async listen(): Promise<void> {
    await this.bindAll(listenEndpoints(this.config.global));
    if (this.bound.length === 0) throw new ListenError('Cannot bind any address.');
    this.writePidFile(this.config.global.pidFile);
  }

  /** Binds and rebinds one after another (a SIGHUP during the first binds waits for them). */
  private binding: Promise<void> = Promise.resolve();

  private bindAll(specs: readonly ListenSpec[]): Promise<void> {
    const run = this.binding.then(() => this.bindEach(specs));
    this.binding = run.catch(() => undefined);
    return run;
  }

  private async bindEach(specs: readonly ListenSpec[]): Promise<void> {
    for (const spec of specs) {
      if (this.stopping) return;
      if (this.bound.some((b) => specKey(b.spec) === specKey(spec))) continue;
      try {
        const net = await this.bind(spec);
        if (this.stopping) {
          net.close();
          return;
        }
        this.bound.push({ spec, net });
        const a = net.address();
        this.options.log.info(`Server listening on ${spec.host} port ${a && typeof a === 'object' ? a.port : spec.port}.`);
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        const why = e.code === 'EADDRINUSE' ? 'Address already in use' : e.code === 'EACCES' ? 'Permission denied' : e.code === 'EADDRNOTAVAIL' ? 'Cannot assign requested address' : e.message;
        // The IPv6 wildcard on a host without IPv6 is not worth more than a debug line.
        if (spec.host === '::' && (e.code === 'EAFNOSUPPORT' || e.code === 'EADDRNOTAVAIL')) this.options.log.debug(1, `Bind to port ${spec.port} on ::: ${why}`);
        else this.options.log.error(`Bind to port ${spec.port} on ${spec.host} failed: ${why}.`);
      }
    }
  }

  private bind(spec: ListenSpec): Promise<NetServer> {
    const net = netCreateServer({ allowHalfOpen: false }, (socket) => this.accept(socket));
    return new Promise((resolve, reject) => {
      net.once('error', reject);
      // A separate IPv6 socket, as sshd binds one per family.
      net.listen({ host: spec.host, port: spec.port, ipv6Only: spec.host.includes(':') }, () => {
        net.off('error', reject);
        net.on('error', (err) => this.options.log.error(`listener ${spec.host} port ${spec.port}: ${err.message}`));
        resolve(net);
      });
    });
  }

  /** A new connection: RefuseConnection for its addresses, then the current Server. */
  private accept(socket: Socket): void {
    socket.on('error', () => undefined);
    if (this.stopping) return void socket.destroy();
    const info = { remoteAddress: socket.remoteAddress, remotePort: socket.remotePort, localAddress: socket.localAddress, localPort: socket.localPort };
    let refuse = false;
    try {
      refuse = settingsOf(this.config, () => matchSpec(undefined, info)).refuseConnection;
    } catch {
      refuse = false;
    }
    if (refuse) {
      this.options.log.info(`Connection from ${peer(info.remoteAddress, info.remotePort)} refused by RefuseConnection`);
      this.current.penalise(info.remoteAddress, 'refuseconnection');
      return void socket.destroy();
    }
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 60_000);
    if (this.options.oneConnection) {
      // sshd -d: this connection only; stop listening now and exit once it ends.
      if (this.served) return void socket.destroy();
      this.served = true;
      for (const b of this.bound) b.net.close();
    }
    const conn = this.current.handleConnection(socket, info);
    if (this.options.oneConnection) {
      const finish = () => void this.stop(0).then(() => this.stopped?.(0));
      if (conn) void conn.closed.then(finish);
      else finish();
    }
  }

  /** -i: one connection on standard input and output. */
  serveInetd(input: NodeJS.ReadableStream, output: NodeJS.WritableStream): Promise<void> {
    const stream = Duplex.from({ readable: input, writable: output });
    const conn = this.current.handleConnection(stream, {});
    return conn ? conn.closed.then(() => undefined) : Promise.resolve();
  }

  /** SIGHUP: the configuration and host keys again, for new connections; the old ones stay on error. */
  reload(): void {
    if (this.stopping) return;
    this.options.log.info('Received SIGHUP; restarting.');
    let config: LoadedConfig;
    let server: Server;
    try {
      config = this.options.load();
      server = this.makeServer(config);
    } catch (err) {
      this.options.log.error(`Reloading the configuration failed, keeping the previous one: ${(err as Error).message}`);
      return;
    }
    const old = this.current;
    this.config = config;
    this.current = server;
    this.applyLogLevel(config.global);
    this.retire(old);
    void this.rebind(listenEndpoints(config.global)).then(() => this.writePidFile(config.global.pidFile));
  }

  /** A Server that gets no new connections is forgotten once its last one ends. */
  private retire(server: Server): void {
    const done = () => {
      if (server.connections.size === 0 && server !== this.current) {
        server.off('disconnect', done);
        this.servers.delete(server);
      }
    };
    server.on('disconnect', done);
    done();
  }

  private async rebind(specs: readonly ListenSpec[]): Promise<void> {
    await this.binding;
    const wanted = new Set(specs.map(specKey));
    for (const b of this.bound.filter((b) => !wanted.has(specKey(b.spec)))) {
      b.net.close();
      this.options.log.info(`Server stopped listening on ${b.spec.host} port ${b.spec.port}.`);
    }
    this.bound = this.bound.filter((b) => wanted.has(specKey(b.spec)));
    await this.bindAll(specs);
  }

  private writePidFile(path: string | null): void {
    if (path === this.pidFile) return;
    this.removePidFile();
    if (path === null) return;
    try {
      writeFileSync(path, `${process.pid}\n`, { mode: 0o644 });
      this.pidFile = path;
    } catch (err) {
      this.options.log.error(`Couldn't create pid file "${path}": ${(err as Error).message}`);
    }
  }

  private removePidFile(): void {
    if (this.pidFile === null) return;
    try {
      unlinkSync(this.pidFile);
    } catch {
      // gone already
    }
    this.pidFile = null;
  }

  /** SIGTERM: stop listening, close every connection with a DISCONNECT, remove the PidFile. */
  /** Stops everything; `signal` 0 when not for a signal (-d's connection ended). */
  async stop(signal = 15): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    if (signal !== 0) this.options.log.info(`Received signal ${signal}; terminating.`);
    // Not awaited: a listener's close callback waits for the connections it accepted, which are closed below.
    for (const b of this.bound) b.net.close();
    this.bound = [];
    await Promise.all([...this.servers].map((s) => s.close()));
    this.removePidFile();
  }

  /** The Server new connections go to. */
  get server(): Server {
    return this.current;
  }

  /** The bound addresses (for tests and the npm start banner). */
  addresses(): ListenSpec[] {
    return this.bound.map((b) => {
      const a = b.net.address();
      return a && typeof a === 'object' ? { host: a.address, port: a.port } : b.spec;
    });
  }

  /** Installs the signal handlers: SIGHUP reloads, SIGTERM (or SIGINT) stops and then calls `done` with the exit status. */
  handleSignals(done: (code: number) => void): void {
    this.stopped = done;
    process.on('SIGHUP', () => this.reload());
    const stop = (n: number) => () => {
      void this.stop(n).then(
        () => done(0),
        () => done(255),
      );
    };
    process.on('SIGTERM', stop(15));
    process.on('SIGINT', stop(2));
  }
}
