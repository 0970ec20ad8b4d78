// `connect()` and the Client: run commands, open shells and subsystems,
// forward ports — each handle a Node stream or a promise.
import { EventEmitter } from 'node:events';
import { AbortError, DisconnectReason, NacreError, TimeoutError, VersionError } from '../errors.js';
import { defaultAlgorithmLists } from '../algorithms/index.js';
import type { NegotiatedAlgorithms } from '../core/kex/negotiate.js';
import type { EndpointEvent } from '../core/endpoint.js';
import { NodeEndpoint, checkReplyTimeout, type ChannelOpener, type ReplyTimeouts } from '../io/node/node-endpoint.js';
import type { Channel } from '../io/node/channel.js';
import type { ChannelOpenHandler, GlobalReply, GlobalRequestHandler } from '../io/node/registries.js';
import { nodeRandom } from '../io/node/transport-driver.js';
import { clockNow } from '../io/node/driver.js';
import { fingerprintSha256, blobKeyType, RSA_MIN_BITS } from '../keys/blob.js';
import { Reader } from '../wire/reader.js';
import { type ConnectOptions, type HostKeyInfo, defaultUsername } from './options.js';
import { loadIdentities, withoutShortRsaKeys } from './identities.js';
import { openTransport } from './transport.js';
import { applySshConfig } from './config-options.js';
import { hostKeyPolicy } from './host-key-policy.js';
import { watchHostKeyAnnouncements, type HostKeysUpdateResult } from './host-key-update.js';
import { AuthAnswers } from './auth-answers.js';
import { AgentAuth, sessionBinding } from './agent-auth.js';
import { agentForwarding } from './agent-forward.js';
import { debugTracer, safeDebug } from './debug-trace.js';
import { DEFAULT_MAX_BUFFER, checkMaxBuffer, execCommand, spawnProcess, startShell, type ExecOptions, type ExecResult, type SpawnOptions, type RemoteProcess, type ShellOptions } from './process.js';
import {
  RemoteForwarder,
  type RemoteForward,
  type RemoteForwardOptions,
  forwardLocal,
  openDirectStreamlocal,
  openDirectTcpip,
  type DirectTcpipOptions,
  type LocalForward,
  type LocalForwardOptions,
} from './forward.js';
import { targetHandler } from './remote-target.js';
import { parsePermitRemoteOpen, type RemoteOpenRule } from '../config/permit-remote-open.js';
import { forwardDynamic, type DynamicForwardOptions } from './dynamic-forward.js';
import type { SftpClient } from './sftp/api.js';

export { AbortError };

/** Banner text `Client.banners` keeps at most. */
const MAX_KEPT_BANNER_CHARS = 64 * 1024;

/** The events of a `Client`, with their arguments. */
export interface ClientEvents {
  /** A key re-exchange finished. */
  rekey: [algorithms: NegotiatedAlgorithms];
  /** The server announced its host keys after login (hostkeys-00@openssh.com); unverified. */
  hostkeys: [keys: Client['announcedHostKeys']];
  /** UpdateHostKeys finished with the server's announcement (also kept as `hostKeysUpdate`). */
  'hostkeys-updated': [result: HostKeysUpdateResult];
  /** The connection is over; `error` says why, null when `close()` ended it (a close we asked for is no error). */
  close: [error: NacreError | null];
  /** A USERAUTH_BANNER; these come before `connect()` resolves, so listen with the `onBanner` option. */
  banner: [message: string];
}

/** A connected, authenticated SSH client. Close it with `close()` or `await using`. */
export class Client extends EventEmitter<ClientEvents> implements AsyncDisposable {
  /** What the key exchange chose (updated after each rekey). */
  algorithms: NegotiatedAlgorithms | null = null;
  /** The server's host key as verified. */
  hostKey: HostKeyInfo | null = null;
  /** Host keys the server announced after login (OpenSSH's hostkeys-00@openssh.com), unverified. */
  announcedHostKeys: readonly { readonly key: Uint8Array; readonly keyType: string; readonly fingerprint: string }[] = [];
  /** With `updateHostKeys`: how updating known_hosts from `announcedHostKeys` ended (null until it has). */
  hostKeysUpdate: HostKeysUpdateResult | null = null;
  /** USERAUTH_BANNER messages, in order (the first 64 KiB of them; all reach 'banner' listeners). */
  readonly banners: string[] = [];
  /** @internal Characters kept in `banners`. */
  bannerChars = 0;
  /** @internal */
  readonly forwards: RemoteForwarder;
  /** @internal The connection's driver. Modules below the Client take narrow interfaces of it instead (ChannelOpener, ForwardingConnection). */
  readonly node: NodeEndpoint;
  /** @internal The `maxBuffer` of exec calls that do not set one. */
  readonly maxBuffer: number;
  /** @internal Opens the session channels of exec, spawn, shell and subsystem (asking for the agent with forwardAgent). */
  sessions: ChannelOpener;

