// nacre's own failures in ssh's words (with `nacre:` where ssh says `ssh:`):
// a refused or unreachable port, an unknown host name, a refused host key,
// failed authentication. Each ends the command with status 255.
import { AuthenticationError, HostKeyRejectedError, TimeoutError } from '../../client-entry.js';
import { errnoCode } from '../common/exit.js';

const CONNECT_ERRORS: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'Connection refused',
  ETIMEDOUT: 'Connection timed out',
  EHOSTUNREACH: 'No route to host',
  ENETUNREACH: 'Network is unreachable',
  ECONNRESET: 'Connection reset by peer',
  EADDRNOTAVAIL: 'Cannot assign requested address',
};

/** What ssh prints for `err` on the way to user@host:port. */
export function describeConnectFailure(err: unknown, where: { user: string; host: string; port: number }): string {
  if (err instanceof HostKeyRejectedError) return 'Host key verification failed.';
  if (err instanceof AuthenticationError) {
    const allowed = err.allowed.length > 0 ? err.allowed.join(',') : err.tried.join(',');
    return `${where.user}@${where.host}: Permission denied (${allowed}).`;
  }
  if (err instanceof TimeoutError && err.phase.startsWith('TCP connect')) return `nacre: connect to host ${where.host} port ${where.port}: Connection timed out`;
  const code = errnoCode(err);
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `nacre: Could not resolve hostname ${where.host}: ${code === 'ENOTFOUND' ? 'Name or service not known' : 'Temporary failure in name resolution'}`;
  if (code && CONNECT_ERRORS[code]) return `nacre: connect to host ${where.host} port ${where.port}: ${CONNECT_ERRORS[code]}`;
  const message = err instanceof Error ? err.message : String(err);
  return `nacre: ${message}`;
}
