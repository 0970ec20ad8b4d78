// What ssh says when the server ends the connection with a DISCONNECT
// message (packet.c): the reason code and the server's description ("server
// shutting down", an idle timeout, a maintenance note), then "Disconnected
// from"; both at ERROR level. The description is the server's text: control
// characters are shown as octal escapes, as ssh's log shows them (strnvis),
// and it is cut at 400 characters.

import { visible } from './peer-text.js';

/**
 * ssh's two lines for a connection the server ended with a DISCONNECT
 * (`err` the connection's close error, a DisconnectError from the peer), or
 * null for any other end. `address` and `port`: where the connection went.
 */
export function peerDisconnectLines(err: unknown, address: string, port: number): string[] | null {
  const e = err as { name?: unknown; fromPeer?: unknown; reason?: unknown; description?: unknown } | null | undefined;
  if (!e || e.name !== 'DisconnectError' || e.fromPeer !== true || typeof e.reason !== 'number') return null;
  const description = typeof e.description === 'string' ? visible(e.description) : '';
  return [`Received disconnect from ${address} port ${port}:${e.reason}: ${description}`, `Disconnected from ${address} port ${port}`];
}

/** Whether `err` is a connection's end by the server's DISCONNECT. */
export function isPeerDisconnect(err: unknown): boolean {
  return peerDisconnectLines(err, '', 0) !== null;
}
