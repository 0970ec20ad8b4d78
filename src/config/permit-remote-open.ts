// PermitRemoteOpen (ssh_config): where a server may have the client connect
// through a remote dynamic forward (`ssh -R port` with no target: the client
// serves SOCKS on the forwarded connections and connects where they ask).
// `any` (the default) or `none` alone, or `host:port` entries (`[v6]:port`),
// `*` standing for any host or any port. Other names are compared as written:
// no patterns, no name lookups (as ssh).

/** One `host:port` entry; `'*'` is any host or any port. */
export interface RemoteOpenEntry {
  readonly host: string;
  readonly port: number | '*';
}

/** What PermitRemoteOpen allows: everything, nothing, or the listed destinations. */
export type RemoteOpenRule = 'any' | 'none' | readonly RemoteOpenEntry[];

/** A bad PermitRemoteOpen value (ssh's words). */
export class PermitRemoteOpenError extends Error {}

/** The host and port of one entry, split as ssh's hpdelim does (`:` only; `[...]` for an IPv6 address). */
function entry(text: string): RemoteOpenEntry {
  let host: string;
  let rest: string | undefined;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    const after = close < 0 ? undefined : text[close + 1];
    if (close < 0 || (after !== undefined && after !== ':')) throw new PermitRemoteOpenError('missing host in permitremoteopen');
    host = text.slice(1, close);
    rest = after === ':' ? text.slice(close + 2) : undefined;
  } else {
    const m = /[:/]/.exec(text);
    if (m?.[0] === '/') throw new PermitRemoteOpenError('missing host in permitremoteopen');
    host = m ? text.slice(0, m.index) : text;
    rest = m ? text.slice(m.index + 1) : undefined;
  }
  if (rest === '*') return { host, port: '*' };
  const port = rest !== undefined && /^[0-9]{1,5}$/.test(rest) ? Number(rest) : 0;
  if (port < 1 || port > 65535) throw new PermitRemoteOpenError('bad port number in permitremoteopen');
  return { host, port };
}

/** The rule a PermitRemoteOpen line's arguments give (PermitRemoteOpenError for a bad one). */
export function parsePermitRemoteOpen(args: readonly string[]): RemoteOpenRule {
  if (args.length === 0 || args.includes('')) throw new PermitRemoteOpenError('missing permitremoteopen specification');
  const alone = args.find((a) => /^(any|none)$/i.test(a));
  if (alone !== undefined) {
    if (args.length > 1) throw new PermitRemoteOpenError(`keyword permitremoteopen "${alone}" argument must appear alone.`);
    return alone.toLowerCase() === 'none' ? 'none' : 'any';
  }
  return args.map(entry);
}

/**
 * Whether `rule` lets the client connect to `host`:`port` (the destination as
 * the SOCKS client named it: a name as sent, an address in its usual text).
 */
export function remoteOpenPermitted(rule: RemoteOpenRule, host: string, port: number): boolean {
  if (rule === 'any') return true;
  if (rule === 'none') return false;
  return rule.some((e) => (e.port === '*' || e.port === port) && (e.host === '*' || e.host === host));
}
