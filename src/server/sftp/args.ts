// sftp-server's command line, which `Subsystem sftp internal-sftp ...` and
// nacre-sftp-server take too: [-ehR] [-d start_directory] [-f log_facility]
// [-l log_level] [-P denied_requests] [-p allowed_requests] [-u umask]
// [-Q protocol_feature], checked as sftp-server checks them.
import { parseRequestList } from '../../sftp/server-requests.js';
import type { SftpLogLevel } from '../../sftp/server-session.js';

/** sftp-server's -l levels (log_level_number), lower case. */
export const SFTP_SERVER_LOG_LEVELS = ['quiet', 'fatal', 'error', 'info', 'verbose', 'debug', 'debug1', 'debug2', 'debug3'] as const;
export type SftpServerLogLevel = (typeof SFTP_SERVER_LOG_LEVELS)[number];

export interface SftpServerArgs {
  readonly readOnly: boolean;
  readonly umask: number | null;
  readonly allowRequests: string[] | null;
  readonly denyRequests: string[] | null;
  /** -d, before %d and %u are expanded (expandStartDirectory). */
  readonly startDirectory: string | null;
  /** -l; sftp-server's default is ERROR (no INFO lines). */
  readonly logLevel: SftpServerLogLevel;
  /** -e: log to stderr (nacre-sftp-server always does; internal-sftp logs into nacred's log). */
  readonly logToStderr: boolean;
  /** -f: accepted and ignored (there is no syslog here). */
  readonly facility: string | null;
  /** -Q: the protocol feature to list (`requests`), and nothing served. */
  readonly query: string | null;
  /** -h */
  readonly help: boolean;
}

export const SFTP_SERVER_USAGE = [
  'usage: sftp-server [-ehR] [-d start_directory] [-f log_facility] [-l log_level]',
  '\t[-P denied_requests] [-p allowed_requests] [-u umask]',
  '       sftp-server -Q protocol_feature',
].join('\n');

/** A bad command line: the message, then the usage. */
export class SftpServerArgsError extends Error {}

const FACILITIES = new Set(['DAEMON', 'USER', 'AUTH', 'AUTHPRIV', 'LOCAL0', 'LOCAL1', 'LOCAL2', 'LOCAL3', 'LOCAL4', 'LOCAL5', 'LOCAL6', 'LOCAL7']);

/** Reads sftp-server's options (getopt "d:f:l:P:p:Q:u:cehR"); throws SftpServerArgsError. */
export function parseSftpServerArgs(argv: readonly string[]): SftpServerArgs {
  let readOnly = false;
  let umask: number | null = null;
  let allow: string[] | null = null;
  let deny: string[] | null = null;
  let start: string | null = null;
  let level: SftpServerLogLevel = 'error';
  let stderr = false;
  let facility: string | null = null;
  let query: string | null = null;
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      if (i + 1 < argv.length) throw new SftpServerArgsError(`unexpected argument ${argv[i + 1]}`);
      break;
    }
    if (!a.startsWith('-') || a === '-') throw new SftpServerArgsError(`unexpected argument ${a}`);
    for (let j = 1; j < a.length; j++) {
      const flag = a[j]!;
      if ('dflPpQu'.includes(flag)) {
        const value = j + 1 < a.length ? a.slice(j + 1) : argv[++i];
        if (value === undefined) throw new SftpServerArgsError(`option requires an argument -- ${flag}`);
        switch (flag) {
          case 'd':
            start = value;
            break;
          case 'f':
            if (!FACILITIES.has(value.toUpperCase())) throw new SftpServerArgsError(`Invalid log facility "${value}"`);
            facility = value;
            break;
          case 'l': {
            const v = value.toLowerCase() as SftpServerLogLevel;
            if (!SFTP_SERVER_LOG_LEVELS.includes(v)) throw new SftpServerArgsError(`Invalid log level "${value}"`);
            level = v;
            break;
          }
          case 'P':
            deny = requestList(deny, value);
            break;
          case 'p':
            allow = requestList(allow, value);
            break;
          case 'Q':
            query = value;
            break;
          case 'u':
            umask = parseUmask(value);
            break;
        }
        break;
      }
      if (flag === 'R') readOnly = true;
      else if (flag === 'e') stderr = true;
      else if (flag === 'h') help = true;
      else if (flag === 'c') continue;
      else throw new SftpServerArgsError(`unknown option -- ${flag}`);
    }
  }
  return { readOnly, umask, allowRequests: allow, denyRequests: deny, startDirectory: start, logLevel: level, logToStderr: stderr, facility, query, help };
}

function requestList(previous: string[] | null, value: string): string[] {
  try {
    return [...(previous ?? []), ...parseRequestList(value)];
  } catch (e) {
    throw new SftpServerArgsError((e as Error).message);
  }
}

/** An octal umask 0-0777, as sftp-server's -u. */
export function parseUmask(text: string): number {
  if (!/^[0-7]{1,4}$/.test(text)) throw new SftpServerArgsError(`Invalid umask "${text}"`);
  const n = parseInt(text, 8);
  if (n > 0o777) throw new SftpServerArgsError(`Invalid umask "${text}"`);
  return n;
}

/** -d's tokens: %d the home directory, %u the user name, %% a percent sign. */
export function expandStartDirectory(dir: string, user: { name: string; home: string }): string {
  return dir.replace(/%(.)/g, (m, c: string) => {
    if (c === 'd') return user.home;
    if (c === 'u') return user.name;
    if (c === '%') return '%';
    throw new SftpServerArgsError(`unknown token ${m} in -d ${dir}`);
  });
}

/** Whether a line of `line` level is logged at sftp-server's -l `level`. */
export function sftpLogEnabled(level: SftpServerLogLevel, line: SftpLogLevel): boolean {
  return level !== 'quiet' && LINE_RANK[line] <= LEVEL_RANK[level];
}
const LEVEL_RANK: Readonly<Record<SftpServerLogLevel, number>> = { quiet: 0, fatal: 1, error: 2, info: 3, verbose: 4, debug: 5, debug1: 5, debug2: 6, debug3: 7 };
const LINE_RANK: Readonly<Record<SftpLogLevel, number>> = { error: 2, info: 3, verbose: 4, debug: 5 };

/**
 * The arguments of an `internal-sftp ...` command line (the Subsystem or
 * ForceCommand value), or null when it is not internal-sftp. Words split on
 * blanks with sshd's quoting (double or single quotes, backslash).
 */
export function internalSftpArguments(commandLine: string): string[] | null {
  const words = splitWords(commandLine);
  if (words[0] !== 'internal-sftp') return null;
  return words.slice(1);
}

function splitWords(line: string): string[] {
  const out: string[] = [];
  let word: string | null = null;
  let quote: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote) {
      if (c === quote) quote = null;
      else if (c === '\\' && quote === '"' && i + 1 < line.length) word += line[++i]!;
      else word += c;
    } else if (c === ' ' || c === '\t') {
      if (word !== null) out.push(word);
      word = null;
    } else if (c === '"' || c === "'") {
      quote = c;
      word ??= '';
    } else if (c === '\\' && i + 1 < line.length) {
      word = (word ?? '') + line[++i]!;
    } else word = (word ?? '') + c;
  }
  if (quote) throw new SftpServerArgsError('unterminated quote');
  if (word !== null) out.push(word);
  return out;
}
