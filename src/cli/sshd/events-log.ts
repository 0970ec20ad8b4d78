// A server's events as sshd's log lines:
//   Connection from 127.0.0.1 port 51234 on 127.0.0.1 port 2222 rdomain ""   (VERBOSE)
//   Accepted publickey for alice from 127.0.0.1 port 51234 ssh2: ED25519 SHA256:...
//   Received disconnect from 127.0.0.1 port 51234:11: disconnected by user
//   Disconnected from user alice 127.0.0.1 port 51234
//   Connection closed by authenticating user alice 127.0.0.1 port 51234 [preauth]
// and the once-per-connection lines of authentication (Invalid user ...).
import { DisconnectError, DisconnectReason, TimeoutError, fingerprintSha256, blobKeyType, isCertificateType, parseCertificate, type AuthContext, type PublicKeyInfo, type Server } from '../../index.js';
import { keyName, sshdKeyName, type LogStyle } from './auth-policy.js';
import { peer, printable, type SshdLog } from './log.js';
import type { Account } from './accounts.js';

/**
 * The key of an accepted login as sshd logs it (`ED25519 SHA256:...`; a
 * certificate `ED25519-CERT SHA256:... ID x (serial 7) CA ED25519 SHA256:...`),
 * or with protocol names as npm start always has (`ssh-ed25519 certificate SHA256:... ID x (serial 7) CA SHA256:...`).
 */
export function describeKey(key: PublicKeyInfo, style: LogStyle = 'sshd'): string {
  if (!isCertificateType(key.keyType)) return `${keyName(key.keyType, style)} ${key.fingerprint}`;
  try {
    const c = parseCertificate(key.blob);
    const id = `ID ${printable(c.keyId)} (serial ${c.serial})`;
    if (style === 'npm-start') return `${c.keyType} certificate ${fingerprintSha256(c.publicKey)} ${id} CA ${fingerprintSha256(c.signatureKey)}`;
    return `${sshdKeyName(key.keyType)} ${fingerprintSha256(c.publicKey)} ${id} CA ${sshdKeyName(blobKeyType(c.signatureKey))} ${fingerprintSha256(c.signatureKey)}`;
  } catch {
    return `${keyName(key.keyType, style)} ${key.fingerprint}`;
  }
}

/**
 * What nacred notes about each connection while it authenticates, keyed by
 * the client's address and port (what the auth, forwarding and session
 * callbacks all know): which once-per-connection lines were logged, the user
 * name tried, the account found. Forgotten when the connection ends.
 */
export class OncePerConnection {
  private readonly seen = new Map<string, Set<string>>();
  /** The user name each connection asked for last, for sshd's `authenticating user alice` close lines. */
  private readonly names = new Map<string, string>();
  /** The account each connection's latest attempt named (its groups decide Match Group for its forwardings and sessions). */
  private readonly accounts = new Map<string, Account>();

  constructor(private readonly log: SshdLog) {}

  private static key(address: string | undefined, port: number | undefined): string {
    return `${address ?? ''} ${port ?? 0}`;
  }

  /** Notes the user name an attempt asked for. */
  tried(ctx: Pick<AuthContext, 'remoteAddress' | 'remotePort' | 'username'>): void {
    if (this.names.size > 10_000) this.names.clear();
    this.names.set(OncePerConnection.key(ctx.remoteAddress, ctx.remotePort), ctx.username);
  }

  /** Notes the account an attempt named (null: none). */
  noteAccount(ctx: Pick<AuthContext, 'remoteAddress' | 'remotePort'>, account: Account | null): void {
    const k = OncePerConnection.key(ctx.remoteAddress, ctx.remotePort);
    if (account === null) this.accounts.delete(k);
    else {
      if (this.accounts.size > 10_000) this.accounts.clear();
      this.accounts.set(k, account);
    }
  }

  account(address: string | undefined, port: number | undefined): Account | undefined {
    return this.accounts.get(OncePerConnection.key(address, port));
  }

  triedName(address: string | undefined, port: number | undefined): string | undefined {
    return this.names.get(OncePerConnection.key(address, port));
  }

  line(ctx: Pick<AuthContext, 'remoteAddress' | 'remotePort'>, line: string): void {
    const k = OncePerConnection.key(ctx.remoteAddress, ctx.remotePort);
    let set = this.seen.get(k);
    if (!set) {
      // Bounded: connections that never end still cannot grow it without limit.
      if (this.seen.size > 10_000) this.seen.clear();
      set = new Set();
      this.seen.set(k, set);
    }
    if (set.has(line)) return;
    set.add(line);
    this.log.info(line);
  }

  /** Whether a line was logged for this connection that said the user is invalid. */
  invalid(address: string | undefined, port: number | undefined): boolean {
    const lines = this.seen.get(OncePerConnection.key(address, port));
    if (lines) for (const l of lines) if (l.startsWith('Invalid user')) return true;
    return false;
  }

