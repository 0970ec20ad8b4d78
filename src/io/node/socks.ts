// Serves one SOCKS connection over a Node stream: reads the handshake with
// the pure codec (src/socks), asks `connect` for the destination's stream,
// answers the client, and relays. A client that sends garbage, or whose
// destination cannot be reached, gets the SOCKS error reply and is closed;
// nothing here touches any other connection.
import type { Duplex } from 'node:stream';
import { pipeline } from 'node:stream';
import { OpenFailureReason } from '../../messages/connection.js';
import { SocksError, SocksHandshake, socksFailureReply, socksSuccessReply, type SocksFailure, type SocksRequest } from '../../socks/codec.js';
import { ChannelOpenError } from './node-endpoint.js';

/** Time a SOCKS client gets to send its whole request. */
export const SOCKS_HANDSHAKE_TIMEOUT_MS = 30_000;

export interface SocksServeOptions {
  /** Called with why a client was dropped or refused (a SocksError, or the connect failure). */
  readonly onError?: (err: Error, request: SocksRequest | null) => void;
  /** Called once a request was granted and relaying started. */
  readonly onConnect?: (request: SocksRequest) => void;
  readonly handshakeTimeoutMs?: number;
}

/** The SOCKS reason for a failed connect: the SSH channel open failure when it is one. */
export function socksFailureOf(err: unknown): SocksFailure {
  if (err instanceof ChannelOpenError) {
    if (err.openReason === OpenFailureReason.ADMINISTRATIVELY_PROHIBITED) return 'not-allowed';
    if (err.openReason === OpenFailureReason.CONNECT_FAILED) return /unreachable|resolve|name|not known/i.test(err.message) ? 'host-unreachable' : 'refused';
    return 'general';
  }
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 'ECONNREFUSED') return 'refused';
  if (code === 'EHOSTUNREACH' || code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'host-unreachable';
  if (code === 'ENETUNREACH') return 'network-unreachable';
  if (code === 'ETIMEDOUT') return 'ttl-expired';
  return 'general';
}

/** Serves `client` as a SOCKS 4/4a/5 server whose connections `connect` makes. */
export function serveSocks(client: Duplex, connect: (request: SocksRequest) => Promise<Duplex>, options: SocksServeOptions = {}): void {
  const handshake = new SocksHandshake();
  let settled = false;
  const timer = setTimeout(() => drop(new SocksError('no complete request in time')), options.handshakeTimeoutMs ?? SOCKS_HANDSHAKE_TIMEOUT_MS);
  timer.unref?.();
  const stop = () => {
    settled = true;
    clearTimeout(timer);
    client.off('data', onData);
    client.off('end', onEnd);
  };
  // The reply is written, then the stream ended; destroy follows if the client lingers.
  const drop = (err: Error, reply?: Uint8Array, request: SocksRequest | null = null) => {
    if (settled && !request) return;
    stop();
    options.onError?.(err, request);
    if (reply && reply.length > 0 && client.writable) client.end(reply);
    else client.end();
    const t = setTimeout(() => client.destroy(), 1000);
    t.unref?.();
    client.once('close', () => clearTimeout(t));
    client.resume();
  };
  const onEnd = () => drop(new SocksError('the client closed before its request was complete'));
  const onData = (chunk: Buffer) => {
    let step;
    try {
      step = handshake.push(chunk);
    } catch (err) {
      drop(err as Error, err instanceof SocksError ? err.reply : undefined);
      return;
    }
    if (step.send) client.write(step.send);
    const request = step.request;
    if (!request) return;
    stop();
    client.pause();
    connect(request).then(
      (target) => {
        if (client.destroyed) {
          target.destroy();
          return;
        }
        client.write(socksSuccessReply(request.version));
        if (step.rest.length > 0) target.write(step.rest);
        options.onConnect?.(request);
        pipeline(client, target, () => undefined);
        pipeline(target, client, () => undefined);
      },
      (err: unknown) => {
        const e = err instanceof Error ? err : new Error(String(err));
        drop(e, socksFailureReply(request.version, socksFailureOf(err)), request);
      },
    );
  };
  client.on('data', onData);
  client.on('end', onEnd);
  // Until a pipeline owns it, a reset must not become an unhandled 'error'.
  client.on('error', () => {
    stop();
    client.destroy();
  });
}
