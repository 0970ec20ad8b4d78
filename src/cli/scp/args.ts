// nacre-scp's command line, read as OpenSSH 10's scp(1) reads it: its getopt
// string, what it keeps for itself (-r -p -q -l -3 -R -O -D -S -X -P -d), and
// the ssh(1) arguments it passes to every connection it makes (ssh's own
// flags, -o lines, and the options scp always adds). Those arguments go
// through nacre's parser (ssh/args.ts) per host, so the options mean exactly
// what they mean to nacre. Pure.
import { getopt, UsageError } from '../common/getopt.js';
import { CliExit } from '../common/exit.js';

/** OpenSSH 10's getopt string for scp (-M is listed but refused, as scp does). */
export const SCP_GETOPT = '12346ABCTdfOpqRrstvD:F:J:M:P:S:c:i:l:o:X:';

export const SCP_USAGE = `usage: nacre-scp [-346ABCOpqRrsTv] [-c cipher] [-D sftp_server_path] [-F ssh_config]
           [-i identity_file] [-J destination] [-l limit] [-o ssh_option]
           [-P port] [-S program] [-X sftp_option] source ... target
`;

/** scp's usage(): the text, exit status 1. */
export function scpUsage(): never {
  throw new CliExit(1, SCP_USAGE);
}

const MAX_COPY_BUFFER = 256 * 1024;

export interface ScpArgs {
  /** Arguments for every ssh connection (nacre's parser reads them), before `-p port -l user -s -- host sftp`. */
  readonly sshArgs: readonly string[];
  /** For the origin host of `-R` (scp's remote_remote_args): the same flags, without the fixed ones. */
  readonly remoteRemoteArgs: readonly string[];
  /** -P: the port unless an operand says otherwise. */
  readonly port?: number;
  readonly recursive: boolean;
  readonly preserve: boolean;
  /** -q: no progress meter, and ssh's messages quiet. */
  readonly quiet: boolean;
  readonly verbose: number;
  /** -l in Kbit/s (1 .. 100 Gbit/s). */
  readonly limitKbps?: number;
  /** -3 (the default) or -R: how a copy between two remote hosts goes. */
  readonly throughLocal: boolean;
  /** -O: the legacy scp protocol. */
  readonly legacy: boolean;
  /** -D: a local sftp-server program instead of a connection. */
  readonly sftpDirect?: string;
  /** -S: the program to connect with instead of Nacre's own client. */
  readonly sshProgram?: string;
  /**
   * -X buffer= and nrequests=; when not given the SFTP client's own defaults
   * (sized from the server's limits) are used rather than scp's 32 KiB and 64.
   */
  readonly chunkSize?: number;
  readonly requests?: number;
  /** -d (set by scp for several sources too): the target must be a directory. */
  readonly targetShouldBeDirectory: boolean;
  /** -T: with -O, names the far end sends are not checked against what was asked (SFTP mode asks for names itself). */
  readonly trustNames: boolean;
  readonly operands: readonly string[];
}

/** OpenSSH's scan_scaled for -X buffer=: digits with an optional K, M or G (powers of 1024). */
function scaled(text: string): number | null {
  const m = /^(\d+)([KkMmGg]?)[Bb]?$/.exec(text);
  if (!m) return null;
  const unit = m[2]!.toUpperCase();
  const mult = unit === 'K' ? 1024 : unit === 'M' ? 1024 ** 2 : unit === 'G' ? 1024 ** 3 : 1;
  return Number(m[1]) * mult;
}

/**
 * Parses scp's arguments (without the program name): the usage text and
 * status 1 for what scp refuses with it, CliExit(255) for its fatal()s.
 */
