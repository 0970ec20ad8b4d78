// nacre-sftp's command line, read as sftp(1) reads it: sftp's getopt string;
// the flags it hands to ssh become the ssh command line sftp would build
// (`-oForwardX11 no` ... `-s -- host sftp`), which nacre's own parser then
// turns into ssh_config lines, so a flag means here what it means to nacre;
// the destination is `sftp://[user@]host[:port][/path]`, `[user@]host:path`
// or `[user@]host[:port]`, split as OpenSSH's parse_uri,
// parse_user_host_path and parse_user_host_port split it. Pure.
import { getopt, UsageError } from '../common/getopt.js';
import { CliExit } from '../common/exit.js';
import { cleanHost, hostColon } from '../common/host-colon.js';

/** OpenSSH 10's getopt string for sftp. */
export const SFTP_GETOPT = '1246AafhNpqrvCc:D:i:l:o:s:S:b:B:F:J:P:R:X:';

export const SFTP_USAGE = `usage: nacre-sftp [-46AaCfNpqrv] [-B buffer_size] [-b batchfile] [-c cipher]
          [-D sftp_server_command] [-F ssh_config] [-i identity_file]
          [-J destination] [-l limit] [-o ssh_option] [-P port]
          [-R num_requests] [-S program] [-s subsystem | sftp_server]
          [-X sftp_option] destination
`;

/** What sftp refuses with its usage text (status 1). */
export function usageExit(): never {
  throw new CliExit(1, SFTP_USAGE);
}

export interface SftpDestination {
  readonly user?: string;
  readonly host: string;
  readonly port?: number;
  /** The path after `host:` or the URI's path: a directory to start in, or a file to fetch. */
  readonly path?: string;
}

export interface SftpArgs {
  /** The ssh command line sftp would run (without the program name), for nacre's parser. */
  readonly sshArgs: readonly string[];
  readonly destination: SftpDestination;
  /** The second operand: where `host:file` is fetched to. */
  readonly localTarget?: string;
  /** -b: the batch file ('-' is standard input). */
  readonly batchFile?: string;
  /** -q, or batch mode (sftp's `quiet`); -N clears it. */
  readonly quiet: boolean;
  /** The progress meter's initial state (off with -q or -b). */
  readonly progress: boolean;
  readonly verbose: number;
  /** -a, -f, -p, -r: the global get/put flags. */
  readonly resume: boolean;
  readonly fsync: boolean;
  readonly preserve: boolean;
  readonly recursive: boolean;
  /** -B / -X buffer=: bytes per request. */
  readonly bufferSize?: number;
  /** -R / -X nrequests=: requests in flight. */
  readonly requests?: number;
  /** -l: bandwidth limit in bits per second (sftp's Kbit/s × 1024). */
  readonly limitBitsPerSecond?: number;
  /** -s: the subsystem name (default "sftp"), or a server command when it has a `/`. */
  readonly subsystem?: string;
  /** -S: a program to use instead of nacre's own connection; -D: a server run directly. */
  readonly sshProgram?: string;
  readonly serverCommand?: string;
}

function positiveInteger(text: string): number | null {
  if (!/^\d+$/.test(text)) return null;
  const n = Number(text);
  return n > 0 && Number.isSafeInteger(n) ? n : null;
}

/** OpenSSH's scan_scaled: digits with an optional K/M/G/T suffix (powers of 1024). */
export function scanScaled(text: string): number | null {
  const m = /^(\d+)([KkMmGgTt]?)[Bb]?$/.exec(text);
  if (!m) return null;
  const scale = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[m[2]!.toLowerCase()]!;
  return Number(m[1]) * scale;
}

