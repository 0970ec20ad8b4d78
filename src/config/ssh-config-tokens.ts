// `%` tokens, `${VAR}` and `~` as ssh expands them in ssh_config values
// (ssh_config(5) TOKENS). Which keyword takes which tokens is in the table
// below; a token not allowed there is an error, as ssh's percent_expand
// makes it fatal.
import { createHash } from 'node:crypto';
import { ConfigError } from '../errors.js';

/** What the tokens stand for. */
export interface TokenValues {
  /** %h: the remote host name (after HostName). */
  readonly host: string;
  /** %n: the host as given on the command line. */
  readonly originalHost: string;
  /** %p */
  readonly port: number;
  /** %r: the remote user. */
  readonly remoteUser: string;
  /** %u: the local user. */
  readonly localUser: string;
  /** %l: the local host name with domain; %L is its first label. */
  readonly localHost: string;
  /** %d: the local home directory. */
  readonly home: string;
  /** %i: the local uid. */
  readonly uid: number;
  /** %j: the ProxyJump hosts ('' if none). */
  readonly jumpHost: string;
  /** %k: HostKeyAlias, else the original host. */
  readonly keyAlias: string;
}

const ALL = 'CdhijkLlnprTu%';

/** Tokens each keyword accepts (ssh_config(5)); the keyword is as written in the table of keywords. */
export const TOKENS_BY_KEYWORD: Readonly<Record<string, string>> = {
  CertificateFile: ALL,
  ControlPath: ALL,
  IdentityAgent: ALL,
  IdentityFile: ALL,
  LocalForward: ALL,
  RemoteForward: ALL,
  RemoteCommand: ALL,
  RevokedHostKeys: ALL,
  UserKnownHostsFile: ALL,
  ForwardAgent: ALL,
  'Match exec': ALL,
  Include: ALL,
  HostName: 'h%',
  User: 'dhiLlnpu%',
  ProxyCommand: 'hnpr%',
  ProxyJump: 'hnpr%',
};

/** %C: SHA-1 of %l%h%p%r%j, in hex, as ssh's ssh_connection_hash. */
export function connectionHash(v: TokenValues): string {
  return createHash('sha1').update(`${v.localHost}${v.host}${v.port}${v.remoteUser}${v.jumpHost}`).digest('hex');
}

function tokenValue(t: string, v: TokenValues): string {
  switch (t) {
    case '%':
      return '%';
    case 'C':
      return connectionHash(v);
    case 'd':
      return v.home;
    case 'h':
      return v.host;
    case 'i':
      return String(v.uid);
    case 'j':
      return v.jumpHost;
    case 'k':
      return v.keyAlias;
    case 'L':
      return v.localHost.split('.')[0] ?? '';
    case 'l':
      return v.localHost;
    case 'n':
      return v.originalHost;
    case 'p':
      return String(v.port);
    case 'r':
      return v.remoteUser;
    case 'T':
      return 'NONE';
    default:
      return v.localUser; // 'u'
  }
}

/** Expands `%x` tokens of `text` allowed for `keyword`; a ConfigError names an unknown or unallowed one. */
export function expandTokens(text: string, keyword: string, values: TokenValues): string {
  const allowed = TOKENS_BY_KEYWORD[keyword] ?? '%';
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c !== '%') {
      out += c;
      continue;
    }
    const t = text[++i];
    if (t === undefined) throw new ConfigError(`${keyword} "${text}": a lone % at the end (write %% for a percent sign)`);
    if (!allowed.includes(t)) throw new ConfigError(`${keyword} "${text}": unknown or unallowed token %${t}`);
    out += tokenValue(t, values);
  }
  return out;
}

/** Expands `${NAME}` from `env`; a ConfigError for an unset variable or an unclosed brace. */
export function expandEnvironment(text: string, keyword: string, env: Readonly<Record<string, string | undefined>>): string {
  let out = '';
  let i = 0;
  for (;;) {
    const at = text.indexOf('${', i);
    if (at < 0) return out + text.slice(i);
    const end = text.indexOf('}', at + 2);
    if (end < 0) throw new ConfigError(`${keyword} "${text}": unclosed \${`);
    const name = text.slice(at + 2, end);
    const value = env[name];
    if (value === undefined) throw new ConfigError(`${keyword} "${text}": environment variable ${name} is not set`);
    out += text.slice(i, at) + value;
    i = end + 1;
  }
}

/** `~` and `~/…` to the home directory (`~user` is left as is: no user database here). */
export function expandTilde(path: string, home: string): string {
  if (path === '~') return home;
  if (path.startsWith('~/')) return home.replace(/\/$/, '') + path.slice(1);
  return path;
}

/** Tokens, then `${VAR}`, then `~`: what ssh does to path-like values. */
export function expandPath(text: string, keyword: string, values: TokenValues, env: Readonly<Record<string, string | undefined>>): string {
  return expandTilde(expandTokens(expandEnvironment(text, keyword, env), keyword, values), values.home);
}

/** A path value as ssh expands it before -G: `~`, `${VAR}`, then tokens. */
export function expandConfigPath(value: string, keyword: string, tokens: TokenValues, env: Readonly<Record<string, string | undefined>>): string {
  return expandTokens(expandEnvironment(expandTilde(value, tokens.home), keyword, env), keyword, tokens);
}
