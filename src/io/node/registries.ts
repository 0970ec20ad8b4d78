// The channel types and global requests a connection answers, by name (as Go's
// HandleChannelOpen): forwarding, sessions, the agent and X11 each register
// a handler instead of a switch in the client or server knowing them all.
// What nobody registered gets the protocol's refusal: OPEN_FAILURE
// UNKNOWN_CHANNEL_TYPE for a channel, REQUEST_FAILURE for a global request
// that wants a reply.
import { ProtocolError, TimeoutError } from '../../errors.js';
import { OpenFailureReason } from '../../messages/connection.js';
import type { Channel } from './channel.js';

/** A channel the peer asks to open. Answer it once, with `accept()` or `reject()`. */
export interface IncomingChannelOpen {
  /** The channel type, e.g. `forwarded-tcpip`. */
  readonly channelType: string;
  /** The type-specific data after the standard CHANNEL_OPEN fields (decode it with the type's schema). */
  readonly data: Uint8Array;
  /**
   * Confirms the channel and returns it as a Duplex. `windowSize` starts it
   * with a smaller window than the connection's (data sent before anyone
   * reads it is held in memory). Throws when the open was answered already or
   * the connection is gone.
   */
  accept(options?: { readonly windowSize?: number }): Channel;
  /**
   * Refuses with an OPEN_FAILURE reason (`OpenFailureReason`; default
   * ADMINISTRATIVELY_PROHIBITED). Does nothing once the open was answered or
   * the connection is gone.
   */
  reject(reason?: number, description?: string): void;
  /** Whether `accept()` or `reject()` was called (or the open was refused for the handler). */
  readonly answered: boolean;
}

/**
 * Answers the opens of one channel type. It must accept or reject before it
 * returns, or before its promise settles: an open still unanswered then is
 * refused (ADMINISTRATIVELY_PROHIBITED), and a throw or rejection refuses it
 * with CONNECT_FAILED, so that no open waits forever on a forgotten answer.
 * A promise that does not settle within the channel-open timeout is given
 * up on the same way (CONNECT_FAILED).
 */
export type ChannelOpenHandler = (open: IncomingChannelOpen) => void | Promise<void>;

/** A global request from the peer. */
export interface IncomingGlobalRequest {
  readonly name: string;
  /** Whether the peer waits for REQUEST_SUCCESS / REQUEST_FAILURE; if not, the answer is dropped. */
  readonly wantReply: boolean;
  /** The request-specific data after the name and want-reply flag. */
  readonly data: Uint8Array;
}

/** `true` / `false`, or success with reply data (e.g. the port a `tcpip-forward` bound). */
export type GlobalRequestAnswer = boolean | { readonly success: boolean; readonly data?: Uint8Array };

/**
 * Answers one global request name; a throw or rejection answers failure.
 * Replies go out in the order the requests came, whenever each handler
 * finishes (the peer matches them by order alone).
 */
export type GlobalRequestHandler = (request: IncomingGlobalRequest) => GlobalRequestAnswer | Promise<GlobalRequestAnswer>;

/** The peer's answer to one of our global requests. */
export type GlobalReply = { success: boolean; data: Uint8Array };

/** What the registries need of the connection whose requests they answer. */
export interface RequestAnswerer {
  /** The error that ended the connection, or null while it is up. */
  readonly error: Error | null;
  acceptChannel(id: number, type: string, options?: { windowSize?: number }): Channel;
  rejectChannel(id: number, reason: number, description: string): void;
  answerGlobalRequest(id: number, success: boolean, data?: Uint8Array): void;
}

/**
 * How long an asynchronous handler may take (ms; 0 for no limit). Past it,
 * the open is refused and the request fails, and a TimeoutError is reported:
 * replies leave in request order, so one request left unanswered would hold
 * back every later reply, the keepalive replies a peer counts on included.
 */
export interface HandlerTimeouts {
  readonly channelOpen: number;
  readonly globalRequest: number;
}

/** Channel types by name, and global requests by name, with their handlers. */
export class Registries {
  readonly channelOpen = new Map<string, ChannelOpenHandler>();
  readonly globalRequest = new Map<string, GlobalRequestHandler>();

  constructor(
    private readonly host: RequestAnswerer,
    /** Errors thrown by handlers, except ProtocolErrors (malformed request data from the peer). */
    private readonly reportError: (e: unknown) => void,
    private readonly timeouts: HandlerTimeouts = { channelOpen: 0, globalRequest: 0 },
  ) {}

  /** Calls `fn` once after `ms` unless the returned function is called first; nothing with 0. */
  private deadline(ms: number, fn: () => void): () => void {
    if (ms <= 0) return () => undefined;
    const timer = setTimeout(fn, ms);
    timer.unref();
    return () => clearTimeout(timer);
  }

