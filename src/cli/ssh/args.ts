// nacre's command line, read as ssh(1) reads it: ssh's own getopt string,
// options also after the destination (ssh parses again after it), and each
// flag turned into the ssh_config line ssh makes of it (-p → Port, -i →
// IdentityFile, -L → LocalForward, -o lines verbatim ...). The lines go to the
// ssh_config resolver ahead of the files, so flags win as in ssh. -L/-R/-D
// are read by the library's forwarding parser, as ssh reads them when it
// meets the flag. Pure.
import { getopt, UsageError, type ParsedOption } from '../common/getopt.js';
import { statSync } from 'node:fs';
import { CliExit, strerror } from '../common/exit.js';
import { parseEscapeChar } from './escape.js';
import { flagToConfigLine, forwardArguments, tryParseForward, type ForwardFlag } from '../../mux-entry.js';

/** OpenSSH 10's getopt string for ssh. */
export const SSH_GETOPT = '1246ab:c:e:fgi:kl:m:no:p:qstvxAB:CD:E:F:GI:J:KL:MNO:P:Q:R:S:TVw:W:XYy';

/** What ssh's usage() prints (then exit 255). */
export const NACRE_USAGE = `usage: nacre [-46AaCfGgKkMNnqsTtVvXxYy] [-B bind_interface] [-b bind_address]
           [-c cipher_spec] [-D [bind_address:]port] [-E log_file]
           [-e escape_char] [-F configfile] [-I pkcs11] [-i identity_file]
           [-J destination] [-L address] [-l login_name] [-m mac_spec]
           [-O ctl_cmd] [-o option] [-P tag] [-p port] [-R address]
           [-S ctl_path] [-W host:port] [-w local_tun[:remote_tun]]
           destination [command [argument ...]]
       nacre [-Q query_option]
`;

/** A command line ssh would refuse: the message (possibly empty) goes before the usage text. */
export class NacreUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NacreUsageError';
  }
}

export interface NacreArgs {
  /**
   * ssh_config lines the flags stand for, in the order the resolver should
   * see them (first value wins): single-valued flags first (the last such
   * flag wins, as in ssh), then -o lines and repeatable flags in the order
   * given, then the destination's user and port.
   */
  readonly configLines: readonly string[];
  /** -F: the only config file to read ("none": none). */
  readonly configFile?: string;
  /** The destination as typed, and what it names. */
  readonly destination?: string;
  readonly host?: string;
  readonly destinationUser?: string;
  readonly destinationPort?: number;
  /** The remote command's words (joined with spaces, as ssh does). */
  readonly command: readonly string[];
  /** -v count and -q. */
  readonly verbose: number;
  readonly quiet: boolean;
  /** -E log_file: diagnostics go there instead of stderr. */
  readonly logFile?: string;
  /** -G, -V, -Q query, -O ctl_cmd. */
  readonly printConfig: boolean;
  readonly printVersion: boolean;
  readonly query?: string;
  readonly controlCommand?: string;
  /** -s: the command names a subsystem. */
  readonly subsystem: boolean;
  /** -W host:port, as given (the fwd module parses it). */
  readonly stdioForward?: string;
  /** -f: to the background after authentication. */
  readonly forkAfterAuthentication: boolean;
  /** Flags Nacre reads but does nothing with (X11, GSSAPI, tun, pkcs11, syslog), for a note under -v. */
  readonly ignored: readonly string[];
  /** What ssh prints on standard error as it reads its options (an -i file it cannot reach). */
  readonly warnings: readonly string[];
}

/**
 * ssh's check of an `-i` file as it reads the option: the path (`~/`
 * expanded) and why it cannot be reached, or null when it can be. Such a file
 * is left out, with a warning, and the default identities then apply.
 */
export type IdentityFileCheck = (path: string) => { readonly path: string; readonly reason: string } | null;

/** The check on the real file system; `home` for `~/`. */
export function identityFileCheck(home: string | undefined): IdentityFileCheck {
  return (path) => {
    const expanded = home !== undefined && (path === '~' || path.startsWith('~/')) ? home.replace(/\/$/, '') + path.slice(1) : path;
    try {
      statSync(expanded);
      return null;
    } catch (err) {
      return { path: expanded, reason: strerror(err) };
    }
  };
}

