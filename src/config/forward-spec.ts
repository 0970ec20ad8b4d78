// Forwarding specs as ssh reads them (`-L`, `-R`, `-D`, `-W` and the
// LocalForward/RemoteForward/DynamicForward keywords): up to four
// colon-separated fields, a field in [brackets] taken literally (IPv6
// addresses), a backslash escaping the next character, and a field holding a
// `/` being a Unix socket path. Which field counts is decided by the number of
// fields and which of them are paths, exactly as readconf.c's parse_forward.
import { ConfigError } from '../errors.js';

/** One side of a forwarding: a TCP address or a Unix socket path. */
export type ForwardEndpoint =
  /** `host` absent: none was written (the listen side then binds per GatewayPorts). `''` and `'*'` mean every address. */
  | { readonly kind: 'tcp'; readonly host?: string; readonly port: number }
  | { readonly kind: 'unix'; readonly path: string };

/**
 * A parsed forwarding. `local` (-L) and `remote` (-R) carry `connect`;
 * `dynamic` (-D: SOCKS served locally) and `remote-dynamic` (-R [bind:]port:
 * SOCKS served by the client for connections the server accepts) do not.
 */
export type ForwardSpec =
  | { readonly type: 'local' | 'remote'; readonly listen: ForwardEndpoint; readonly connect: ForwardEndpoint }
  | { readonly type: 'dynamic' | 'remote-dynamic'; readonly listen: ForwardEndpoint };

/** Which flag or keyword the spec came from: -L/LocalForward, -R/RemoteForward, -D/DynamicForward. */
export type ForwardFlag = 'local' | 'remote' | 'dynamic';

const MAX_HOST = 1025; // NI_MAXHOST
const MAX_SOCKET_PATH = 108; // sizeof(sun_path) on Linux

interface Field {
  readonly arg: string;
  readonly isPath: boolean;
}

/** ssh's `${NAME}` expansion of forwarding specs; null when a variable is unset or a brace unclosed. */
function expandDollars(spec: string, env: Readonly<Record<string, string | undefined>>): string | null {
  let out = '';
  let i = 0;
  while (i < spec.length) {
    const at = spec.indexOf('${', i);
    if (at < 0) break;
    const end = spec.indexOf('}', at + 2);
    if (end < 0) return null;
    const value = env[spec.slice(at + 2, end)];
    if (value === undefined) return null;
    out += spec.slice(i, at) + value;
    i = end + 1;
  }
  return out + spec.slice(i);
}

/** Splits into at most four fields; null when the text does not split cleanly (bad brackets, a trailing backslash, a fifth field). */
function splitFields(text: string): Field[] | null {
  const fields: Field[] = [];
  let i = 0;
  while (i < text.length && fields.length < 4) {
    if (text[i] === '[') {
      const close = text.indexOf(']', i + 1);
      if (close < 0) return null;
      const after = text[close + 1];
      if (after !== undefined && after !== ':') return null;
      const arg = text.slice(i + 1, close);
      fields.push({ arg, isPath: arg.includes('/') });
      i = after === undefined ? close + 1 : close + 2;
      continue;
    }
    let arg = '';
    let isPath = false;
    let ended = false;
    while (i < text.length) {
      const c = text[i++]!;
      if (c === '\\') {
        if (i >= text.length) return null;
        arg += text[i++]!;
      } else if (c === ':') {
        ended = true;
        break;
      } else {
        if (c === '/') isPath = true;
        arg += c;
      }
    }
    fields.push({ arg, isPath });
    if (!ended) break;
  }
  return i < text.length ? null : fields;
}

/** ssh's a2port: a decimal 0–65535, else -1 (service names from /etc/services are not looked up). */
function toPort(s: string): number {
  if (!/^[0-9]{1,5}$/.test(s)) return -1;
  const n = Number(s);
  return n <= 65535 ? n : -1;
}

interface Raw {
  listenHost?: string;
  listenPort: number;
  listenPath?: string;
  connectHost?: string;
  connectPort: number;
  connectPath?: string;
}