  /** @internal Clients come from `connect()`. */
  static create(node: NodeEndpoint, maxBuffer: number = DEFAULT_MAX_BUFFER, permitRemoteOpen: RemoteOpenRule = 'any'): Client {
    return new Client(node, maxBuffer, permitRemoteOpen);
  }

  private constructor(node: NodeEndpoint, maxBuffer: number, permitRemoteOpen: RemoteOpenRule) {
    super();
    this.node = node;
    this.maxBuffer = maxBuffer;
    this.sessions = node;
    this.forwards = new RemoteForwarder(node, (o) => targetHandler(o, permitRemoteOpen));
    // What a server may open or ask of a client; the rest is refused as unknown.
    node.channelOpenHandlers.set('forwarded-tcpip', (open) => this.forwards.onForwardedTcpip(open));
    node.channelOpenHandlers.set('forwarded-streamlocal@openssh.com', (open) => this.forwards.onForwardedStreamlocal(open));
    node.globalRequestHandlers.set('hostkeys-00@openssh.com', (request) => {
      // OpenSSH announces all its host keys after login (UpdateHostKeys); report them.
      this.announcedHostKeys = parseHostkeys(request.data);
      this.emit('hostkeys', this.announcedHostKeys);
      return false;
    });
  }

  /**
   * Answers the channels of `type` the server opens with `handler`
   * (replacing an earlier one, Nacre's own `forwarded-tcpip` included);
   * `null` removes it, and such opens are refused with UNKNOWN_CHANNEL_TYPE.
   */
  handleChannelOpen(type: string, handler: ChannelOpenHandler | null): void {
    this.node.handleChannelOpen(type, handler);
  }

  /**
   * Answers the server's global requests named `name` with `handler`
   * (replacing an earlier one); `null` removes it, and such requests fail.
   */
  handleGlobalRequest(name: string, handler: GlobalRequestHandler | null): void {
    this.node.handleGlobalRequest(name, handler);
  }

  /**
   * Opens a channel of any type, `data` being its type-specific fields;
   * rejects with ChannelOpenError when the server refuses it.
   */
  openChannel(type: string, data?: Uint8Array): Promise<Channel> {
    return this.node.openChannel(type, data);
  }

  /**
   * Sends a global request; resolves with the server's reply (without
   * `wantReply`, at once with `success: true`).
   */
  globalRequest(name: string, data?: Uint8Array, wantReply = true): Promise<GlobalReply> {
    return this.node.globalRequest(name, data, wantReply);
  }

  /**
   * Runs a command and collects its output: `{ stdout, stderr, code, signal }`.
   * The command is text (sent as UTF-8) or bytes, sent as they are (a name
   * that is not UTF-8 in it).
   */
  exec(command: string | Uint8Array, options: ExecOptions & { readonly encoding: 'buffer' }): Promise<ExecResult<Buffer>>;
  exec(command: string | Uint8Array, options?: ExecOptions & { readonly encoding?: 'utf8' }): Promise<ExecResult<string>>;
  exec(command: string | Uint8Array, options?: ExecOptions): Promise<ExecResult<string | Buffer>>;
  exec(command: string | Uint8Array, options: ExecOptions = {}): Promise<ExecResult> {
    return execCommand(this.sessions, command, options, this.maxBuffer);
  }

  /** Starts a command (text, or bytes sent as they are) with stdin/stdout/stderr streams and an `exit` promise. */
  spawn(command: string | Uint8Array, options: SpawnOptions = {}): Promise<RemoteProcess> {
    return spawnProcess(this.sessions, command, options);
  }

  /** Starts the user's login shell (with a PTY unless `pty: false`). */
  shell(options: ShellOptions = {}): Promise<RemoteProcess> {
    return startShell(this.sessions, options);
  }

