// Resolving the options for one host as ssh does: command-line lines first,
// then the user's file (or the -F one), then the system file; in each, the
// lines inside matching Host/Match blocks count, the first value of a keyword
// wins (list keywords add up), Include reads more files in place. If a
// `Match final` appeared, everything is read a second time with the host
// name now final. File access, the glob and `Match exec` come from the
// caller (src/io/node/ssh-config-files.ts on Node).
import { ConfigError } from '../errors.js';
import { lexLine, quoteArgument } from './ssh-config-lex.js';
import { KEYWORDS, UNSUPPORTED_KEYWORDS, VALUES_NACRE_HONOURS, ValueError, type KeywordName, type KeywordValues } from './ssh-config-keywords.js';
import { evaluateMatch, hostLineMatches, matchPatternList } from './ssh-config-match.js';
import { expandEnvironment, expandTilde, expandTokens, type TokenValues } from './ssh-config-tokens.js';

/** What the resolver needs from the outside world. */
export interface SshConfigIO {
  /**
   * A file's text, or null when it does not exist (other failures throw).
   * With `checkPermissions` (~/.ssh/config and included files, as ssh), a
   * file writable by group or others, or owned by another user than root
   * and this one, is refused (ConfigError "Bad owner or permissions").
   */
  readFile(path: string, checkPermissions: boolean): string | null;
  /** The paths matching a glob pattern (absolute pattern, `~` already expanded), sorted; [] for none. */
  glob(pattern: string): readonly string[];
  /** Runs a `Match exec` command with the user's shell; true when it exits 0. */
  exec(command: string): boolean;
  readonly localUser: string;
  /** The local host name with its domain (%l). */
  readonly localHost: string;
  readonly home: string;
  readonly uid: number;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The addresses of the local interfaces, for `Match localnetwork` (absent: it warns and does not match). */
  readonly localAddresses?: readonly string[];
}

export interface SshConfigRequest {
  /** The destination as typed (an alias or a host name; no user@ or :port). */
  readonly host: string;
  /**
   * Option lines that come before the files, in order (`-o` values, and what
   * ssh's flags become: see flagToConfigLine). A `user@` or `:port` in the
   * destination goes last, as `User x` / `Port n`.
   */
  readonly commandLine?: readonly string[];
  /** `ssh -F`: read this file only (`'none'`: no file at all). */
  readonly configFile?: string;
  /** Default `~/.ssh/config`. */
  readonly userConfigFile?: string;
  /** Default `/etc/ssh/ssh_config`. */
  readonly systemConfigFile?: string;
  /** The remote command, if any (`Match command`, `Match sessiontype exec`). */
  readonly command?: string;
  /** `Match sessiontype`: default 'exec' with a command, else 'shell' (SessionType none/subsystem win). */
  readonly sessionType?: 'shell' | 'exec' | 'subsystem' | 'none';
  /** `Match version`'s subject; default 'Nacre'. */
  readonly version?: string;
}

/** The options for one host. */
export interface SshConfig {
  /** The destination as typed (%n). */
  readonly host: string;
  /** The host to connect to: HostName (%h expanded) or the destination, lower-cased (%h). */
  readonly hostName: string;
  /** User, else the local user. */
  readonly user: string;
  /** Port, else 22. */
  readonly port: number;
  /** Every keyword that was set, as read (tokens not expanded). */
  readonly values: Readonly<Partial<KeywordValues>>;
  /** The values of the % tokens for this host. */
  readonly tokens: TokenValues;
  /** Warnings (keywords Nacre does not support), each naming file and line. */
  readonly warnings: readonly string[];
}

const MAX_INCLUDE_DEPTH = 16;

