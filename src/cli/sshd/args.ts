// nacred's command line, read as sshd(8) of OpenSSH 10 reads it: sshd's
// getopt string, its usage text and its exit statuses (a bad flag prints
// `unknown option -- Z`, the version and the usage, status 1; an operand is
// `Extra argument x.`). Flags are kept as given; main.ts applies them to the
// configuration the way sshd does (-p replaces the file's Port lines, -h and
// -c add to HostKey / HostCertificate, -o lines come before the file and so
// win, -4 / -6 set AddressFamily, -g LoginGraceTime). Pure.
import { getopt, UsageError } from '../common/getopt.js';
import { CliExit } from '../common/exit.js';

/** OpenSSH 10's getopt string for sshd (-D, -i and -V included; -r and -R are sshd's internal re-exec flags, not taken). */
export const SSHD_GETOPT = 'C:E:b:c:f:g:h:k:o:p:u:46DGQTdeiqtV';

export const NACRED_VERSION = 'Nacre nacred 0.1.0 (sshd_config as OpenSSH 10)';

/** What sshd's usage() prints (then exit 1). */
export const NACRED_USAGE = `usage: nacred [-46DdeGiqTtV] [-C connection_spec] [-c host_cert_file]
              [-E log_file] [-f config_file] [-g login_grace_time]
              [-h host_key_file] [-o option] [-p port] [-u len]
       nacred passwd [options]   (see docs/CLI.md)
`;

/** The configuration file nacred reads without -f: sshd's, so a machine's sshd_config runs as it is. */
export const DEFAULT_CONFIG_FILE = '/etc/ssh/sshd_config';

export interface NacredArgs {
  /** -f; DEFAULT_CONFIG_FILE when not given. */
  readonly configFile: string;
  /** -t: check the configuration and host keys, then exit. */
  readonly check: boolean;
  /** -T (extended test: print the effective configuration) or -G (print it without checking host keys). */
  readonly print: 'no' | 'checked' | 'unchecked';
  /** -C connection_spec, for -T / -G (may be repeated; the specs join with commas as sshd does). */
  readonly connectionSpec?: string;
  /** -d count: debug level 1..3, logs on stderr. */
  readonly debug: number;
  /** -e: logs on stderr (nacred's default: Node has no syslog). */
  readonly logToStderr: boolean;
  /** -E log_file: logs appended there instead. */
  readonly logFile?: string;
  /** -q: nothing logged. */
  readonly quiet: boolean;
  /** -o lines, in order; they come before the file's, so they win. */
  readonly options: readonly string[];
  /** -p ports; when any, the file's Port lines are ignored (as sshd). */
  readonly ports: readonly number[];
  /** -h and -c files, added to the configuration's. */
  readonly hostKeys: readonly string[];
  readonly hostCertificates: readonly string[];
  /** -4 / -6, the last one given. */
  readonly addressFamily?: 'inet' | 'inet6';
  /** -g: LoginGraceTime as written (sshd's time format). */
  readonly loginGraceTime?: string;
  /** -i: one connection on standard input and output (inetd). */
  readonly inetd: boolean;
  /** -V. */
  readonly version: boolean;
}

/** A usage error as sshd reports it: the getopt message, the version line and the usage text; status 1. */
export function usageExit(message: string): CliExit {
  return new CliExit(1, (message ? message + '\n' : '') + NACRED_VERSION + '\n' + NACRED_USAGE);
}

function parsePort(value: string): number {
  // sshd's a2port: a decimal number 1..65535, anything else is fatal.
  if (!/^[0-9]{1,5}$/.test(value) || Number(value) < 1 || Number(value) > 65535) {
    throw new CliExit(1, `Bad port number.`);
  }
  return Number(value);
}

/** Parses nacred's arguments (without the program name); throws CliExit as sshd exits. */
export function parseNacredArgs(argv: readonly string[]): NacredArgs {
  let parsed;
  try {
    parsed = getopt(argv, SSHD_GETOPT);
  } catch (e) {
    if (e instanceof UsageError) throw usageExit(e.message);
    throw e;
  }
  if (parsed.operands.length > 0) throw new CliExit(1, `Extra argument ${parsed.operands[0]}.`);
  let configFile = DEFAULT_CONFIG_FILE;
  let check = false;
  let print: NacredArgs['print'] = 'no';
  const specs: string[] = [];
  let debug = 0;
  let logToStderr = false;
  let logFile: string | undefined;
  let quiet = false;
  const options: string[] = [];
  const ports: number[] = [];
  const hostKeys: string[] = [];
  const hostCertificates: string[] = [];
  let addressFamily: 'inet' | 'inet6' | undefined;
  let loginGraceTime: string | undefined;
  let inetd = false;
  let version = false;
  for (const o of parsed.options) {
    const v = o.value ?? '';
    switch (o.flag) {
      case '4':
        addressFamily = 'inet';
        break;
      case '6':
        addressFamily = 'inet6';
        break;
      case 'f':
        configFile = v;
        break;
      case 'c':
        hostCertificates.push(v);
        break;
      case 'h':
        hostKeys.push(v);
        break;
      case 'd':
        // sshd: at most three -d.
        if (debug < 3) debug++;
        break;
      case 'D':
        // Never in the background anyway: a service manager runs nacred.
        break;
      case 'E':
        logFile = v;
        break;
      case 'e':
        logToStderr = true;
        break;
      case 'i':
        inetd = true;
        break;
      case 'q':
        quiet = true;
        break;
      case 'o':
        options.push(v);
        break;
      case 'p':
        ports.push(parsePort(v));
        break;
      case 'g':
        loginGraceTime = v;
        break;
      case 't':
        check = true;
        break;
      case 'T':
        print = 'checked';
        break;
      case 'G':
        print = 'unchecked';
        break;
      case 'C':
        specs.push(v);
        break;
      case 'V':
        version = true;
        break;
      case 'b':
      case 'k':
      case 'u':
      case 'Q':
        // sshd still takes these for compatibility and ignores them (-b/-k are protocol 1 relics, -u sizes utmp host names).
        break;
    }
  }
  return {
    configFile,
    check,
    print,
    ...(specs.length > 0 ? { connectionSpec: specs.join(',') } : {}),
    debug,
    logToStderr,
    ...(logFile !== undefined ? { logFile } : {}),
    quiet,
    options,
    ports,
    hostKeys,
    hostCertificates,
    ...(addressFamily ? { addressFamily } : {}),
    ...(loginGraceTime !== undefined ? { loginGraceTime } : {}),
    inetd,
    version,
  };
}
