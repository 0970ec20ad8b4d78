// `nacre`'s forwardings: starts every -L/-R/-D (and LocalForward,
// RemoteForward, DynamicForward) on a connected Client as ssh does — bind
// addresses per GatewayPorts, "Allocated port N" for -R 0, ssh's warnings,
// or its fatal errors under ExitOnForwardFailure — and keeps them so the
// escape command line (`~C`) can add and cancel forwardings later.
import { configForwards, ListenError, parseForwardSpec, type SshConfig, type Client, type ForwardEndpoint, type ForwardFlag, type ForwardSpec, type LocalForward, type RemoteForward, type SocksRequest } from '../../client-entry.js';
import { CliExit } from '../common/exit.js';
import { visible } from '../common/peer-text.js';
import { ESCAPE_COMMAND_HELP } from './escape-command.js';

/** Where the messages go: a Logger (src/cli/common/log.ts) fits. */
export interface ForwardingLog {
  /** ssh's error(): shown unless -q. */
  error(message: string): void;
  /** ssh's logit(). */
  info(message: string): void;
  debug(depth: 1 | 2 | 3, message: string): void;
}

export interface ForwardingSettings {
  /** GatewayPorts: -L/-D without a bind address listen on every address instead of loopback. */
  readonly gatewayPorts?: boolean;
  /** ExitOnForwardFailure: a forwarding that cannot be set up ends nacre (CliExit 255). */
  readonly exitOnForwardFailure?: boolean;
}

/**
 * The hook the escape command line (`~C`, src/cli/ssh/escape*.ts) uses.
 * Every method resolves with the text ssh would print (one or more lines,
 * without the final newline; '' for nothing); none rejects.
 */
export interface ForwardingControl {
  /**
   * A `~C` command line as typed after `ssh> `: `-L spec`, `-R spec`,
   * `-D spec` add; `-KL [bind:]port`, `-KR [bind:]port|path`,
   * `-KD [bind:]port` cancel; `?`, `h` or `H` is the help text (the `-` is
   * optional, as in ssh).
   */
  command(line: string): Promise<string>;
  /** Adds a forwarding from its flag and spec, as `-L`/`-R`/`-D` give them. */
  add(flag: ForwardFlag, spec: string): Promise<string>;
  /** Cancels the forwarding listening on `[bind:]port` (or a socket path) of that flag. */
  cancel(flag: ForwardFlag, spec: string): Promise<string>;
  /** One line per active forwarding, e.g. `-L 127.0.0.1:8080 -> example.com:80`. */
  list(): string[];
}

/** ssh's help for `~C` (clientloop.c), as one text. */
export const COMMAND_LINE_HELP = ESCAPE_COMMAND_HELP.join('\n');

type Active =
  | { readonly flag: 'local' | 'dynamic'; readonly spec: ForwardSpec; readonly handle: LocalForward }
  | { readonly flag: 'remote'; readonly spec: ForwardSpec; readonly handle: RemoteForward };

/** A forwarding could not be set up; `message` is ssh's wording for the log. */
class SetupFailed extends Error {}

/** How ssh writes an endpoint in its messages: `host:port`, or the path. */
function endpointText(e: ForwardEndpoint): string {
  if (e.kind === 'unix') return e.path;
  return `${e.host ?? ''}:${e.port}`;
}

/** The Node listen address of a -L/-D listen side: ssh's channel_fwd_bind_addr for a client. */
export function localBindAddress(listen: ForwardEndpoint, gatewayPorts: boolean): { path: string } | { host: string; port: number } {
  if (listen.kind === 'unix') return { path: listen.path };
  const h = listen.host;
  // "localhost" is both loopback addresses, 127.0.0.1 and ::1, as ssh binds them.
  if (h === undefined) return { host: gatewayPorts ? '' : 'localhost', port: listen.port };
  if (h === '' || h === '*') return { host: '', port: listen.port };
  return { host: h, port: listen.port };
}

/** The address a -R asks the server to bind: "localhost" when none is given, "" for every address. */
export function remoteBindAddress(host: string | undefined): string {
  if (host === undefined) return 'localhost';
  if (host === '' || host === '*') return '';
  return host;
}

export class Forwardings implements ForwardingControl {
  private readonly active: Active[] = [];

  constructor(
    private readonly client: Client,
    private readonly log: ForwardingLog,
    private readonly settings: ForwardingSettings = {},
  ) {}