// ssh's valid_hostname and valid_ruser: no shell metacharacters, white space
// or control characters (a user may hold spaces, but no ` -` and no final `\`).
const CONTROL = /[\x00-\x1f\x7f]/;
function validHostName(s: string): boolean {
  return !s.startsWith('-') && !/['`"$\\;&<>|(){},\s]/.test(s) && !CONTROL.test(s);
}
function validRemoteUser(s: string): boolean {
  return !s.startsWith('-') && !/['`";&<>|(){}]/.test(s) && !CONTROL.test(s) && !/\s-/.test(s) && !s.endsWith('\\');
}
const COMMAND_LINE = 'command-line';

interface Pass {
  readonly io: SshConfigIO;
  readonly request: SshConfigRequest;
  readonly values: Partial<KeywordValues>;
  readonly warnings: string[];
  readonly warned: Set<string>;
  /** The host Host lines match against. */
  readonly host: string;
  readonly finalPass: boolean;
  wantsFinal: boolean;
}

interface FileState {
  readonly file: string;
  readonly userConfig: boolean;
  readonly neverMatch: boolean;
  readonly depth: number;
  active: boolean;
}

function sameEntry(name: KeywordName, a: unknown, b: unknown): boolean {
  if (name === 'SetEnv') return String(a).split('=')[0] === String(b).split('=')[0];
  if (name === 'SendEnv') return false;
  return JSON.stringify(a) === JSON.stringify(b);
}

function store(values: Partial<KeywordValues>, name: KeywordName, value: unknown, accumulates: boolean): void {
  const v = values as Record<string, unknown>;
  if (accumulates) {
    // ssh ignores a repeated identity, certificate, forwarding or SetEnv name (the final pass reads everything again).
    const list = [...((v[name] as unknown[] | undefined) ?? [])];
    for (const item of value as unknown[]) if (!list.some((old) => sameEntry(name, old, item))) list.push(item);
    v[name] = list;
  } else if (v[name] === undefined) {
    v[name] = value;
  }
}

function partialTokens(pass: Pass): TokenValues {
  return baseTokens(pass.io, pass.request.host, currentHost(pass), pass.values);
}

/** The host Match criteria see: HostName so far (%h expanded), else the host typed; on the final pass, the final name. */
function currentHost(pass: Pass): string {
  if (pass.finalPass) return pass.host;
  const hn = pass.values.HostName;
  return hn === undefined ? pass.request.host : expandTokens(hn, 'HostName', baseTokens(pass.io, pass.request.host, pass.request.host, pass.values));
}

/** %j: the host of ProxyJump's last hop, as ssh keeps it ('' without one). */
function jumpHostToken(jump: string | undefined): string {
  if (jump === undefined || jump === 'none') return '';
  const last = jump.slice(jump.lastIndexOf(',') + 1);
  const m = /^(?:ssh:\/\/)?(?:[^@]*@)?(\[[^\]]*\]|[^:/]*)/.exec(last);
  return (m?.[1] ?? last).replace(/^\[|\]$/g, '');
}

function baseTokens(io: SshConfigIO, original: string, host: string, v: Partial<KeywordValues>): TokenValues {
  return {
    host,
    originalHost: original,
    port: v.Port ?? 22,
    remoteUser: v.User ?? io.localUser,
    localUser: io.localUser,
    localHost: io.localHost,
    home: io.home,
    uid: io.uid,
    jumpHost: jumpHostToken(v.ProxyJump),
    keyAlias: v.HostKeyAlias ?? original,
  };
}

function processLine(pass: Pass, st: FileState, line: string, lineNo: number): void {
  try {
    processLineAt(pass, st, line, { file: st.file, line: lineNo });
  } catch (err) {
    // Token and ${VAR} errors (Include paths, Match exec) get the line they came from.
    if (err instanceof ConfigError && err.file === undefined) throw new ConfigError(err.message, { file: st.file, line: lineNo }, { cause: err });
    throw err;
  }
}

function processLineAt(pass: Pass, st: FileState, line: string, where: { file: string; line: number }): void {
  const lexed = lexLine(line);
  if (lexed === 'empty') return;
  if ('error' in lexed) throw new ConfigError(lexed.error, where);
  const { keyword, args, rest } = lexed;
  const cmdline = st.file === COMMAND_LINE;
  if (keyword === 'host') {
    if (cmdline) throw new ConfigError('Host directive not supported as a command-line option', where);
    if (args.some((a) => a === '')) throw new ConfigError('keyword host empty argument', where);
    st.active = !st.neverMatch && hostLineMatches(pass.host, args);
    return;
  }
  if (keyword === 'match') {
    if (cmdline) throw new ConfigError('Match directive not supported as a command-line option', where);
    const outcome = evaluateMatch(args, matchSubject(pass), (m) => warnOnce(pass, where, m));
    if ('error' in outcome) throw new ConfigError(outcome.error, where);
    if (outcome.wantsFinal) pass.wantsFinal = true;
    st.active = !st.neverMatch && outcome.matches;
    return;
  }
  if (keyword === 'include') {
    if (cmdline) throw new ConfigError('Include directive not supported as a command-line option', where);
    include(pass, st, args, where);
    return;
  }
  if (keyword === 'refuseconnection') {
    // OpenSSH 10.1: an applying RefuseConnection ends ssh before it connects, its argument the message.
    if (args.length === 0 || args[0] === '') throw new ConfigError('RefuseConnection: Missing argument.', where);
    if (args.length > 1) throw new ConfigError(`RefuseConnection: garbage at end of line: "${args[1]}"`, where);
    if (st.active) throw new ConfigError(`RefuseConnection: ${args[0]}`, where);
    return;
  }
  const spec = KEYWORDS.get(keyword);
  if (!spec) {
    if (UNSUPPORTED_KEYWORDS.has(keyword)) {
      // A value asking for what Nacre does anyway (ForwardX11 no ...) is not worth a warning.
      if (!VALUES_NACRE_HONOURS.get(keyword)?.includes((args[0] ?? '').toLowerCase())) {
        warnOnce(pass, where, `Unsupported option "${keyword}" (not implemented by Nacre): ignored`);
      }
      return;
    }
    const ignore = pass.values.IgnoreUnknown;
    if (ignore !== undefined && matchPatternList(keyword, ignore, true) === 1) return;
    throw new ConfigError(`Bad configuration option: ${keyword}`, where);
  }
  let value: unknown;
  try {
    value = spec.read(args, rest);
  } catch (err) {
    if (err instanceof ValueError) throw new ConfigError(`${spec.name}: ${err.message}`, where);
    throw err;
  }
  // ProxyJump and ProxyCommand exclude each other: the first one given wins.
  const v = pass.values;
  if ((spec.name === 'ProxyCommand' && v.ProxyJump !== undefined) || (spec.name === 'ProxyJump' && v.ProxyCommand !== undefined)) return;
  if (st.active) store(v, spec.name, value, spec.accumulates === true);
}

function warnOnce(pass: Pass, where: { file: string; line: number }, message: string): void {
  const key = `${where.file}:${where.line}`;
  if (pass.warned.has(key)) return;
  pass.warned.add(key);
  pass.warnings.push(`${where.file} line ${where.line}: ${message}`);
}

function matchSubject(pass: Pass) {
  const v = pass.values;
  const command = pass.request.command ?? v.RemoteCommand ?? '';
  const sessionType =
    v.SessionType === 'none' ? 'none' : v.SessionType === 'subsystem' ? 'subsystem' : (pass.request.sessionType ?? (command !== '' ? 'exec' : 'shell'));
  return {
    host: currentHost(pass),
    originalHost: pass.request.host,
    user: v.User ?? pass.io.localUser,
    localUser: pass.io.localUser,
    version: pass.request.version ?? 'Nacre',
    sessionType,
    command,
    tag: v.Tag ?? '',
    finalPass: pass.finalPass,
    ...(pass.io.localAddresses !== undefined ? { localAddresses: pass.io.localAddresses } : {}),
    exec: (cmd: string) => pass.io.exec(expandTokens(cmd, 'Match exec', partialTokens(pass))),
  };
}

function include(pass: Pass, st: FileState, args: readonly string[], where: { file: string; line: number }): void {
  if (st.depth >= MAX_INCLUDE_DEPTH) throw new ConfigError('Too many recursive configuration includes', where);
  for (const arg of args) {
    if (arg === '') throw new ConfigError('keyword include empty argument', where);
    if (arg.startsWith('~') && !st.userConfig) throw new ConfigError(`bad include path ${arg}.`, where);
    let path = arg.startsWith('/') || arg.startsWith('~') ? arg : `${st.userConfig ? '~/.ssh' : '/etc/ssh'}/${arg}`;
    path = expandTilde(expandTokens(expandEnvironment(path, 'Include', pass.io.env), 'Include', partialTokens(pass)), pass.io.home);
    const outer = st.active;
    for (const file of pass.io.glob(path)) {
      const text = pass.io.readFile(file, true);
      if (text === null) continue;
      const inner: FileState = { file, userConfig: st.userConfig, neverMatch: st.neverMatch || !outer, depth: st.depth + 1, active: outer };
      readText(pass, inner, text);
      // A Match inside the included file does not change the including file's state.
      st.active = outer;
    }
  }
}

function readText(pass: Pass, st: FileState, text: string): void {
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) processLine(pass, st, lines[i]!, i + 1);
}