  /** Runs the handler of `channelType`, or refuses the open as an unknown type. */
  openChannel(id: number, channelType: string, data: Uint8Array): void {
    const handler = this.channelOpen.get(channelType);
    if (!handler) {
      this.host.rejectChannel(id, OpenFailureReason.UNKNOWN_CHANNEL_TYPE, `unknown channel type ${channelType}`);
      return;
    }
    const open = new PendingOpen(this.host, id, channelType, data);
    const failed = (err: unknown) => {
      this.report(err);
      open.reject(OpenFailureReason.CONNECT_FAILED, 'malformed or failed request');
    };
    const unanswered = () => open.reject(OpenFailureReason.ADMINISTRATIVELY_PROHIBITED, `${channelType} channel not accepted`);
    let result: void | Promise<void>;
    try {
      result = handler(open);
    } catch (err) {
      failed(err);
      return;
    }
    if (!isPromise(result)) return unanswered();
    const stop = this.deadline(this.timeouts.channelOpen, () => {
      if (open.answered) return;
      this.report(new TimeoutError(`${channelType} channel open handler`, this.timeouts.channelOpen));
      open.reject(OpenFailureReason.CONNECT_FAILED, `${channelType} channel not answered in time`);
    });
    result.then(unanswered, failed).then(stop, (err: unknown) => {
      stop();
      this.report(err);
    });
  }

  /** Runs the handler of `name` and sends its answer if one is wanted; unknown names fail. */
  request(id: number, name: string, wantReply: boolean, data: Uint8Array): void {
    const handler = this.globalRequest.get(name);
    // Every request that wants a reply gets exactly one, whatever the handler
    // gave: the core sends replies in request order, so one never answered
    // would hold back every later reply (keepalives included) for good.
    let replied = false;
    const reply = (answer: unknown) => {
      if (replied) return;
      replied = true;
      if (!wantReply || this.host.error) return;
      const read = readAnswer(answer);
      if (read instanceof TypeError) this.report(new TypeError(`global request ${name}: ${read.message}`));
      const [success, replyData] = read instanceof TypeError ? [false, undefined] : read;
      this.host.answerGlobalRequest(id, success, replyData);
    };
    if (!handler) return reply(false);
    const failed = (err: unknown) => {
      this.report(err);
      reply(false);
    };
    let result: GlobalRequestAnswer | Promise<GlobalRequestAnswer>;
    try {
      result = handler({ name, wantReply, data });
    } catch (err) {
      return failed(err);
    }
    if (!isPromise(result)) return reply(result);
    const stop = this.deadline(wantReply ? this.timeouts.globalRequest : 0, () => {
      if (replied) return;
      this.report(new TimeoutError(`global request ${name} handler`, this.timeouts.globalRequest));
      reply(false);
    });
    result.then(reply, failed).then(stop, (err: unknown) => {
      stop();
      this.report(err);
    });
  }

  private report(err: unknown): void {
    if (err instanceof ProtocolError) return;
    try {
      this.reportError(err);
    } catch {
      // a throwing error sink must not break the connection's dispatch
    }
  }
}

class PendingOpen implements IncomingChannelOpen {
  answered = false;

  constructor(
    private readonly host: RequestAnswerer,
    private readonly id: number,
    readonly channelType: string,
    readonly data: Uint8Array,
  ) {}

  accept(options: { readonly windowSize?: number } = {}): Channel {
    if (this.answered) throw new Error(`this ${this.channelType} open was answered already`);
    if (this.host.error) throw this.host.error;
    // Answered only once the confirmation is sent: an accept that throws (a
    // bad windowSize) leaves the open to be refused, not waiting forever.
    const channel = this.host.acceptChannel(this.id, this.channelType, options.windowSize === undefined ? {} : { windowSize: options.windowSize });
    this.answered = true;
    return channel;
  }

  reject(reason: number = OpenFailureReason.ADMINISTRATIVELY_PROHIBITED, description = ''): void {
    if (this.answered) return;
    this.answered = true;
    if (this.host.error) return;
    this.host.rejectChannel(this.id, reason, description);
  }
}

/** What a GlobalRequestHandler returned, as success and reply data; a TypeError saying why when it is not a GlobalRequestAnswer (plain JavaScript may return anything). */
function readAnswer(answer: unknown): [boolean, Uint8Array | undefined] | TypeError {
  if (typeof answer === 'boolean') return [answer, undefined];
  if (typeof answer !== 'object' || answer === null || typeof (answer as { success?: unknown }).success !== 'boolean') {
    return new TypeError(`the handler answered ${answer === null ? 'null' : typeof answer}, not a boolean or { success, data? }; failure was sent`);
  }
  const { success, data } = answer as { success: boolean; data?: unknown };
  if (!success || data === undefined) return [success, undefined];
  if (!(data instanceof Uint8Array)) return new TypeError(`the handler's reply data is ${data === null ? 'null' : typeof data}, not a Uint8Array; failure was sent`);
  return [true, data];
}

function isPromise<T>(v: T | Promise<T>): v is Promise<T> {
  return typeof (v as { then?: unknown } | null | undefined)?.then === 'function';
}