  /**
   * Starts `specs` in order, as ssh at start-up: local and dynamic ones
   * first, then remote ones. Failures are logged with ssh's messages; with
   * ExitOnForwardFailure the first one throws CliExit(255) with ssh's fatal
   * message (after closing what was started).
   */
  async startAll(specs: readonly ForwardSpec[]): Promise<void> {
    const local = specs.filter((s) => s.type === 'local' || s.type === 'dynamic');
    const remote = specs.filter((s) => s.type === 'remote' || s.type === 'remote-dynamic');
    let ok = 0;
    for (const spec of local) {
      try {
        await this.start(spec);
        ok++;
      } catch (err) {
        this.log.error((err as Error).message);
      }
    }
    if (local.length > 0 && ok !== local.length && this.settings.exitOnForwardFailure) {
      await this.closeAll();
      throw new CliExit(255, 'Could not request local forwarding.');
    }
    if (local.length > 0 && ok === 0) this.log.error('Could not request local forwarding.');
    for (const spec of remote) {
      try {
        await this.start(spec);
      } catch (err) {
        if (this.settings.exitOnForwardFailure) {
          await this.closeAll();
          throw new CliExit(255, (err as Error).message.replace(/^Warning:/, 'Error:'));
        }
        this.log.info((err as Error).message);
      }
    }
  }

  /** Starts one forwarding; a SetupFailed (ssh's message) when it cannot. */
  async start(spec: ForwardSpec): Promise<void> {
    if (spec.type === 'local' || spec.type === 'dynamic') {
      const where = localBindAddress(spec.listen, this.settings.gatewayPorts ?? false);
      let handle: LocalForward;
      try {
        if (!('connect' in spec)) {
          this.log.debug(1, `Local connections to ${endpointText(spec.listen)} forwarded to remote address socks:0`);
          handle = await this.client.forwardDynamic({ ...this.listenOptions(where), onError: (err, req) => this.socksError(err, req) });
        } else {
          this.log.debug(1, `Local connections to ${endpointText(spec.listen)} forwarded to remote address ${endpointText(spec.connect)}`);
          const target = spec.connect.kind === 'unix' ? { remotePath: spec.connect.path } : { remoteHost: spec.connect.host ?? '', remotePort: spec.connect.port };
          // ssh: "channel 3: open failed: connect failed: Connection refused"; the connection is closed.
          handle = await this.client.forwardLocal({ ...this.listenOptions(where), ...target, onConnectError: (err) => {
            // Not for an open cut short by our own closing of the connection (a signal, ~.): ssh is quiet then.
            if ((err as { name?: unknown; fromPeer?: unknown }).name === 'DisconnectError' && (err as { fromPeer?: unknown }).fromPeer === false) return;
            this.log.error(`open failed: ${visible(err.message.replace(/^channel open failed: /, ''))}`);
          } });
        }
      } catch (err) {
        throw new SetupFailed(this.bindFailure(where, err));
      }
      this.active.push({ flag: spec.type, spec, handle });
      return;
    }
    const listen = spec.listen;
    const connectTo = !('connect' in spec) ? ('socks' as const) : spec.connect.kind === 'unix' ? { path: spec.connect.path } : { host: spec.connect.host ?? '', port: spec.connect.port };
    const connectText = connectTo === 'socks' ? 'socks:0' : 'path' in connectTo ? connectTo.path : `${connectTo.host}:${connectTo.port}`;
    let handle: RemoteForward;
    try {
      handle = await this.client.forwardRemote({
        ...(listen.kind === 'unix' ? { remotePath: listen.path } : { bindAddress: remoteBindAddress(listen.host), bindPort: listen.port }),
        connectTo,
        // ssh reports a failed connect_to as an error, a SOCKS client it refused only under -v.
        onConnectError: (err) => (connectTo === 'socks' ? this.log.debug(1, `dynamic forwarding: ${err.message}`) : this.log.error(`connect_to ${connectText}: failed: ${err.message}`)),
      });
    } catch {
      throw new SetupFailed(listen.kind === 'unix' ? `Warning: remote port forwarding failed for listen path ${listen.path}` : `Warning: remote port forwarding failed for listen port ${listen.port}`);
    }
    this.log.debug(1, `remote forward success for: listen ${endpointText(listen)}, connect ${connectText}`);
    if (listen.kind === 'tcp' && listen.port === 0) this.log.info(`Allocated port ${handle.port} for remote forward to ${connectText}`);
    this.active.push({ flag: 'remote', spec, handle });
  }

  private listenOptions(where: { path: string } | { host: string; port: number }): { localPath: string } | { localHost: string; localPort: number } {
    return 'path' in where ? { localPath: where.path } : { localHost: where.host, localPort: where.port };
  }

  /** ssh's words for a listener it could not open. */
  private bindFailure(where: { path: string } | { host: string; port: number }, err: unknown): string {
    const cause = (err as { cause?: { code?: string; message?: string } } | null)?.cause;
    const why = cause?.code === 'EADDRINUSE' ? 'Address already in use' : cause?.code === 'EACCES' ? 'Permission denied' : (cause?.message ?? (err as Error).message);
    if ('path' in where) return `unix_listener: cannot bind to path ${where.path}: ${why}`;
    // The address that failed, numeric as ssh prints it (127.0.0.1 for localhost).
    const address = err instanceof ListenError ? err.address : `[${where.host || '*'}]:${where.port}`;
    const bracketed = address.startsWith('[') ? address : `[${address.slice(0, address.lastIndexOf(':'))}]${address.slice(address.lastIndexOf(':'))}`;
    return `bind ${bracketed}: ${why}\nchannel_setup_fwd_listener_tcpip: cannot listen to port: ${where.port}`;
  }