function readFile(pass: Pass, file: string, userConfig: boolean, mustExist: boolean, checkPermissions: boolean): void {
  const path = expandTilde(file, pass.io.home);
  const text = pass.io.readFile(path, checkPermissions);
  if (text === null) {
    if (mustExist) throw new ConfigError(`Can't open user config file ${path}: No such file or directory`);
    return;
  }
  readText(pass, { file: path, userConfig, neverMatch: false, depth: 0, active: true }, text);
}

function runPass(io: SshConfigIO, request: SshConfigRequest, values: Partial<KeywordValues>, host: string, finalPass: boolean): Pass {
  const pass: Pass = { io, request, values, warnings: [], warned: new Set(), host, finalPass, wantsFinal: false };
  const cmd: FileState = { file: COMMAND_LINE, userConfig: true, neverMatch: false, depth: 0, active: true };
  (request.commandLine ?? []).forEach((line, i) => processLine(pass, cmd, line, i + 1));
  if (request.configFile !== undefined) {
    if (request.configFile !== 'none') readFile(pass, request.configFile, true, true, false);
  } else {
    readFile(pass, request.userConfigFile ?? '~/.ssh/config', true, false, true);
    readFile(pass, request.systemConfigFile ?? '/etc/ssh/ssh_config', false, false, false);
  }
  return pass;
}