/** Flags whose config line is single-valued: a later flag replaces an earlier one. */
function singleLine(o: ParsedOption, tCount: { n: number }, mCount: { n: number }): string | null {
  const v = o.value ?? '';
  switch (o.flag) {
    case '4':
      return 'AddressFamily inet';
    case '6':
      return 'AddressFamily inet6';
    case 'A':
      return 'ForwardAgent yes';
    case 'a':
      return 'ForwardAgent no';
    case 'b':
      return `BindAddress ${v}`;
    case 'C':
      return 'Compression yes';
    case 'c':
      return `Ciphers ${v}`;
    case 'e':
      return `EscapeChar ${v}`;
    case 'f':
      return 'ForkAfterAuthentication yes';
    case 'g':
      return 'GatewayPorts yes';
    case 'J':
      return `ProxyJump ${v}`;
    case 'k':
      return 'GSSAPIDelegateCredentials no';
    case 'l':
      return `User ${v}`;
    case 'M':
      mCount.n++;
      return `ControlMaster ${mCount.n > 1 ? 'ask' : 'yes'}`;
    case 'm':
      return `MACs ${v}`;
    case 'N':
      return 'SessionType none';
    case 'n':
      return 'StdinNull yes';
    case 'P':
      return `Tag ${v}`;
    case 'p':
      return `Port ${v}`;
    case 'S':
      return `ControlPath ${v}`;
    case 's':
      return 'SessionType subsystem';
    case 'T':
      return 'RequestTTY no';
    case 't':
      tCount.n++;
      return `RequestTTY ${tCount.n > 1 ? 'force' : 'yes'}`;
    case 'x':
      return 'ForwardX11 no';
    default:
      return null;
  }
}

/** The keyword of a config line (`Port 22`, `Port=22`), lower-cased. */
export function lineKeyword(line: string): string {
  return (/^\s*([A-Za-z0-9]+)/.exec(line)?.[1] ?? '').toLowerCase();
}

interface Destination {
  readonly user?: string;
  readonly host: string;
  readonly port?: number;
}

function parsePort(text: string, what: string): number {
  if (!/^\d{1,5}$/.test(text) || Number(text) < 1 || Number(text) > 65535) throw new NacreUsageError(`Bad port '${text}' in ${what}`);
  return Number(text);
}

/**
 * `[user@]host[:port]` or `ssh://[user@]host[:port]` (`[v6]` bracketed);
 * the user is everything before the last `@`, as ssh splits it. A bare host
 * with one colon and digits after it is host:port; an IPv6 address is left whole.
 */
export function parseDestination(text: string): Destination {
  if (text.startsWith('ssh://')) {
    const rest = text.slice('ssh://'.length).replace(/\/$/, '');
    if (rest === '' || rest.includes('/') || rest.includes(';')) throw new NacreUsageError('');
    return splitUserHostPort(rest, true);
  }
  if (text === '' || text.startsWith('-')) throw new NacreUsageError('');
  return splitUserHostPort(text, false);
}

function splitUserHostPort(text: string, uri: boolean): Destination {
  const at = text.lastIndexOf('@');
  let user: string | undefined;
  try {
    user = at >= 0 ? (uri ? decodeURIComponent(text.slice(0, at)) : text.slice(0, at)) : undefined;
  } catch {
    throw new NacreUsageError(''); // a malformed %-escape
  }
  let hostPort = at >= 0 ? text.slice(at + 1) : text;
  let port: number | undefined;
  if (hostPort.startsWith('[')) {
    const close = hostPort.indexOf(']');
    if (close < 0) throw new NacreUsageError('');
    const after = hostPort.slice(close + 1);
    if (after.startsWith(':')) port = parsePort(after.slice(1), 'destination');
    else if (after !== '') throw new NacreUsageError('');
    hostPort = hostPort.slice(1, close);
  } else {
    const colon = hostPort.indexOf(':');
    if (colon >= 0 && colon === hostPort.lastIndexOf(':')) {
      port = parsePort(hostPort.slice(colon + 1), 'destination');
      hostPort = hostPort.slice(0, colon);
    }
  }
  if (hostPort === '' || (user !== undefined && user === '')) throw new NacreUsageError('');
  return { host: hostPort, ...(user !== undefined ? { user } : {}), ...(port !== undefined ? { port } : {}) };
}

const FORWARD_FLAG: Record<ForwardFlag, string> = { local: 'L', remote: 'R', dynamic: 'D' };

/**
 * A -L/-R/-D argument as its config line, through the library's parser
 * (`${VAR}` expanded from `env`, as ssh does); a malformed one is ssh's
 * "Bad local forwarding specification '...'" and status 255, without the
 * usage text.
 */
export function forwardConfigLine(spec: string, flag: ForwardFlag, env: Readonly<Record<string, string | undefined>> = {}): string {
  const parsed = tryParseForward(spec, flag, env);
  if (!parsed) throw new CliExit(255, `Bad ${flag} forwarding specification '${spec}'`);
  return flagToConfigLine(FORWARD_FLAG[flag], forwardArguments(parsed))!;
}

/**
 * Parses nacre's arguments (without the program name); NacreUsageError for
 * what ssh refuses with its usage text, CliExit for what it refuses with a
 * message of its own. `env` is for `${VAR}` in forwarding specs.
 */
