// Diagnostics on stderr with OpenSSH's levels, for the tools to come (nacre,
// nacred): -q lowers the level to QUIET (only fatal errors, which the tools
// print through CliExit), each -v raises it one step from INFO through
// DEBUG1..3 as ssh and sshd count them, and debug lines carry OpenSSH's
// `debug1: ` prefixes so logs read alike.

export const LOG_LEVELS = ['quiet', 'error', 'info', 'verbose', 'debug1', 'debug2', 'debug3'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** ssh's rule: -q is QUIET; each -v steps INFO → DEBUG1 → DEBUG2 → DEBUG3 (VERBOSE is only named in config). */
export function logLevelFromFlags(quiet: boolean, verbose: number): LogLevel {
  if (quiet) return 'quiet';
  if (verbose <= 0) return 'info';
  return verbose === 1 ? 'debug1' : verbose === 2 ? 'debug2' : 'debug3';
}

export class Logger {
  constructor(
    private readonly write: (text: string) => void,
    private current: LogLevel = 'info',
  ) {}

  get level(): LogLevel {
    return this.current;
  }

  /** ssh's `~v` / `~V`: one level more or less verbose, between ERROR and DEBUG3; the new level. */
  step(direction: 1 | -1): LogLevel {
    const i = LOG_LEVELS.indexOf(this.current) + direction;
    this.current = LOG_LEVELS[Math.min(LOG_LEVELS.length - 1, Math.max(1, i))]!;
    return this.current;
  }

  /** True when messages of `level` are shown. */
  enabled(level: LogLevel): boolean {
    return LOG_LEVELS.indexOf(level) <= LOG_LEVELS.indexOf(this.level) && level !== 'quiet';
  }

  /** OpenSSH's error(): shown unless quiet. */
  error(message: string): void {
    if (this.enabled('error')) this.write(message + '\n');
  }

  /** OpenSSH's logit(): the normal level. */
  info(message: string): void {
    if (this.enabled('info')) this.write(message + '\n');
  }

  verbose(message: string): void {
    if (this.enabled('verbose')) this.write(message + '\n');
  }

  /** `debugN: message`, shown from -v (1), -vv (2) or -vvv (3). */
  debug(depth: 1 | 2 | 3, message: string): void {
    const level = `debug${depth}` as const;
    if (this.enabled(level)) this.write(`${level}: ${message}\n`);
  }
}

/** ssh_config's LogLevel values (lower-cased) as the tools' log levels; FATAL is as quiet as QUIET, DEBUG is DEBUG1. */
export const LOG_LEVEL_NAMES: Readonly<Record<string, LogLevel>> = {
  quiet: 'quiet',
  fatal: 'quiet',
  error: 'error',
  info: 'info',
  verbose: 'verbose',
  debug: 'debug1',
  debug1: 'debug1',
  debug2: 'debug2',
  debug3: 'debug3',
};