/**
 * The options for `request.host` (ConfigError naming file and line for a
 * bad line, an unknown keyword, a bad value).
 */
export function resolveSshConfig(request: SshConfigRequest, io: SshConfigIO): SshConfig {
  // As ssh: what is typed as the host may not carry shell syntax into %h (ProxyCommand, Match exec).
  if (!validHostName(request.host)) throw new ConfigError('hostname contains invalid characters');
  const values: Partial<KeywordValues> = {};
  const first = runPass(io, request, values, request.host, false);
  // As ssh: HostName's %h is expanded once, after the first pass, and the result lower-cased.
  const hostName = (values.HostName !== undefined ? expandTokens(values.HostName, 'HostName', baseTokens(io, request.host, request.host, values)) : request.host).toLowerCase();
  let warnings = first.warnings;
  if (first.wantsFinal) {
    // The final pass reads everything again on top of what the first one set, the host name now fixed.
    (values as Record<string, unknown>).HostName = hostName;
    const final = runPass(io, request, values, hostName, true);
    warnings = [...warnings, ...final.warnings.filter((w) => !warnings.includes(w))];
  }
  // User takes ${VAR} and some tokens, expanded once the host is known (as ssh does).
  const user = values.User === undefined ? io.localUser : expandTokens(expandEnvironment(values.User, 'User', io.env), 'User', baseTokens(io, request.host, hostName, values));
  if (!validRemoteUser(user)) throw new ConfigError('remote username contains invalid characters');
  return {
    host: request.host,
    hostName,
    user,
    port: values.Port ?? 22,
    values,
    tokens: { ...baseTokens(io, request.host, hostName, values), remoteUser: user },
    warnings,
  };
}

const FLAG_KEYWORDS: Readonly<Record<string, string>> = {
  p: 'Port',
  l: 'User',
  i: 'IdentityFile',
  L: 'LocalForward',
  R: 'RemoteForward',
  D: 'DynamicForward',
  J: 'ProxyJump',
  c: 'Ciphers',
  m: 'MACs',
  b: 'BindAddress',
  e: 'EscapeChar',
  S: 'ControlPath',
};

/**
 * The config line ssh makes of a flag with an argument (`-p 2222` →
 * `Port 2222`, `-L 8080:h:80` → `LocalForward 8080 h:80`), for
 * SshConfigRequest.commandLine; null for a flag that is not a keyword.
 * Forwarding specs must have been checked with parseForwardSpec (which gives
 * ssh's usage error); pass `args` from forwardArguments().
 */
export function flagToConfigLine(flag: string, value: string | readonly string[]): string | null {
  const keyword = FLAG_KEYWORDS[flag];
  if (keyword === undefined) return null;
  const args = typeof value === 'string' ? [value] : value;
  return `${keyword} ${args.map(quoteArgument).join(' ')}`;
}