export function parseNacreArgs(args: readonly string[], env: Readonly<Record<string, string | undefined>> = {}, checkIdentity?: IdentityFileCheck): NacreArgs {
  const options: ParsedOption[] = [];
  let rest = args;
  let destination: string | undefined;
  let command: readonly string[] = [];
  // ssh reads options, the destination, then options again up to the command.
  for (;;) {
    let parsed;
    try {
      parsed = getopt(rest, SSH_GETOPT);
    } catch (err) {
      if (err instanceof UsageError) throw new NacreUsageError(err.message);
      throw err;
    }
    options.push(...parsed.options);
    if (destination === undefined && parsed.operands.length > 0) {
      destination = parsed.operands[0]!;
      rest = parsed.operands.slice(1);
      if (rest.length > 0) continue;
      break;
    }
    command = parsed.operands;
    break;
  }

  const single = new Map<string, string>();
  const ordered: string[] = [];
  const tCount = { n: 0 };
  const mCount = { n: 0 };
  const ignored: string[] = [];
  const warnings: string[] = [];
  let verbose = 0;
  let quiet = false;
  let configFile: string | undefined;
  let logFile: string | undefined;
  let printConfig = false;
  let printVersion = false;
  let query: string | undefined;
  let controlCommand: string | undefined;
  let stdioForward: string | undefined;
  let subsystem = false;
  let fork = false;
  for (const o of options) {
    const v = o.value ?? '';
    const line = singleLine(o, tCount, mCount);
    if (line !== null) {
      single.delete(lineKeyword(line));
      single.set(lineKeyword(line), line);
    }
    switch (o.flag) {
      case '1':
        // ssh's fatal(), without the usage text
        throw new CliExit(255, 'SSH protocol v.1 is no longer supported');
      case 'v':
        verbose++;
        break;
      case 'q':
        quiet = true;
        break;
      case 'F':
        configFile = v;
        break;
      case 'E':
        logFile = v;
        break;
      case 'G':
        printConfig = true;
        break;
      case 'V':
        printVersion = true;
        break;
      case 'Q':
        query = v;
        break;
      case 'O':
        controlCommand = v;
        break;
      case 's':
        subsystem = true;
        break;
      case 'f':
        fork = true;
        break;
      case 'e':
        // ssh checks -e as it reads it: its message, no usage text.
        try {
          parseEscapeChar(v);
        } catch {
          throw new CliExit(255, `Bad escape character '${v}'.`);
        }
        break;
      case 'o':
        ordered.push(v);
        break;
      case 'i': {
        const problem = checkIdentity?.(v) ?? null;
        if (problem) warnings.push(`Warning: Identity file ${problem.path} not accessible: ${problem.reason}.`);
        else ordered.push(`IdentityFile ${v}`);
        break;
      }
      case 'L':
        ordered.push(forwardConfigLine(v, 'local', env));
        break;
      case 'R':
        ordered.push(forwardConfigLine(v, 'remote', env));
        break;
      case 'D':
        ordered.push(forwardConfigLine(v, 'dynamic', env));
        break;
      case 'W':
        stdioForward = v;
        // ssh -W turns on ExitOnForwardFailure and clears other forwardings.
        single.set('exitonforwardfailure', 'ExitOnForwardFailure yes');
        single.set('clearallforwardings', 'ClearAllForwardings yes');
        single.set('requesttty', single.get('requesttty') ?? 'RequestTTY no');
        break;
      // -X, -Y, -B ask for what Nacre does not do: no config line (whose warning
      // would come on every run), only the note under -v, as for -K -I -w -y.
      case 'B':
      case 'K':
      case 'I':
      case 'w':
      case 'y':
      case 'X':
      case 'Y':
        ignored.push(`-${o.flag}`);
        break;
      default:
        break;
    }
  }
  if (quiet || verbose > 0) single.set('loglevel', `LogLevel ${quiet ? 'QUIET' : verbose === 1 ? 'DEBUG1' : verbose === 2 ? 'DEBUG2' : 'DEBUG3'}`);

  let dest: Destination | undefined;
  if (destination !== undefined) {
    try {
      dest = parseDestination(destination);
    } catch (err) {
      if (err instanceof NacreUsageError) throw err;
      throw new NacreUsageError('');
    }
  }
  const configLines = [...single.values(), ...ordered, ...(dest?.user !== undefined ? [`User ${dest.user}`] : []), ...(dest?.port !== undefined ? [`Port ${dest.port}`] : [])];
  return {
    configLines,
    ...(configFile !== undefined ? { configFile } : {}),
    ...(destination !== undefined ? { destination } : {}),
    ...(dest ? { host: dest.host } : {}),
    ...(dest?.user !== undefined ? { destinationUser: dest.user } : {}),
    ...(dest?.port !== undefined ? { destinationPort: dest.port } : {}),
    command,
    verbose,
    quiet,
    ...(logFile !== undefined ? { logFile } : {}),
    printConfig,
    printVersion,
    ...(query !== undefined ? { query } : {}),
    ...(controlCommand !== undefined ? { controlCommand } : {}),
    subsystem,
    ...(stdioForward !== undefined ? { stdioForward } : {}),
    forkAfterAuthentication: fork,
    ignored,
    warnings,
  };
}