/** `sftp://[user[;params]@]host[:port][/path]`; null when `text` is not such a URI; usage on a bad one. */
export function parseSftpUri(text: string): SftpDestination | null {
  if (!text.startsWith('sftp://')) return null;
  let rest = text.slice('sftp://'.length);
  let user: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    let info = rest.slice(0, at);
    const semi = info.indexOf(';');
    if (semi >= 0) info = info.slice(0, semi);
    if (info === '') usageExit();
    try {
      user = decodeURIComponent(info);
    } catch {
      usageExit();
    }
    rest = rest.slice(at + 1);
  }
  let host: string;
  let delim = '';
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close < 0) usageExit();
    host = rest.slice(1, close);
    delim = rest[close + 1] ?? '';
    if (delim !== '' && delim !== ':' && delim !== '/') usageExit();
    rest = rest.slice(close + 2);
  } else {
    const cut = rest.search(/[:/]/);
    host = cut < 0 ? rest : rest.slice(0, cut);
    delim = cut < 0 ? '' : rest[cut]!;
    rest = cut < 0 ? '' : rest.slice(cut + 1);
  }
  if (host === '' || !/^[A-Za-z0-9._:%-]+$/.test(host)) usageExit();
  let port: number | undefined;
  if (delim === ':') {
    const slash = rest.indexOf('/');
    const portText = slash < 0 ? rest : rest.slice(0, slash);
    const p = positiveInteger(portText);
    if (p === null || p > 65535) usageExit();
    port = p;
    rest = slash < 0 ? '' : rest.slice(slash + 1);
  }
  let path: string | undefined;
  if (rest !== '') {
    try {
      path = decodeURIComponent(rest);
    } catch {
      usageExit();
    }
  }
  return { host, ...(user !== undefined ? { user } : {}), ...(port !== undefined ? { port } : {}), ...(path !== undefined ? { path } : {}) };
}

/** OpenSSH's colon(): where `[user@]host:path`'s colon is, or -1 (a `/` before any colon means a local path). */
export const remoteColon = hostColon;

/** The destination as sftp reads it: a URI, `[user@]host:[path]`, `[user@]host[:port]`, or a bare host. */
export function parseSftpDestination(text: string): SftpDestination {
  const uri = parseSftpUri(text);
  if (uri) return uri;
  const colon = remoteColon(text);
  if (colon >= 0) {
    const path = text.slice(colon + 1) || '.';
    const userHost = text.slice(0, colon);
    const at = userHost.lastIndexOf('@');
    const host = cleanHost(at >= 0 ? userHost.slice(at + 1) : userHost);
    const user = at >= 0 && at > 0 ? userHost.slice(0, at) : undefined;
    return { host, path, ...(user !== undefined ? { user } : {}) };
  }
  const at = text.lastIndexOf('@');
  if (at > 0) return { user: text.slice(0, at), host: cleanHost(text.slice(at + 1)) };
  return { host: cleanHost(at === 0 ? text.slice(1) : text) };
}