  forget(address: string | undefined, port: number | undefined): void {
    this.seen.delete(OncePerConnection.key(address, port));
    this.names.delete(OncePerConnection.key(address, port));
    this.accounts.delete(OncePerConnection.key(address, port));
  }
}

/** Logs `server`'s events on `log`, in sshd's words. */
export function logServerEvents(server: Server, log: SshdLog, once: OncePerConnection, logStyle: LogStyle = 'sshd'): void {
  // Lines the LogLevel drops are not even formatted (LogLevel ERROR under a
  // stream of logins: a few string builds and a key description per connection).
  server.on('connection', (conn) => {
    if (log.enabled('verbose')) log.verbose(`Connection from ${peer(conn.remoteAddress, conn.remotePort)} on ${peer(conn.localAddress, conn.localPort)} rdomain ""`);
  });
  server.on('authenticated', (conn, info) => {
    if (!log.enabled('info')) return;
    const key = info.publicKey ? `: ${describeKey(info.publicKey, logStyle)}` : '';
    log.info(`Accepted ${info.method} for ${printable(info.username)} from ${peer(conn.remoteAddress, conn.remotePort)} ssh2${key}`);
  });
  server.on('refused', (info, reason) => {
    log.info(`drop connection #${server.connections.size} from [${info.remoteAddress ?? 'UNKNOWN'}]:${info.remotePort ?? 0} on [${info.localAddress ?? 'UNKNOWN'}]:${info.localPort ?? 0} past MaxStartups (${reason})`);
  });
  server.on('error', (err, conn) => {
    if (conn) {
      if (log.enabled('verbose')) log.verbose(`${peer(conn.remoteAddress, conn.remotePort)}: ${err.message}`);
    } else log.error(err.message);
  });
  server.on('disconnect', (conn, err) => {
    const from = peer(conn.remoteAddress, conn.remotePort);
    const user = conn.username;
    const invalid = once.invalid(conn.remoteAddress, conn.remotePort);
    const name = once.triedName(conn.remoteAddress, conn.remotePort);
    once.forget(conn.remoteAddress, conn.remotePort);
    if (!log.enabled('info')) {
      // Only the ERROR line of this handler can still be wanted.
      if (err !== null && !(err instanceof DisconnectError) && !(err instanceof TimeoutError)) maxAttemptsLine(log, err, name, invalid, from, user === null);
      return;
    }
    // sshd: "user alice" once logged in; "authenticating user alice" / "invalid user bob" before.
    const tried = name !== undefined && logStyle === 'sshd' ? `${invalid ? 'invalid' : 'authenticating'} user ${printable(name)} ` : '';
    const who = user !== null ? `user ${printable(user)} ` : tried;
    const preauth = user === null ? ' [preauth]' : '';
    if (err === null) {
      log.info(`Disconnecting ${who}${from}: server stopping${preauth}`);
      return;
    }
    if (err instanceof DisconnectError && err.reason !== DisconnectReason.CONNECTION_LOST) {
      if (err.fromPeer) {
        log.info(`Received disconnect from ${from}:${err.reason}: ${printable(err.description, 200)}${preauth}`);
        log.info(`Disconnected from ${who}${from}${preauth}`);
      } else {
        log.info(`Disconnecting ${who}${from}: ${printable(err.description, 200)}${preauth}`);
      }
      return;
    }
    if (err instanceof TimeoutError) {
      // sshd's words for LoginGraceTime; nacred's shorter handshake limit reads alike.
      if (err.phase === 'login grace time' || err.phase.startsWith('handshake')) log.info(`Timeout before authentication for ${from}`);
      else if (err.phase.startsWith('keepalive')) log.info(`Timeout, client not responding from ${who}${from}`);
      else log.info(`Disconnecting ${who}${from}: ${err.message}${preauth}`);
      return;
    }
    if (!(err instanceof DisconnectError)) {
      // Ended by nacred for a reason of its own (a protocol error, too many failures): it said so in its DISCONNECT.
      maxAttemptsLine(log, err, name, invalid, from, user === null);
      log.info(`Disconnecting ${who}${from}: ${printable(err.message, 200)}${preauth}`);
      return;
    }
    log.info(`Connection closed by ${who}${from}${preauth}`);
  });
}

/** sshd's ERROR line for a connection ended by MaxAuthTries. */
function maxAttemptsLine(log: SshdLog, err: Error, name: string | undefined, invalid: boolean, from: string, preauth: boolean): void {
  if (name === undefined || !/too many authentication failures/.test(err.message)) return;
  log.error(`maximum authentication attempts exceeded for ${invalid ? 'invalid user ' : ''}${printable(name)} from ${from} ssh2${preauth ? ' [preauth]' : ''}`);
}