/** parse_forward: the fields' meaning, or null where ssh returns 0. */
function parseRaw(spec: string, dynamic: boolean, remote: boolean, env: Readonly<Record<string, string | undefined>>): Raw | null {
  const expanded = expandDollars(spec, env);
  if (expanded === null) return null;
  const f = splitFields(expanded.replace(/^\s+/, ''));
  if (f === null) return null;
  const [a, b, c, d] = f;
  let r: Raw;
  if (f.length === 1 && a) {
    r = a.isPath ? { listenPath: a.arg, listenPort: -2, connectHost: 'socks', connectPort: 0 } : { listenPort: toPort(a.arg), connectHost: 'socks', connectPort: 0 };
  } else if (f.length === 2 && a && b) {
    if (a.isPath && b.isPath) r = { listenPath: a.arg, listenPort: -2, connectPath: b.arg, connectPort: -2 };
    else if (b.isPath) r = { listenPort: toPort(a.arg), connectPath: b.arg, connectPort: -2 };
    else r = { listenHost: a.arg, listenPort: toPort(b.arg), connectHost: 'socks', connectPort: 0 };
  } else if (f.length === 3 && a && b && c) {
    if (a.isPath) r = { listenPath: a.arg, listenPort: -2, connectHost: b.arg, connectPort: toPort(c.arg) };
    else if (c.isPath) r = { listenHost: a.arg, listenPort: toPort(b.arg), connectPath: c.arg, connectPort: -2 };
    else r = { listenPort: toPort(a.arg), connectHost: b.arg, connectPort: toPort(c.arg) };
  } else if (f.length === 4 && a && b && c && d) {
    r = { listenHost: a.arg, listenPort: toPort(b.arg), connectHost: c.arg, connectPort: toPort(d.arg) };
  } else {
    return null;
  }
  const n = f.length;
  if (dynamic) {
    if (n !== 1 && n !== 2) return null;
  } else {
    if (n !== 3 && n !== 4 && r.connectPath === undefined && r.listenPath === undefined) return null;
    if (r.connectPort <= 0 && r.connectPath === undefined) return null;
  }
  if (r.listenPort < 0 && r.listenPath === undefined) return null;
  if (!remote && r.listenPort === 0) return null;
  if ((r.connectHost?.length ?? 0) >= MAX_HOST || (r.listenHost?.length ?? 0) >= MAX_HOST) return null;
  if ((r.connectPath?.length ?? 0) >= MAX_SOCKET_PATH || (r.listenPath?.length ?? 0) >= MAX_SOCKET_PATH) return null;
  return r;
}

function listenOf(r: Raw): ForwardEndpoint {
  if (r.listenPath !== undefined) return { kind: 'unix', path: r.listenPath };
  return r.listenHost !== undefined ? { kind: 'tcp', host: r.listenHost, port: r.listenPort } : { kind: 'tcp', port: r.listenPort };
}

function connectOf(r: Raw): ForwardEndpoint {
  if (r.connectPath !== undefined) return { kind: 'unix', path: r.connectPath };
  return { kind: 'tcp', host: r.connectHost ?? '', port: r.connectPort };
}

const FLAG_WORD: Record<ForwardFlag, string> = { local: 'local', remote: 'remote', dynamic: 'dynamic' };

/**
 * Parses a `-L`, `-R` or `-D` argument as ssh does (`-R` falls back to remote
 * dynamic forwarding when it has no target). `${VAR}` is expanded from `env`.
 * A bad spec is a ConfigError with ssh's message, e.g.
 * "Bad local forwarding specification '8080'".
 */
export function parseForwardSpec(spec: string, flag: ForwardFlag, env: Readonly<Record<string, string | undefined>> = {}): ForwardSpec {
  const result = tryParseForward(spec, flag, env);
  if (!result) throw new ConfigError(`Bad ${FLAG_WORD[flag]} forwarding specification '${spec}'`);
  return result;
}

/** As parseForwardSpec, null instead of the error. */
export function tryParseForward(spec: string, flag: ForwardFlag, env: Readonly<Record<string, string | undefined>> = {}): ForwardSpec | null {
  if (flag === 'dynamic') {
    const r = parseRaw(spec, true, false, env);
    return r && { type: 'dynamic', listen: listenOf(r) };
  }
  const remote = flag === 'remote';
  const r = parseRaw(spec, false, remote, env);
  if (r) return { type: flag, listen: listenOf(r), connect: connectOf(r) };
  if (!remote) return null;
  const d = parseRaw(spec, true, true, env);
  return d && { type: 'remote-dynamic', listen: listenOf(d) };
}

/**
 * Parses `-W host:port` (or `-W /socket`); a ConfigError with ssh's message
 * "Bad stdio forwarding specification '…'" otherwise.
 */
export function parseStdioForward(spec: string, env: Readonly<Record<string, string | undefined>> = {}): ForwardEndpoint {
  const r = parseRaw(spec, true, false, env);
  const to = r && listenOf(r);
  if (!to || (to.kind === 'tcp' && to.host === undefined)) throw new ConfigError(`Bad stdio forwarding specification '${spec}'`);
  return to;
}

function fieldText(s: string): string {
  return s.includes(':') || s.startsWith('[') ? `[${s}]` : s.replace(/\\/g, '\\\\');
}

function endpointText(e: ForwardEndpoint): string {
  if (e.kind === 'unix') return fieldText(e.path);
  return e.host === undefined ? String(e.port) : `${fieldText(e.host)}:${e.port}`;
}

/**
 * The keyword arguments that give `spec` back (`LocalForward <listen> <connect>`,
 * `RemoteForward <listen>` for remote dynamic ...): how a `-L/-R/-D` flag
 * becomes a config line.
 */
export function forwardArguments(spec: ForwardSpec): string[] {
  return spec.type === 'local' || spec.type === 'remote' ? [endpointText(spec.listen), endpointText(spec.connect)] : [endpointText(spec.listen)];
}

/** How `ssh -G` prints one side: a path, a bare port, or `[host]:port`. */
export function printEndpoint(e: ForwardEndpoint): string {
  if (e.kind === 'unix') return e.path;
  return e.host === undefined ? String(e.port) : `[${e.host}]:${e.port}`;
}