/** Parses nacre-sftp's arguments (without the program name). CliExit for what sftp refuses. */
export function parseSftpArgs(args: readonly string[]): SftpArgs {
  let parsed;
  try {
    parsed = getopt(args, SFTP_GETOPT);
  } catch (err) {
    if (err instanceof UsageError) throw new CliExit(1, `nacre-sftp: ${err.message}\n${SFTP_USAGE}`);
    throw err;
  }
  // What sftp always tells ssh (ForwardAgent no goes last so -A and -o can win).
  const ssh: string[] = ['-oForwardX11 no', '-oPermitLocalCommand no', '-oClearAllForwardings yes', '-oControlMaster no'];
  let quiet = false;
  let noisy = false;
  let progress = true;
  let verbose = 0;
  let resume = false;
  let fsync = false;
  let preserve = false;
  let recursive = false;
  let batchFile: string | undefined;
  let bufferSize: number | undefined;
  let requests: number | undefined;
  let limit: number | undefined;
  let subsystem: string | undefined;
  let sshProgram: string | undefined;
  let serverCommand: string | undefined;
  let port: number | undefined;
  for (const o of parsed.options) {
    const v = o.value ?? '';
    switch (o.flag) {
      case 'A':
      case '4':
      case '6':
      case 'C':
        ssh.push(`-${o.flag}`);
        break;
      case 'F':
      case 'J':
      case 'c':
      case 'i':
      case 'o':
        ssh.push(`-${o.flag}`, v);
        break;
      case 'q':
        quiet = true;
        progress = false;
        ssh.push('-q');
        break;
      case 'P': {
        const p = positiveInteger(v);
        if (p === null || p > 65535) throw new CliExit(255, `Bad port "${v}"\n`);
        port = p;
        break;
      }
      case 'v':
        if (verbose < 3) ssh.push('-v');
        verbose++;
        break;
      case '1':
        throw new CliExit(255, 'SSH protocol v.1 is no longer supported');
      case '2':
        break;
      case 'a':
        resume = true;
        break;
      case 'B': {
        const n = positiveInteger(v);
        if (n === null) throw new CliExit(255, `Invalid buffer size "${v}"`);
        bufferSize = n;
        break;
      }
      case 'b':
        if (batchFile !== undefined) throw new CliExit(255, 'Batch file already specified.');
        batchFile = v;
        progress = false;
        quiet = true;
        ssh.push('-obatchmode yes');
        break;
      case 'f':
        fsync = true;
        break;
      case 'N':
        noisy = true;
        break;
      case 'p':
        preserve = true;
        break;
      case 'D':
        serverCommand = v;
        break;
      case 'l': {
        const n = positiveInteger(v);
        if (n === null || n > 100 * 1024 * 1024) usageExit();
        limit = n * 1024;
        break;
      }
      case 'r':
        recursive = true;
        break;
      case 'R': {
        const n = positiveInteger(v);
        if (n === null) throw new CliExit(255, `Invalid number of requests "${v}"`);
        requests = n;
        break;
      }
      case 's':
        subsystem = v;
        break;
      case 'S':
        sshProgram = v;
        break;
      case 'X':
        if (v.startsWith('buffer=')) {
          const n = scanScaled(v.slice(7));
          if (n === null || n <= 0 || n > 256 * 1024) throw new CliExit(255, `Invalid buffer size "${v.slice(7)}": Invalid argument`);
          bufferSize = n;
        } else if (v.startsWith('nrequests=')) {
          const n = positiveInteger(v.slice(10));
          if (n === null || n > 256 * 1024) throw new CliExit(255, `Invalid number of requests "${v.slice(10)}": invalid`);
          requests = n;
        } else {
          throw new CliExit(255, 'Invalid -X option');
        }
        break;
      default:
        usageExit();
    }
  }
  ssh.push('-oForwardAgent no');
  if (noisy) quiet = false;

  const operands = parsed.operands;
  if (serverCommand === undefined && (operands.length === 0 || operands.length > 2)) usageExit();
  const destination = parseSftpDestination(operands[0] ?? 'localhost');
  if (destination.host === '') throw new CliExit(1, 'Missing hostname\n' + SFTP_USAGE);
  const effectivePort = destination.port ?? port;
  if (effectivePort !== undefined) ssh.push(`-oPort ${effectivePort}`);
  if (destination.user !== undefined) ssh.push('-l', destination.user);
  if (subsystem === undefined || !subsystem.includes('/')) ssh.push('-s');
  ssh.push('--', destination.host, subsystem ?? 'sftp');
  return {
    sshArgs: ssh,
    destination,
    ...(operands[1] !== undefined ? { localTarget: operands[1] } : {}),
    ...(batchFile !== undefined ? { batchFile } : {}),
    quiet,
    progress,
    verbose,
    resume,
    fsync,
    preserve,
    recursive,
    ...(bufferSize !== undefined ? { bufferSize } : {}),
    ...(requests !== undefined ? { requests } : {}),
    ...(limit !== undefined ? { limitBitsPerSecond: limit } : {}),
    ...(subsystem !== undefined ? { subsystem } : {}),
    ...(sshProgram !== undefined ? { sshProgram } : {}),
    ...(serverCommand !== undefined ? { serverCommand } : {}),
  };
}
