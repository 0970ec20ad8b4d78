// The TCP connection to the server: `ssh -b` (localAddress), `-4`/`-6`
// (family) and ConnectionAttempts, each attempt bounded by connectTimeout.
import { connect as netConnect, type Socket } from 'node:net';
import { REUSED_READS } from '../io/node/driver.js';
import { AbortError, DisconnectReason, NacreError, TimeoutError } from '../errors.js';

export interface SocketOptions {
  readonly timeoutMs: number;
  readonly signal?: AbortSignal | undefined;
  readonly localAddress?: string | undefined;
  readonly family?: 4 | 6 | undefined;
  /** Tries, one second apart; default 1. */
  readonly attempts?: number | undefined;
}

/** Pause between two connection attempts, as ssh's ConnectionAttempts. */
const RETRY_PAUSE_MS = 1000;

/** Connects to `host:port`, trying `attempts` times; the last failure is the error. */
export async function openSocket(host: string, port: number, options: SocketOptions): Promise<Socket> {
  const attempts = options.attempts ?? 1;
  if (!Number.isInteger(attempts) || attempts < 1) throw new RangeError(`connectionAttempts must be a positive integer, not ${attempts}`);
  if (options.family !== undefined && options.family !== 4 && options.family !== 6) throw new RangeError(`family must be 4 or 6, not ${String(options.family)}`);
  for (let i = 1; ; i++) {
    try {
      return await connectOnce(host, port, options);
    } catch (err) {
      if (i >= attempts || err instanceof AbortError) throw err;
      await pause(RETRY_PAUSE_MS, options.signal);
    }
  }
}

function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new AbortError());
    const onAbort = () => {
      clearTimeout(t);
      reject(new AbortError());
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function connectOnce(host: string, port: number, options: SocketOptions): Promise<Socket> {
  const { timeoutMs, signal } = options;
  return new Promise((resolve, reject) => {
    const socket: Socket = netConnect({
      host,
      port,
      // Reads into one reused buffer instead of a new one per read (io/node/driver.ts).
      onread: REUSED_READS,
      ...(options.localAddress !== undefined ? { localAddress: options.localAddress } : {}),
      ...(options.family !== undefined ? { family: options.family } : {}),
    });
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 60_000);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      reject(new TimeoutError(`TCP connect to ${host}:${port}`, timeoutMs));
    }, timeoutMs);
    const onAbort = () => {
      clearTimeout(timer);
      socket.destroy();
      reject(new AbortError());
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve(socket);
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      const from = options.localAddress !== undefined ? ` from ${options.localAddress}` : '';
      reject(new NacreError(`cannot connect to ${host}:${port}${from}: ${err.message}`, DisconnectReason.CONNECTION_LOST, { cause: err }));
    });
  });
}
