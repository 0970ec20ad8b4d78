// The byte stream `connect()` runs SSH over: the caller's `sock`, a jump
// host chain (proxyJump), a ProxyCommand, or a TCP connection; with what to
// release when the connection ends.
import type { Duplex } from 'node:stream';
import type { ConnectOptions } from './options.js';
import { openSocket } from './socket.js';
import type { JumpClient } from './jump.js';

export interface Transport {
  readonly stream: Duplex;
  /**
   * Closes what was opened to make the stream (jump hosts, the proxy
   * command) once the stream has closed, so the DISCONNECT written last
   * still gets through; safe to call twice. The stream itself is the
   * connection's to end.
   */
  dispose(): void;
}

/** Time the stream gets to close by itself before what carries it is closed anyway. */
const CLOSE_GRACE_MS = 1500;

/** `release`, run once `stream` has closed (or after CLOSE_GRACE_MS). */
function afterClose(stream: Duplex, release: () => void): () => void {
  let done = false;
  let timer: NodeJS.Timeout | undefined;
  const run = () => {
    if (done) return;
    done = true;
    if (timer) clearTimeout(timer);
    release();
  };
  return () => {
    if (done) return;
    if (stream.destroyed || stream.closed) return run();
    stream.once('close', run);
    timer ??= setTimeout(run, CLOSE_GRACE_MS);
    timer.unref();
  };
}

/**
 * The stream for `options` (ssh_config already applied). `given` is what the
 * caller passed to connect(): jump hosts start from it, so with `config`
 * each hop reads its own ssh_config entry rather than the target's.
 */
export async function openTransport(
  options: ConnectOptions,
  host: string,
  port: number,
  username: string,
  connect: (options: ConnectOptions) => Promise<JumpClient>,
  given: ConnectOptions = options,
): Promise<Transport> {
  if (options.sock) return { stream: options.sock, dispose: () => undefined };
  // Jump hosts and proxy commands load their modules only when asked for.
  if (options.proxyJump !== undefined) {
    const { connectThroughJumps } = await import('./jump.js');
    const jumped = await connectThroughJumps(given, options.proxyJump, host, port, connect, { host: given.host ?? host, port, username });
    if (jumped) return { stream: jumped.stream, dispose: afterClose(jumped.stream, jumped.dispose) };
  }
  if (options.proxyCommand !== undefined && options.proxyCommand.trim().toLowerCase() !== 'none') {
    const { expandProxyCommand, startProxyCommand } = await import('./proxy-command.js');
    const proxy = startProxyCommand(expandProxyCommand(options.proxyCommand, { host, port, user: username }));
    return { stream: proxy.stream, dispose: afterClose(proxy.stream, () => proxy.dispose()) };
  }
  const socket = await openSocket(host, port, {
    timeoutMs: options.connectTimeout ?? 20_000,
    signal: options.signal,
    localAddress: options.localAddress,
    family: options.family,
    attempts: options.connectionAttempts,
  });
  // The connection ends the socket itself (and destroys it a moment later).
  return { stream: socket, dispose: () => undefined };
}