  /** Starts a subsystem (e.g. `sftp`) and returns its channel as a Duplex. */
  async subsystem(name: string): Promise<Channel> {
    const ch = await this.sessions.openChannel('session');
    const { ReqSubsystem } = await import('../messages/channel-types.js');
    if (!(await ch.request('subsystem', ReqSubsystem.encode({ name })))) {
      ch.close();
      throw new NacreError(`the server refused subsystem ${name}`, DisconnectReason.SERVICE_NOT_AVAILABLE);
    }
    return ch;
  }

  /**
   * Starts the `sftp` subsystem and an SFTP session on it (version 3 with
   * OpenSSH's extensions); the connection stays open after `sftp.end()`.
   */
  async sftp(): Promise<SftpClient> {
    // The SFTP client's modules load only here (a command or a shell never
    // needs them), at the same time as the subsystem request.
    const [ch, { startSftp }] = await Promise.all([this.subsystem('sftp'), import('./sftp/client.js')]);
    try {
      return await startSftp(ch);
    } catch (err) {
      if (!ch.destroyed) ch.destroy();
      throw err;
    }
  }

  /** Opens a `direct-tcpip` channel: a TCP connection made by the server, as a Duplex. */
  openDirectTcpip(options: DirectTcpipOptions): Promise<Channel> {
    return openDirectTcpip(this.node, options);
  }

  /** Opens a connection to a Unix socket on the server (OpenSSH's streamlocal). */
  openDirectStreamlocal(socketPath: string): Promise<Channel> {
    return openDirectStreamlocal(this.node, socketPath);
  }

  /**
   * Asks the server to listen (`ssh -R`) on a port or, with `remotePath`, a
   * Unix socket; incoming connections arrive as channels, or go where
   * `connectTo` says (a local port or socket, or `'socks'`).
   */
  forwardRemote(options: RemoteForwardOptions): Promise<RemoteForward> {
    return this.forwards.listen(options);
  }

  /**
   * Listens locally (a port, or a Unix socket with `localPath`) and tunnels
   * each connection to `remoteHost:remotePort`, or to the server's Unix
   * socket `remotePath` (`ssh -L`).
   */
  forwardLocal(options: LocalForwardOptions): Promise<LocalForward> {
    return forwardLocal(this.node, options);
  }

  /** A local SOCKS 4/4a/5 server (`ssh -D`): each CONNECT is made by the server; names resolve there. */
  forwardDynamic(options: DynamicForwardOptions = {}): Promise<LocalForward> {
    return forwardDynamic(this.node, options);
  }

  /** Asks the server to re-exchange keys now. */
  rekey(): void {
    this.node.endpoint.rekey(this.node.now());
    this.node.run();
  }

  /** Resolves when the connection ends: with the error that ended it, or null when `close()` did. */
  get closed(): Promise<NacreError | null> {
    return this.node.closed;
  }

