// ProxyJump / `ssh -J`: reach the server through a chain of SSH servers,
// each hop connected through the previous one's direct-tcpip channel and
// checked like the target (same host key policy, credentials and callbacks),
// with its own user and port. The hops close when the connection does.
import type { Duplex } from 'node:stream';
import { DisconnectReason, NacreError } from '../errors.js';
import type { ConnectOptions } from './options.js';
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

/**
 * Connects through the hops of `jump` and opens the stream to `host:port` on
 * the last; `connect` is the library's own (a hop is a full connection).
 * Resolves with that stream and a function that closes the hops, last first.
 */
export async function connectThroughJumps(
  base: ConnectOptions,
  jump: string | readonly ConnectOptions[],
  host: string,
  port: number,
  connect: (options: ConnectOptions) => Promise<JumpClient>,
): Promise<{ stream: Duplex; dispose: () => void } | null> {
  // A hop named in a string takes no ProxyJump of its own from ssh_config
  // (`Host * / ProxyJump bastion` would otherwise reach bastion through itself).
  const named: readonly ConnectOptions[] = typeof jump === 'string' ? parseProxyJump(jump).map((h) => ({ ...hopOptions(base, h), proxyJump: 'none' })) : jump;
  // Each hop's own ssh_config entry, resolved now: the hop before must open
  // its channel to the HostName and Port found there, not to the alias.
  const hops = named.map((o) => applySshConfig(o));
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
