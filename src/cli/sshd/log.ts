// nacred's log, with sshd's levels (LogLevel QUIET, FATAL, ERROR, INFO,
// VERBOSE, DEBUG/DEBUG1, DEBUG2, DEBUG3) and line shapes as sshd writes them
// on stderr (-e, -d): plain messages from ERROR to VERBOSE, `debug1: `
// prefixes below. sshd logs to syslog unless -d, -e or -E; Node has
// no syslog interface, so nacred always logs on stderr (a service manager
// such as systemd puts that in the journal) or, with -E, appends to a file.
import { appendFileSync } from 'node:fs';

export const SSHD_LOG_LEVELS = ['quiet', 'fatal', 'error', 'info', 'verbose', 'debug1', 'debug2', 'debug3'] as const;
export type SshdLogLevel = (typeof SSHD_LOG_LEVELS)[number];

/** sshd_config's LogLevel value (any case; DEBUG is DEBUG1), or null when it names no level. */
export function parseLogLevel(value: string): SshdLogLevel | null {
  const v = value.toLowerCase();
  if (v === 'debug') return 'debug1';
  return (SSHD_LOG_LEVELS as readonly string[]).includes(v) ? (v as SshdLogLevel) : null;
}

export class SshdLog {
  constructor(
    private readonly write: (line: string) => void,
    /** Changed on SIGHUP when the new configuration says another LogLevel. */
    public level: SshdLogLevel = 'info',
  ) {}

  enabled(level: SshdLogLevel): boolean {
    return this.level !== 'quiet' && SSHD_LOG_LEVELS.indexOf(level) <= SSHD_LOG_LEVELS.indexOf(this.level);
  }

  private emit(level: SshdLogLevel, line: string): void {
    if (!this.enabled(level)) return;
    try {
      this.write(line);
    } catch {
      // A log that cannot be written (disk full, file removed) must not stop the server.
    }
  }

  fatal(message: string): void {
    this.emit('fatal', message);
  }

  error(message: string): void {
    this.emit('error', message);
  }

  /** sshd's logit(): the normal level, no prefix. */
  info(message: string): void {
    this.emit('info', message);
  }

  verbose(message: string): void {
    this.emit('verbose', message);
  }

  debug(depth: 1 | 2 | 3, message: string): void {
    this.emit(`debug${depth}`, `debug${depth}: ${message}`);
  }
}

/** Where the lines go: appended to `file` (-E), else written on stderr. */
export function logWriter(file: string | undefined, stderr: (text: string) => void): (line: string) => void {
  if (file === undefined) return (line) => stderr(line + '\n');
  // Appended line by line, as sshd's -E does: another process (logrotate) may move the file.
  return (line) => appendFileSync(file, line + '\n', { mode: 0o600 });
}

/** A client's address as sshd names it in logs: `127.0.0.1 port 5555`. */
export function peer(address: string | undefined, port: number | undefined): string {
  return `${address ?? 'UNKNOWN'} port ${port ?? 65535}`;
}

/** A string the client chose (a username, a disconnect message) made safe for one log line, as sshd's strvis. */
export function printable(text: string, max = 100): string {
  return JSON.stringify(text.slice(0, max)).slice(1, -1);
}