  /** Disconnects; resolves once the connection is down. */
  async close(): Promise<void> {
    if (!this.node.error) this.node.disconnect(DisconnectReason.BY_APPLICATION, 'client closed the connection');
    await this.node.closed;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** The key blobs of a hostkeys-00@openssh.com request; malformed ones end the list. */
function parseHostkeys(data: Uint8Array): { key: Uint8Array; keyType: string; fingerprint: string }[] {
  const out: { key: Uint8Array; keyType: string; fingerprint: string }[] = [];
  const r = new Reader(data, 0, 'hostkeys-00@openssh.com');
  try {
    while (r.remaining > 0 && out.length < 64) {
      const key = r.string('host key', 16 * 1024);
      out.push({ key, keyType: blobKeyType(key), fingerprint: fingerprintSha256(key) });
    }
  } catch {
    // keep what parsed
  }
  return out;
}

/** `permitRemoteOpen` as a rule (RangeError for a bad entry, before any socket). */
function checkPermitRemoteOpen(value: readonly string[] | undefined): RemoteOpenRule {
  if (value === undefined) return 'any';
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) throw new RangeError('permitRemoteOpen must be an array of strings');
  try {
    return parsePermitRemoteOpen(value);
  } catch (err) {
    throw new RangeError(`permitRemoteOpen: ${(err as Error).message}`);
  }
}

/** Connects, verifies the host key, authenticates; resolves with a ready Client. */
export async function connect(options: ConnectOptions): Promise<Client> {
  // Jump hosts resolve their own ssh_config entries from the options as given.
  const given = options;
  options = applySshConfig(options);
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 22;
  const username = options.username ?? defaultUsername();
  // Everything that can fail on the options fails before a socket exists.
  const identities = loadIdentities(options);
  // The KRL reader (four modules) loads only for a connection that names a RevokedHostKeys file.
  const revokedKeysReader = options.revokedHostKeys === undefined ? undefined : (await import('../io/node/revoked-keys.js')).loadRevokedKeys;
  const hostKeys = hostKeyPolicy(options, host, port, undefined, revokedKeysReader);
  const algorithms = hostKeys.preferKnownKeyTypes(defaultAlgorithmLists(options.algorithms));
  const maxBuffer = checkMaxBuffer(options.maxBuffer ?? DEFAULT_MAX_BUFFER);
  const permitRemoteOpen = checkPermitRemoteOpen(options.permitRemoteOpen);
  const replyTimeouts = checkedReplyTimeouts(options);
  const identTimeout = options.identTimeout === undefined ? undefined : checkReplyTimeout(options.identTimeout, 'identTimeout');
  if (options.signal?.aborted) throw new AbortError();
  const agentAuth = await AgentAuth.open(options);
  // RequiredRSASize: RSA keys shorter than asked are not offered (ssh: "Skipping key").
  const offered = withoutShortRsaKeys(agentAuth ? agentAuth.identities(identities) : identities, options.requiredRsaSize ?? RSA_MIN_BITS, (s, bits) =>
    safeDebug(options.debug)?.(1, `Skipping ${bits}-bit RSA key ${fingerprintSha256(s.publicBlob)}: shorter than RequiredRSASize ${options.requiredRsaSize ?? RSA_MIN_BITS}`),
  );
  const answers = new AuthAnswers(options, offered);
  const clientCredentials = answers.credentials();
  let transport: Awaited<ReturnType<typeof openTransport>>;
  try {
    transport = await openTransport(options, host, port, username, connect, given);
  } catch (err) {
    agentAuth?.close();
    throw err;
  }
  const socket = transport.stream;
  const debug = safeDebug(options.debug);
  debug?.(1, 'Connection established.');

  return new Promise<Client>((resolve, reject) => {
    let ready = false;
    let client: Client | null = null;
    const fail = (err: Error) => {
      if (ready) return;
      ready = true;
      clearTimeout(timer);
      agentAuth?.close();
      options.signal?.removeEventListener('abort', onAbort);
      reject(answers.explain(err));
      if (client && !client.node.error) client.node.disconnect(DisconnectReason.BY_APPLICATION, err.message);
      socket.destroy();
      transport.dispose();
    };
    const onAbort = () => fail(new AbortError());
    options.signal?.addEventListener('abort', onAbort, { once: true });
    let loggedIn = false;
    /**
     * sshd keeps Nagle's algorithm on until a session starts, and right after
     * login it writes notices that need no answer (hostkeys-00@openssh.com,
     * DEBUG lines about the key's options) as separate small segments. With
     * nothing to send back, our kernel ACKs the last of them only when its
     * delayed-ACK timer fires (~40 ms on Linux), and sshd's Nagle holds its
     * next packet (typically the CHANNEL_OPEN_CONFIRMATION we wait for) until
     * then. An IGNORE, accepted at any time (RFC 4253 §11.2), carries the ACK
     * at once. One per such message: a peer gets no more than it sends.
     */
    const acknowledgeNow = (node: NodeEndpoint): void => {
      node.endpoint.ignore(node.now());
      node.run();
    };
    const readyTimeout = options.readyTimeout ?? 60_000;
    const timer = setTimeout(() => fail(new TimeoutError('key exchange and authentication', readyTimeout)), readyTimeout);

    const trace = debugTracer(debug);
    const onEvent = async (e: EndpointEvent, node: NodeEndpoint): Promise<void> => {
      const c = client!;
      trace(e, node);
      switch (e.type) {
        case 'host-key': {
          let info: HostKeyInfo;
          try {
            // `ready` is set once connect() has settled: here, only by a failure.
            info = await hostKeys.verify(e.hostKey, e.algorithm, () => !ready);
          } catch (err) {
            fail(err instanceof Error ? err : new Error(String(err)));
            return;
          }
          if (ready) return;
          c.hostKey = info;
          node.endpoint.answerHostKey(node.now(), true, info.fingerprint);
          node.run();
          return;
        }
        case 'keys-exchanged':
          if (e.initial) agentAuth?.bindNow();
          c.algorithms = e.algorithms;
          c.emit('rekey', e.algorithms);
          return;
        case 'auth-banner':
          // A server may send banners without end before login; keep a bounded record.
          if (c.bannerChars + e.message.length <= MAX_KEPT_BANNER_CHARS) {
            c.banners.push(e.message);
            c.bannerChars += e.message.length;
          }
          options.onBanner?.(e.message);
          c.emit('banner', e.message);
          return;
        case 'auth-sign':
          node.endpoint.answerSign(node.now(), e.id, await answers.sign(e));
          node.run();
          return;
        case 'auth-prompt':
          node.endpoint.answerPrompt(node.now(), e.id, await answers.prompt(e));
          node.run();
          return;
        case 'auth-password':
          node.endpoint.answerPassword(node.now(), e.id, await answers.password({ username, host, port, attempt: e.attempt }));
          node.run();
          return;
        case 'auth-password-change':
          node.endpoint.answerPasswordChange(node.now(), e.id, await answers.newPassword(e));
          node.run();
          return;
        case 'auth-success':
          loggedIn = true;
          if (!ready) {
            ready = true;
            clearTimeout(timer);
            agentAuth?.close();
            options.signal?.removeEventListener('abort', onAbort);
            resolve(c);
          }
          return;
        case 'global-request':
          // Answered by the handlers registered on the node (the Client's
          // constructor); a notice that wants no reply is acknowledged here.
          if (!e.wantReply && loggedIn) acknowledgeNow(node);
          return;
        case 'debug':
          if (loggedIn) acknowledgeNow(node);
          return;
        case 'disconnected':
          // A peer that sent no version line is named: the user asked for host:port.
          fail(e.error instanceof VersionError && node.endpoint.transport.peerVersion === null ? new VersionError(`${host}:${port}: ${e.error.message}`, { cause: e.error }) : e.error);
          c.emit('close', node.endError);
          return;
        default:
          return;
      }
    };

    let node: NodeEndpoint;
    try {
      node = new NodeEndpoint(
        socket,
        {
          role: 'client',
          random: nodeRandom,
          now: clockNow(),
          algorithms,
          auth: { username, credentials: clientCredentials },
          keepalive: options.keepalive === false ? { intervalMs: 0, countMax: 3 } : (options.keepalive ?? { intervalMs: 15_000, countMax: 3 }),
          ...(options.rekey ? { rekey: options.rekey } : {}),
          ...(identTimeout !== undefined ? { identTimeoutMs: identTimeout } : {}),
        },
        (e, n) => {
          onEvent(e, n).catch((err: unknown) => fail(err instanceof Error ? err : new Error(String(err))));
        },
        replyTimeouts,
      );
    } catch (err) {
      // No NodeEndpoint, so nothing else would ever close the socket or the timer.
      fail(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    client = Client.create(node, maxBuffer, permitRemoteOpen);
    agentAuth?.attach(() => sessionBinding(node));
    client.sessions = agentForwarding(node, options);
    if (debug) node.trace = debug;
    // Jump hosts and a proxy command live as long as the connection.
    node.onClose(() => transport.dispose());
    if (options.updateHostKeys) {
      watchHostKeyAnnouncements(client, {
        updateHostKeys: options.updateHostKeys,
        allowed: () => hostKeys.updateHostKeysAllowed(),
        userFiles: hostKeys.userFiles,
        host: hostKeys.lookupHost,
        port: hostKeys.lookupPort,
        hash: options.hashKnownHosts === true,
        acceptedAlgorithms: algorithms.hostKey,
        sessionId: () => node.endpoint.transport.sessionId,
        ...(options.debug ? { debug: options.debug } : {}),
      });
    }
    node.run();
  });
}

/** The reply timeouts of `options`, checked (a RangeError before any socket exists). */
function checkedReplyTimeouts(options: ConnectOptions): ReplyTimeouts {
  return {
    ...(options.channelOpenTimeout !== undefined ? { channelOpen: checkReplyTimeout(options.channelOpenTimeout, 'channelOpenTimeout') } : {}),
    ...(options.globalRequestTimeout !== undefined ? { globalRequest: checkReplyTimeout(options.globalRequestTimeout, 'globalRequestTimeout') } : {}),
    ...(options.channelRequestTimeout !== undefined ? { channelRequest: checkReplyTimeout(options.channelRequestTimeout, 'channelRequestTimeout') } : {}),
  };
}
