// What the Endpoint gives each protocol layer above the transport (auth,
// connection): a way to send, to report events, to fail the connection, and
// the facts of the connection they need. Layers never see the transport.
import type { NacreError } from '../errors.js';
import type { RandomSource } from '../algorithms/types.js';

export interface LayerIo<E> {
  /**
   * Sends an upper-layer payload (held back by the transport during rekey).
   * `tail` is appended to it without an intermediate copy (channel data).
   */
  send(payload: Uint8Array, tail?: Uint8Array): void;
  /** Reports an event to the application. */
  emit(event: E): void;
  /** Ends the connection with DISCONNECT (the error's reason code) and a `disconnected` event. */
  fail(error: NacreError): void;
  /** The current time (ms) as last told to the Endpoint. */
  now(): number;
  readonly random: RandomSource;
  /** Exchange hash of the first key exchange (RFC 4253 §7.2). */
  sessionId(): Uint8Array;
  /** The server's host key blob (client: as verified; server: the one used in kex). */
  serverHostKey(): Uint8Array;
  /** Extensions the peer announced in EXT_INFO (e.g. `server-sig-algs`). */
  peerExtensions(): ReadonlyMap<string, Uint8Array>;
  /** Marks user authentication as done (starts delayed compression and rekey limits). */
  setAuthenticated(): void;
}
