// ProxyJump / `ssh -J`: reach the server through a chain of SSH servers,
// each hop connected through the previous one's direct-tcpip channel and
// checked like the target (same host key policy, credentials and callbacks),
// with its own user and port. The hops close when the connection does.
import type { Duplex } from 'node:stream';
import { DisconnectReason, NacreError } from '../errors.js';
import { defaultUsername, type ConnectOptions } from './options.js';
import { applySshConfig } from './config-options.js';

/** One hop of a ProxyJump string. */
export interface JumpHost {
  readonly host: string;
  readonly port?: number;
  readonly username?: string;
}

/** The least a hop must be able to do: open direct-tcpip and close. */
export interface JumpClient {
  openDirectTcpip(options: { host: string; port: number }): Promise<Duplex>;
  close(): Promise<void>;
}

function badJump(spec: string, why: string): NacreError {
  return new NacreError(`ProxyJump ${JSON.stringify(spec)}: ${why}`, DisconnectReason.BY_APPLICATION);
}

/** Parses one `[user@]host[:port]` or `ssh://[user@]host[:port]` (IPv6 in brackets). */
export function parseJumpHost(text: string): JumpHost {
  let rest = text.trim();
  const uri = rest.startsWith('ssh://');
  if (uri) {
    rest = rest.slice('ssh://'.length);
    if (rest.endsWith('/')) rest = rest.slice(0, -1);
  }
  let username: string | undefined;
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    username = rest.slice(0, at);
    rest = rest.slice(at + 1);
    if (username === '') throw badJump(text, 'empty user name');
  }
  let host = rest;
  let portText: string | undefined;
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close < 0) throw badJump(text, 'unclosed [ in the host');
    host = rest.slice(1, close);
    const after = rest.slice(close + 1);
    if (after !== '') {
      if (!after.startsWith(':')) throw badJump(text, `unexpected ${JSON.stringify(after)} after the host`);
      portText = after.slice(1);
    }
  } else {
    const colon = rest.lastIndexOf(':');
    // A bare IPv6 address has more than one colon and no port.
    if (colon >= 0 && rest.indexOf(':') === colon) {
      host = rest.slice(0, colon);
      portText = rest.slice(colon + 1);
    }
  }
  if (host === '') throw badJump(text, 'empty host');
  if (/[\s/]/.test(host) || host.startsWith('-')) throw badJump(text, `bad host name ${JSON.stringify(host)}`);
  let port: number | undefined;
  if (portText !== undefined) {
    if (!/^\d{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) throw badJump(text, `bad port ${JSON.stringify(portText)}`);
    port = Number(portText);
  }
  return { host, ...(port !== undefined ? { port } : {}), ...(username !== undefined ? { username } : {}) };
}

/** The hops of a ProxyJump string (comma-separated, first hop first); `none` gives none. */
export function parseProxyJump(spec: string): JumpHost[] {
  if (spec.trim().toLowerCase() === 'none') return [];
  const parts = spec.split(',');
  if (parts.some((p) => p.trim() === '')) throw badJump(spec, 'empty hop');
  return parts.map(parseJumpHost);
}

/**
 * The options for one hop given by a string: the target's own options (host
 * key checking, credentials, callbacks, timeouts) without what names or
 * reaches the target, and the hop's host, user and port.
 */
export function hopOptions(base: ConnectOptions, hop: JumpHost): ConnectOptions {
  const {
    host: _host,
    port: _port,
    username: _username,
    proxyJump: _jump,
    proxyCommand: _command,
    sock: _sock,
    hostKeyAlias: _alias,
    forwardAgent: _forwardAgent,
    ...shared
  } = base;
  return { ...shared, host: hop.host, ...(hop.port !== undefined ? { port: hop.port } : {}), ...(hop.username !== undefined ? { username: hop.username } : {}) };
}

/** Where a connection goes, for ssh's "jumphost loop" check: the name it was given, its port and user. */
export interface JumpOrigin {
  readonly host: string;
  readonly port: number;
  readonly username: string;
}

/**
 * Resolves one hop for resolveJumpRoute: `hop` as named in a ProxyJump
 * string, and `jumpExtra`, the hops before it (as ssh passes them to the
 * hop's own ssh with `-J`; undefined for the first hop, which then keeps any
 * ProxyJump or ProxyCommand of its own ssh_config entry). The options
 * returned have the hop's HostName, Port and User applied, and their
 * `proxyJump` is the hop's effective one (`jumpExtra` when given).
 */
export type JumpHopResolver = (hop: JumpHost, jumpExtra: string | undefined) => ConnectOptions | Promise<ConnectOptions>;

