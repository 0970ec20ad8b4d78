// How scp(1) reads its operands: `[user@]host:[path]` (a colon before any
// slash; `[v6addr]:path` bracketed; a leading colon or a slash before the
// colon makes it a local name), `scp://[user@]host[:port][/path]` (the path
// after the first slash is relative to the home directory, %-escapes
// decoded), anything else local. Also the path helpers scp's SFTP mode uses:
// `~` and `~/` as the remote home, basename(3), joining. Pure.
import { cleanHost, hostColon } from '../common/host-colon.js';

export interface LocalOperand {
  readonly kind: 'local';
  readonly path: string;
}

export interface RemoteOperand {
  readonly kind: 'remote';
  readonly user?: string;
  readonly host: string;
  readonly port?: number;
  /** "." when none was given (the remote home). */
  readonly path: string;
}

export type Operand = LocalOperand | RemoteOperand;

/** A malformed `scp://` URI or target: scp's message, without "scp: ". */
export class OperandError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OperandError';
  }
}

export { hostColon };

/** `[user@]host:[path]`, or null for a local name. */
export function parseUserHostPath(text: string): RemoteOperand | null {
  const colon = hostColon(text);
  if (colon < 0) return null;
  const path = text.slice(colon + 1) || '.';
  const userHost = text.slice(0, colon);
  const at = userHost.lastIndexOf('@');
  const host = cleanHost(at >= 0 ? userHost.slice(at + 1) : userHost);
  const user = at > 0 ? userHost.slice(0, at) : undefined;
  return { kind: 'remote', host, path, ...(user !== undefined ? { user } : {}) };
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new OperandError('invalid uri');
  }
}

function parsePortText(text: string): number {
  if (!/^\d{1,5}$/.test(text) || Number(text) < 1 || Number(text) > 65535) throw new OperandError('invalid uri');
  return Number(text);
}

/** A host name as OpenSSH's valid_domain allows in a URI: letters, digits, '-', '.', '_'. */
function validUriHost(host: string): boolean {
  return /^[A-Za-z0-9._-]+$/.test(host) && !host.startsWith('-') && !host.startsWith('.');
}

/**
 * `scp://[user[;params]@]host[:port][/path]`, or null when `text` is not an
 * scp URI. OperandError for a malformed one. The path after the first slash
 * is taken as is (relative to the home directory); none gives ".".
 */
export function parseScpUri(text: string): RemoteOperand | null {
  if (!text.startsWith('scp://')) return null;
  let rest = text.slice('scp://'.length);
  let user: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    const info = rest.slice(0, at);
    const name = info.split(';')[0]!;
    if (name === '') throw new OperandError('invalid uri');
    user = decode(name);
    rest = rest.slice(at + 1);
  }
  let host: string;
  let after: string;
  let delimiter: string | undefined;
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close < 0) throw new OperandError('invalid uri');
    host = rest.slice(1, close);
    after = rest.slice(close + 1);
    if (after !== '' && after[0] !== ':' && after[0] !== '/') throw new OperandError('invalid uri');
    delimiter = after[0];
    after = after.slice(1);
    // OpenSSH's valid_domain refuses an address's colons: `scp://[::1]/` is an invalid URI there too.
    if (!validUriHost(host)) throw new OperandError('invalid uri');
  } else {
    const m = /[:/]/.exec(rest);
    host = m ? rest.slice(0, m.index) : rest;
    delimiter = m?.[0];
    after = m ? rest.slice(m.index + 1) : '';
    if (host === '' || !validUriHost(host)) throw new OperandError('invalid uri');
  }
  let port: number | undefined;
  if (delimiter === ':') {
    const slash = after.indexOf('/');
    port = parsePortText(slash >= 0 ? after.slice(0, slash) : after);
    after = slash >= 0 ? after.slice(slash + 1) : '';
  }
  const path = after !== '' ? decode(after) : '.';
  return { kind: 'remote', host, path, ...(user !== undefined ? { user } : {}), ...(port !== undefined ? { port } : {}) };
}

/** One operand: a URI, `[user@]host:path`, or a local path. OperandError for a bad URI. */
export function parseOperand(text: string): Operand {
  return parseScpUri(text) ?? parseUserHostPath(text) ?? { kind: 'local', path: text };
}

/** Whether scp takes the target as remote (what decides between its upload and download paths). */
export function isRemoteText(text: string): boolean {
  return text.startsWith('scp://') || hostColon(text) >= 0;
}

/**
 * Whether scp lets a user name through (its okname): no quotes, backquote,
 * space or '#', nothing outside ASCII. The refusal's message otherwise.
 */
export function badUserName(user: string): string | null {
  for (const c of user) {
    if (c.codePointAt(0)! >= 0x80 || `'"\` #`.includes(c)) return `${user}: invalid user name`;
  }
  return null;
}

/**
 * A remote path as scp's SFTP mode sends it: empty and `~` are the home
 * directory ("."), `~/x` is "x" relative to it; `~user/...` needs the
 * server's expand-path extension (returned as 'expand').
 */
export function prepareRemotePath(path: string): { path: string } | { expand: string } {
  if (path === '' || path === '~') return { path: '.' };
  if (!path.startsWith('~')) return { path };
  if (path.startsWith('~/')) {
    const rest = path.slice(2).replace(/^\/+/, '');
    return { path: rest === '' ? '.' : rest };
  }
  return { expand: path };
}

/** basename(3): the last component, trailing slashes ignored; "/" for "/", "." for "". */
export function baseName(path: string): string {
  if (path === '') return '.';
  const trimmed = path.replace(/\/+$/, '');
  if (trimmed === '') return '/';
  return trimmed.slice(trimmed.lastIndexOf('/') + 1);
}

/** `dir/name` with one slash between, as sftp's path_append. */
export function pathAppend(dir: string, name: string): string {
  if (dir === '') return name;
  return dir.endsWith('/') ? dir + name : `${dir}/${name}`;
}

/**
 * The name a source gets under a target directory: its basename, with `..`
 * (and `.`) copied into the directory itself, as scp does.
 */
export function nameUnderDirectory(source: string): string {
  const b = baseName(source);
  return b === '..' ? '.' : b;
}