export function parseScpArgs(args: readonly string[]): ScpArgs {
  let parsed;
  try {
    parsed = getopt(args, SCP_GETOPT);
  } catch (err) {
    if (err instanceof UsageError) throw new CliExit(1, `nacre-scp: ${err.message}\n${SCP_USAGE}`);
    throw err;
  }
  const passed: string[] = [];
  let port: number | undefined;
  let recursive = false;
  let preserve = false;
  let quiet = false;
  let verbose = 0;
  let limitKbps: number | undefined;
  let throughLocal = true;
  let legacy = false;
  let sftpDirect: string | undefined;
  let sshProgram: string | undefined;
  let chunkSize: number | undefined;
  let requests: number | undefined;
  let targetShouldBeDirectory = false;
  let trustNames = false;
  for (const o of parsed.options) {
    const v = o.value ?? '';
    switch (o.flag) {
      case '1':
        throw new CliExit(255, 'SSH protocol v.1 is no longer supported');
      case '2':
        break;
      case 'T':
        trustNames = true;
        break;
      case 'A':
      case '4':
      case '6':
      case 'C':
        passed.push(`-${o.flag}`);
        break;
      case 'o':
      case 'c':
      case 'i':
      case 'F':
      case 'J':
        passed.push(`-${o.flag}`, v);
        break;
      case 'B':
        passed.push('-oBatchmode=yes');
        break;
      case 'D':
        sftpDirect = v;
        break;
      case '3':
        throughLocal = true;
        break;
      case 'R':
        throughLocal = false;
        break;
      case 'O':
        legacy = true;
        break;
      case 's':
        legacy = false;
        break;
      case 'P': {
        if (!/^\d{1,5}$/.test(v) || Number(v) < 1 || Number(v) > 65535) throw new CliExit(255, `bad port "${v}"\n`);
        port = Number(v);
        break;
      }
      case 'l': {
        const n = /^\d+$/.test(v) ? Number(v) : NaN;
        if (!(n >= 1 && n <= 100 * 1024 * 1024)) scpUsage();
        limitKbps = n;
        break;
      }
      case 'p':
        preserve = true;
        break;
      case 'r':
        recursive = true;
        break;
      case 'S':
        sshProgram = v;
        break;
      case 'v':
        passed.push('-v');
        verbose++;
        break;
      case 'q':
        passed.push('-q');
        quiet = true;
        break;
      case 'X':
        if (v.startsWith('buffer=')) {
          const n = scaled(v.slice('buffer='.length));
          if (n === null || n <= 0 || n > MAX_COPY_BUFFER) throw new CliExit(255, `Invalid buffer size "${v.slice(7)}": Invalid argument`);
          chunkSize = n;
        } else if (v.startsWith('nrequests=')) {
          const text = v.slice('nrequests='.length);
          const n = /^\d+$/.test(text) ? Number(text) : NaN;
          if (!(n >= 1 && n <= 256 * 1024)) throw new CliExit(255, `Invalid number of requests "${text}": ${Number.isNaN(n) ? 'invalid' : n < 1 ? 'too small' : 'too large'}`);
          requests = n;
        } else {
          throw new CliExit(255, 'Invalid -X option');
        }
        break;
      case 'd':
        targetShouldBeDirectory = true;
        break;
      case 'f':
      case 't':
        // The remote end of the legacy protocol, which only an scp server runs.
        throw new CliExit(1, `nacre-scp: -${o.flag} (the server side of the legacy scp protocol) is not supported`);
      default:
        // -M and anything else getopt let through: scp's usage().
        scpUsage();
    }
  }
  const operands = parsed.operands;
  if (operands.length < 2) scpUsage();
  if (operands.length > 2) targetShouldBeDirectory = true;
  // As scp: these first, the user's flags after (first value wins), ForwardAgent=no last.
  // (scp's -x is left out: Nacre never forwards X11, and ForwardX11 would only draw a warning.)
  const sshArgs = [
    '-oPermitLocalCommand=no',
    '-oClearAllForwardings=yes',
    '-oRemoteCommand=none',
    '-oRequestTTY=no',
    '-oControlMaster=no',
    ...passed,
    '-oForwardAgent=no',
  ];
  return {
    sshArgs,
    remoteRemoteArgs: passed,
    ...(port !== undefined ? { port } : {}),
    recursive,
    preserve,
    quiet,
    verbose,
    ...(limitKbps !== undefined ? { limitKbps } : {}),
    throughLocal,
    legacy,
    ...(sftpDirect !== undefined ? { sftpDirect } : {}),
    ...(sshProgram !== undefined ? { sshProgram } : {}),
    ...(chunkSize !== undefined ? { chunkSize } : {}),
    ...(requests !== undefined ? { requests } : {}),
    targetShouldBeDirectory,
    trustNames,
    operands,
  };
}

/**
 * The ssh arguments of one connection, as scp's do_cmd builds them:
 * `-p port` (the operand's, else -P's), `-l user`, then `-s -- host sftp`.
 */
export function connectionArgs(args: ScpArgs, host: string, user: string | undefined, port: number | undefined): string[] {
  const p = port ?? args.port;
  return [...args.sshArgs, ...(p !== undefined ? ['-p', String(p)] : []), ...(user !== undefined ? ['-l', user] : []), '-s', '--', host, 'sftp'];
}