/** Hops a route may have, counting those its hops' own ProxyJump add: past this it is a loop through ssh_config. */
export const MAX_JUMP_HOPS = 16;

/**
 * The hops of a ProxyJump string as ssh reaches them, first hop first, each
 * fully resolved (its own `proxyJump` set to `'none'`; only the first keeps a
 * `proxyCommand`). ssh turns `-J h1,h2,h3` into a ProxyCommand running
 * `ssh -J h1,h2 -W target h3`, so h3 (and every hop but the first) is
 * resolved with the hops before it as its ProxyJump, and h1 with its own
 * ssh_config's; `origin` is the connection the string belongs to, refused
 * like ssh ("jumphost loop via ...") when its last hop is itself.
 */
export async function resolveJumpRoute(spec: string, origin: JumpOrigin, resolve: JumpHopResolver): Promise<ConnectOptions[]> {
  const route: ConnectOptions[] = [];
  // Hops found so far, counting those still being resolved (each visit adds one, after the hops before it).
  let found = 0;
  const visit = async (text: string, from: JumpOrigin): Promise<void> => {
    const hops = parseProxyJump(text);
    if (hops.length === 0) return;
    const last = hops[hops.length - 1]!;
    if (last.host === from.host && (last.port ?? 22) === from.port && (last.username ?? from.username) === from.username) {
      throw badJump(text, `jumphost loop via ${last.host}`);
    }
    if (++found > MAX_JUMP_HOPS) throw badJump(text, `more than ${MAX_JUMP_HOPS} hops (a loop through ssh_config?)`);
    const extra = hops.length > 1 ? text.split(',').slice(0, -1).join(',') : undefined;
    const options = await resolve(last, extra);
    const own = options.proxyJump;
    if (typeof own === 'string' && own.trim().toLowerCase() !== 'none') {
      await visit(own, { host: last.host, port: options.port ?? 22, username: options.username ?? defaultUsername() });
    } else if (Array.isArray(own)) {
      throw badJump(text, 'a hop resolved to a list of hops; give its ProxyJump as a string');
    }
    const reached = route.length > 0;
    route.push({ ...options, proxyJump: 'none', ...(reached ? { proxyCommand: undefined } : {}) });
  };
  await visit(spec, origin);
  return route;
}

/**
 * Connects through the hops of `jump` and opens the stream to `host:port` on
 * the last; `connect` is the library's own (a hop is a full connection).
 * A string is resolved by resolveJumpRoute, each hop from `base` (hopOptions)
 * with `base.config` applied to its own name; a list is taken as the hops'
 * options, first hop first. `origin` is `base`'s connection, for the loop check.
 * Resolves with that stream and a function that closes the hops, last first.
 */
export async function connectThroughJumps(
  base: ConnectOptions,
  jump: string | readonly ConnectOptions[],
  host: string,
  port: number,
  connect: (options: ConnectOptions) => Promise<JumpClient>,
  origin: JumpOrigin = { host: base.host ?? host, port, username: base.username ?? defaultUsername() },
): Promise<{ stream: Duplex; dispose: () => void } | null> {
  // Each hop's own ssh_config entry, resolved now: the hop before must open
  // its channel to the HostName and Port found there, not to the alias.
  const hops: readonly ConnectOptions[] =
    typeof jump === 'string'
      ? await resolveJumpRoute(jump, origin, (hop, extra) => applySshConfig({ ...hopOptions(base, hop), ...(extra !== undefined ? { proxyJump: extra } : {}) }))
      : jump.map((o) => applySshConfig(o));
  if (hops.length === 0) return null;
  const clients: JumpClient[] = [];
  const dispose = () => {
    for (const c of clients.splice(0).reverse()) void c.close().catch(() => undefined);
  };
  try {
    let through: Duplex | undefined;
    for (const hop of hops) {
      // A later hop is reached through the one before; only the first makes a TCP connection.
      const options: ConnectOptions = through ? { ...hop, sock: through, proxyJump: 'none', proxyCommand: undefined } : { ...hop, proxyJump: hop.proxyJump ?? 'none' };
      const client = await connect(options);
      clients.push(client);
      const next = hops[clients.length];
      if (next) through = await client.openDirectTcpip({ host: next.host ?? '127.0.0.1', port: next.port ?? 22 });
    }
    const last = clients[clients.length - 1]!;
    const stream = await last.openDirectTcpip({ host, port });
    return { stream, dispose };
  } catch (err) {
    dispose();
    throw err;
  }
}
