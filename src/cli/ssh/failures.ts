// nacre's own failures in ssh's words (with `nacre:` where ssh says `ssh:`):
// a refused or unreachable port, an unknown host name, a refused host key,
// failed authentication. Each ends the command with status 255.
import { AuthenticationError, HostKeyRejectedError, TimeoutError } from '../../client-entry.js';
import { errnoCode } from '../common/exit.js';
import { peerDisconnectLines } from '../common/peer-disconnect.js';

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
  if (err instanceof HostKeyRejectedError) {
    // RequiredRSASize: ssh's words for a host key too short, before any known_hosts check.
    if (err.message.startsWith('Bad server host key: Invalid key length')) return 'Bad server host key: Invalid key length';
    return 'Host key verification failed.';
  }
  if (err instanceof AuthenticationError) {
    const allowed = err.allowed.length > 0 ? err.allowed.join(',') : err.tried.join(',');
    return `${where.user}@${where.host}: Permission denied (${allowed}).`;
  }
  if (err instanceof TimeoutError && err.phase.startsWith('TCP connect')) return `nacre: connect to host ${where.host} port ${where.port}: Connection timed out`;
  const code = errnoCode(err);
  // A jump host's failure names the jump host: the resolver's and the socket's errors say which.
  const e = errnoCarrier(err);
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    const name = typeof e.hostname === 'string' && e.hostname !== '' ? e.hostname : where.host;
    return `nacre: Could not resolve hostname ${name}: ${code === 'ENOTFOUND' ? 'Name or service not known' : 'Temporary failure in name resolution'}`;
  }
  if (code && CONNECT_ERRORS[code]) {
    const port = typeof e.port === 'number' ? e.port : where.port;
    const host = typeof e.port === 'number' && port !== where.port && typeof e.address === 'string' ? e.address : where.host;
    return `nacre: connect to host ${host} port ${port}: ${CONNECT_ERRORS[code]}`;
  }
  // The server's DISCONNECT before the connection was up (any TCP peer can
  // send one, before its host key is checked): ssh's two lines, the
  // description made printable.
  const disconnected = peerDisconnectLines(err, where.host, where.port);
  if (disconnected) return disconnected.join('\n');
  const message = err instanceof Error ? err.message : String(err);
  return `nacre: ${message}`;
}

/** The error in `err`'s cause chain that carries the errno code (Node's, with hostname, address and port). */
function errnoCarrier(err: unknown): { hostname?: unknown; address?: unknown; port?: unknown } {
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('E')) return e as { hostname?: unknown; address?: unknown; port?: unknown };
  }
  return {};
}