  private socksError(err: Error, request: SocksRequest | null): void {
    this.log.debug(1, request ? `channel: connect to ${request.host}:${request.port} for SOCKS${request.version} failed: ${err.message}` : `dynamic forwarding: dropped a client: ${err.message}`);
  }

  async command(line: string): Promise<string> {
    // As ssh's process_cmdline: blanks, then one optional '-'; h, H or ? is help; K cancels.
    let text = line.replace(/^\s+/, '');
    if (text.startsWith('-')) text = text.slice(1);
    if (text === '') return '';
    if (/^[hH?]/.test(text)) return COMMAND_LINE_HELP;
    const m = /^(K?)([LRD])\s*(.*)$/s.exec(text);
    if (!m) return 'Invalid command.';
    const flag: ForwardFlag = m[2] === 'L' ? 'local' : m[2] === 'R' ? 'remote' : 'dynamic';
    const spec = m[3]!.trim();
    return m[1] ? this.cancel(flag, spec) : this.add(flag, spec);
  }

  async add(flag: ForwardFlag, specText: string): Promise<string> {
    let spec: ForwardSpec;
    try {
      spec = parseForwardSpec(specText, flag);
    } catch {
      return 'Bad forwarding specification.';
    }
    try {
      await this.start(spec);
    } catch (err) {
      if (err instanceof SetupFailed) this.log.error(err.message);
      return 'Port forwarding failed.';
    }
    return 'Forwarding port.';
  }

  async cancel(flag: ForwardFlag, specText: string): Promise<string> {
    const target = parseCancelSpec(specText);
    if (!target) return 'Bad forwarding close specification.';
    const i = this.active.findIndex((a) => {
      const kind = a.spec.type === 'remote-dynamic' ? 'remote' : a.spec.type;
      if (kind !== flag) return false;
      const listen = a.spec.listen;
      if ('path' in target) return listen.kind === 'unix' && listen.path === target.path;
      if (listen.kind !== 'tcp') return false;
      // A port the server or the system chose (0) is cancelled by the port it got.
      if (a.handle.port !== target.port && listen.port !== target.port) return false;
      return target.host === undefined || (listen.host ?? '') === target.host;
    });
    if (i < 0) return 'Unknown port forwarding.';
    const [found] = this.active.splice(i, 1);
    await found!.handle.close().catch(() => undefined);
    return 'Canceled forwarding.';
  }

  list(): string[] {
    return this.active.map((a) => {
      const f = a.flag === 'local' ? '-L' : a.flag === 'dynamic' ? '-D' : '-R';
      if (a.flag === 'remote') {
        const listen = a.handle.remotePath ?? `${a.handle.bindAddress}:${a.handle.port}`;
        return `${f} ${listen} -> ${a.spec.type === 'remote' ? endpointText(a.spec.connect) : 'socks'}`;
      }
      const listen = a.handle.localPath ?? `${a.handle.localHost || '*'}:${a.handle.port}`;
      return `${f} ${listen} -> ${a.spec.type === 'local' ? endpointText(a.spec.connect) : 'socks'}`;
    });
  }

  /** Closes every forwarding (remote ones cancelled on the server while it is up). */
  async closeAll(): Promise<void> {
    const all = this.active.splice(0);
    await Promise.all(all.map((a) => a.handle.close().catch(() => undefined)));
  }
}

/** `[bind:]port` or a socket path, as -K takes them; null when malformed. */
function parseCancelSpec(text: string): { host?: string; port: number } | { path: string } | null {
  if (text.includes('/')) return { path: text };
  const m = /^(?:\[([^\]]*)\]:|([^:]*):)?(\d{1,5})$/.exec(text);
  if (!m) return null;
  const port = Number(m[3]);
  if (port > 65535) return null;
  const host = m[1] ?? m[2];
  return host === undefined ? { port } : { host, port };
}

/** Starts `specs` on `client` (see Forwardings.startAll) and returns the control for `~C`. */
export async function startForwardings(client: Client, specs: readonly ForwardSpec[], log: ForwardingLog, settings: ForwardingSettings = {}): Promise<Forwardings> {
  const f = new Forwardings(client, log, settings);
  await f.startAll(specs);
  return f;
}

/**
 * What a resolved ssh_config (command-line flags included) asks for: its
 * LocalForward/-L, DynamicForward/-D and RemoteForward/-R (none with
 * ClearAllForwardings), with GatewayPorts and ExitOnForwardFailure.
 */
export function forwardingsFromConfig(config: SshConfig, env: Readonly<Record<string, string | undefined>> = {}): { specs: ForwardSpec[]; settings: ForwardingSettings } {
  const f = configForwards(config, env);
  return {
    specs: [...f.local, ...f.dynamic, ...f.remote],
    settings: { gatewayPorts: config.values.GatewayPorts === true, exitOnForwardFailure: config.values.ExitOnForwardFailure === true },
  };
}
