// What the transport core tells the layer that drives it.
import type { NacreError } from '../../errors.js';
import type { NegotiatedAlgorithms } from '../kex/negotiate.js';

export type TransportEvent =
  /** Client: the server proved it holds this host key; answer with `answerHostKey`. */
  | { readonly type: 'host-key'; readonly hostKey: Uint8Array; readonly algorithm: string }
  /** A key exchange finished (both NEWKEYS done). */
  | { readonly type: 'keys-exchanged'; readonly initial: boolean; readonly algorithms: NegotiatedAlgorithms; readonly strict: boolean }
  /** Server: the client asked for a service; answer with `acceptService` or `disconnect`. */
  | { readonly type: 'service-request'; readonly service: string }
  /** Client: the server accepted a service request. */
  | { readonly type: 'service-accept'; readonly service: string }
  | { readonly type: 'ext-info'; readonly extensions: ReadonlyMap<string, Uint8Array> }
  /** A message for the upper layers (number 50 and above). */
  | { readonly type: 'message'; readonly payload: Uint8Array; readonly seq: number }
  | { readonly type: 'debug'; readonly text: string; readonly alwaysDisplay: boolean }
  | { readonly type: 'pong'; readonly data: Uint8Array }
  | { readonly type: 'unimplemented'; readonly seq: number }
  /** The connection is over: read `error` for why. No event follows. */
  | { readonly type: 'disconnected'; readonly error: NacreError; readonly fromPeer: boolean };
