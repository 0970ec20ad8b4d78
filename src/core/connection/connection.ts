// The SSH connection protocol (RFC 4254) as a sans-I/O state machine:
// channels with flow control, channel requests and global requests. Payloads
// of messages 80..127 come in through `handle`; the application drives it
// with commands and hears back through `ConnectionEvent`s.

import { ProtocolError } from '../../errors.js';
import {
  MSG_CONNECTION as M,
  OpenFailureReason,
  GlobalRequest,
  RequestSuccess,
  RequestFailure,
  ChannelOpen,
  ChannelOpenConfirmation,
  ChannelOpenFailure,
  ChannelWindowAdjust,
  ChannelData,
  ChannelExtendedData,
  ChannelEof,
  ChannelClose,
  ChannelRequest,
  ChannelSuccess,
  ChannelFailure,
} from '../../messages/connection.js';
import type { LayerIo } from '../layer.js';
import type { ConnectionEvent, ConnectionOptions } from './events.js';
import { Channel, ChannelError, ChannelTable, type ChannelInfo } from './channel.js';
import { GlobalRequests } from './global-requests.js';
import { MIN_PEER_MAX_PACKET, SEND_CHUNK_CAP, WRITE_CALL_LIMIT, encodeDataHead } from './data-messages.js';
import { ReceiveWindows } from './receive-windows.js';

export { ChannelError, type ChannelInfo, type ChannelState } from './channel.js';
export { encodeTerminalModes, decodeTerminalModes, TerminalModeOpcodes } from './terminal-modes.js';
export { MIN_PEER_MAX_PACKET, SEND_CHUNK_CAP, WRITE_CALL_LIMIT } from './data-messages.js';

const DEFAULT_WINDOW = 2 * 1024 * 1024;
const DEFAULT_MAX_PACKET = 32 * 1024;
const DEFAULT_MAX_CHANNELS = 1024;
/** Default for `receiveBudget`: sixteen channels with a full default window. */
export const DEFAULT_RECEIVE_BUDGET = 32 * 1024 * 1024;
const UINT32_MAX = 0xffffffff;
const EMPTY = new Uint8Array(0);

function checkUint32(what: string, v: number, min: number): number {
  if (!Number.isInteger(v) || v < min || v > UINT32_MAX) throw new RangeError(`${what} must be an integer in ${min}..${UINT32_MAX}, got ${v}`);
  return v;
}

/**
 * What the rest of the program may read of a connection layer it does not
 * drive: the Endpoint runs its commands, each with the time (see endpoint.ts).
 */
export type ConnectionView = Pick<Connection, 'receiveBudget' | 'receiveBound' | 'receiveCommitted' | 'openChannels' | 'channelInfo' | 'windowOf'>;

export class Connection {
  private readonly channels: ChannelTable;
  private readonly globals = new GlobalRequests();
  private readonly windowSize: number;
  private readonly maxPacket: number;
  /** Our receive windows and the budget they share. */
  private readonly windows: ReceiveWindows;

  constructor(
    private readonly io: LayerIo<ConnectionEvent>,
    options: ConnectionOptions = {},
  ) {
    this.windowSize = checkUint32('windowSize', options.windowSize ?? DEFAULT_WINDOW, 1);
    this.maxPacket = checkUint32('maxPacket', options.maxPacket ?? DEFAULT_MAX_PACKET, 1);
    this.channels = new ChannelTable(checkUint32('maxChannels', options.maxChannels ?? DEFAULT_MAX_CHANNELS, 1));
    const budget = options.receiveBudget ?? DEFAULT_RECEIVE_BUDGET;
    if (!(budget >= 0)) throw new RangeError(`receiveBudget must be a number of bytes, got ${budget}`);
    this.windows = new ReceiveWindows(budget, this.maxPacket);
  }

  /** What the channels' windows beyond their first packet may add up to (see ConnectionOptions). */
  get receiveBudget(): number {
    return this.windows.budget;
  }

  /**
   * The most the peer can make this connection hold: every channel's first
   * packet of window, plus the budget shared beyond that.
   */
  get receiveBound(): number {
    return this.channels.limit * this.maxPacket + this.windows.budget;
  }

  /** How much of the receive budget the channels' windows hold now. */
  get receiveCommitted(): number {
    return this.windows.committedBytes;
  }

  /** Channels that hold a number: opening, awaiting our answer, open or closing. */
  get openChannels(): number {
    return this.channels.size;
  }

  channelInfo(channel: number): ChannelInfo | undefined {
    return this.channels.get(channel)?.info();
  }

  /** The peer's remaining window: how many bytes `write` would take now (0 if unusable). */
  windowOf(channel: number): number {
    const ch = this.channels.get(channel);
    if (!ch || ch.state !== 'open' || ch.sentEof || ch.sentClose) return 0;
    return ch.remoteWindow;
  }

  // ---------------------------------------------------------------- commands

  /** Sends CHANNEL_OPEN; the answer arrives as `channel-open-confirmed` or `channel-open-failed`. */
  openChannel(channelType: string, data: Uint8Array = EMPTY, opts: { windowSize?: number; maxPacket?: number } = {}): number {
    if (this.channels.full) throw new ChannelError(`channel limit of ${this.channels.limit} reached`);
    const want = checkUint32('windowSize', opts.windowSize ?? this.windowSize, 1);
    const maxPacket = checkUint32('maxPacket', opts.maxPacket ?? this.maxPacket, 1);
    const ch = this.channels.allocate((n) => new Channel(n, channelType, 'opening', 0, maxPacket));
    this.windows.set(ch, want);
    this.io.send(ChannelOpen.encode({ type: channelType, senderChannel: ch.local, initialWindow: ch.localWindow, maxPacket, rest: data }));
    return ch.local;
  }

  acceptChannel(channel: number, data: Uint8Array = EMPTY, opts: { windowSize?: number; maxPacket?: number } = {}): void {
    const ch = this.mustHave(channel, 'open-request');
    if (opts.windowSize !== undefined) {
      // The window reserved when the open arrived goes back to the budget and
      // the requested one is taken from it instead, as far as it reaches.
      this.windows.set(ch, checkUint32('windowSize', opts.windowSize, 1));
    }
    if (opts.maxPacket !== undefined) ch.localMaxPacket = checkUint32('maxPacket', opts.maxPacket, 1);
    ch.state = 'open';
    this.io.send(
      ChannelOpenConfirmation.encode({
        recipientChannel: ch.remote!,
        senderChannel: ch.local,
        initialWindow: ch.localWindow,
        maxPacket: ch.localMaxPacket,
        rest: data,
      }),
    );
  }

  /** Refuses an incoming open; the number is free at once and no event follows. */
  rejectChannel(channel: number, reason: number, description: string): void {
    const ch = this.mustHave(channel, 'open-request');
    this.free(ch);
    this.io.send(ChannelOpenFailure.encode({ recipientChannel: ch.remote!, reason: checkUint32('reason', reason, 0), description, language: '' }));
  }

  /**
   * Sends as much of `data` as the peer's window allows, up to
   * `WRITE_CALL_LIMIT` bytes, in messages of at most the peer's max packet;
   * returns the count taken. The caller keeps the rest and retries: on
   * `channel-writable` when the window is spent (`windowOf` is 0), else on a
   * later turn, so that one channel cannot hold the event loop. `dataType`
   * (1 = stderr) selects CHANNEL_EXTENDED_DATA.
   *
   * `prefix`: small data that goes before `data`, all of it in the first
   * message (so that a few small writes and the large one after them make
   * one packet, without copying the large one). It must fit in the peer's
   * window and max packet, else ChannelError; the count returned is of
   * `data` only.
   */
  write(channel: number, data: Uint8Array, dataType?: number, prefix: Uint8Array = EMPTY): number {
    const ch = this.mustHave(channel, 'open');
    if (ch.sentEof || ch.sentClose) throw new ChannelError(`channel ${channel}: write after ${ch.sentClose ? 'close' : 'EOF'}`);
    if (dataType !== undefined) checkUint32('dataType', dataType, 0);
    const chunk = Math.min(ch.remoteMaxPacket, SEND_CHUNK_CAP);
    if (prefix.length > 0 && (prefix.length > ch.remoteWindow || prefix.length > chunk || prefix.length > WRITE_CALL_LIMIT)) {
      throw new ChannelError(`channel ${channel}: ${prefix.length} bytes of prefix do not fit the peer's window or packet`);
    }
    const total = Math.min(prefix.length + data.length, ch.remoteWindow, WRITE_CALL_LIMIT);
    if (chunk === 0) return 0;
    let off = 0;
    for (let sent = 0, pre = prefix; sent < total; pre = EMPTY) {
      const n = Math.min(chunk, total - sent) - pre.length;
      const piece = data.subarray(off, off + n);
      this.io.send(encodeDataHead(ch.remote!, pre.length + n, dataType, pre), piece);
      off += n;
      sent += pre.length + n;
    }
    ch.remoteWindow -= total;
    return total - prefix.length;
  }

  /**
   * The application has processed `bytes` of data received on `channel`.
   * The window is given back once at least half of the initial window has
   * been consumed, so memory held for a slow reader stays within the window.
   * Counts beyond what was received are clamped, and calls for a channel
   * that is gone are ignored (data may be processed after `channel-close`).
   */
  consumed(channel: number, bytes: number): void {
    const ch = this.channels.get(channel);
    if (!ch || ch.state === 'opening' || ch.state === 'open-request') return;
    if (!Number.isFinite(bytes) || bytes <= 0) return;
    const grant = this.windows.consumed(ch, bytes);
    if (grant > 0) this.io.send(ChannelWindowAdjust.encode({ recipientChannel: ch.remote!, bytes: grant }));
  }

  /**
   * Raises `channel`'s window to `size` in total (default: the connection's
   * `windowSize`) with a WINDOW_ADJUST for the difference, as far as the
   * receive budget allows; returns the window the channel has now. A server
   * opens session channels with a small window and grows it once a program is
   * there to read the data.
   */
  growWindow(channel: number, size: number = this.windowSize): number {
    const ch = this.mustHave(channel, 'open');
    checkUint32('size', size, 1);
    const extra = this.windows.grow(ch, size);
    if (extra > 0) this.io.send(ChannelWindowAdjust.encode({ recipientChannel: ch.remote!, bytes: extra }));
    return ch.localInitialWindow;
  }

  /** Sends CHANNEL_EOF (no more data from us). Repeated calls do nothing. */
  eof(channel: number): void {
    const ch = this.mustHave(channel, 'open', 'closing');
    if (ch.sentEof || ch.sentClose) return;
    ch.sentEof = true;
    this.io.send(ChannelEof.encode({ recipientChannel: ch.remote! }));
  }

  /**
   * Sends CHANNEL_CLOSE; `channel-close` follows once the peer's CLOSE has
   * arrived too. On a channel we are still opening, CLOSE goes out as soon
   * as the peer confirms, and either way the outcome is `channel-close`
   * (never `channel-open-confirmed` or `channel-open-failed`). Repeated
   * calls do nothing. An incoming open must be answered with `rejectChannel`.
   */
  close(channel: number): void {
    const ch = this.mustHave(channel, 'open', 'closing', 'opening');
    if (ch.state === 'opening') {
      ch.closeWhenConfirmed = true;
      return;
    }
    this.sendClose(ch);
  }

  /** Sends CHANNEL_REQUEST; with `wantReply`, the answer is a `channel-request-reply` (in request order). */
  channelRequest(channel: number, requestType: string, wantReply: boolean, data: Uint8Array = EMPTY): void {
    const ch = this.mustHave(channel, 'open');
    if (ch.sentClose) throw new ChannelError(`channel ${channel}: request after close`);
    if (wantReply) ch.ourRequestsAwaitingReply++;
    this.io.send(ChannelRequest.encode({ recipientChannel: ch.remote!, type: requestType, wantReply, rest: data }));
  }

  /**
   * Answers the oldest request on `channel` that wanted a reply and has
   * none yet. Requests carry no identifier on the wire, so answers always
   * apply in arrival order. Ignored when the channel is gone or closing.
   */
  answerChannelRequest(channel: number, success: boolean): void {
    const ch = this.channels.get(channel);
    if (!ch || ch.sentClose) return;
    if (ch.state !== 'open' || ch.peerRequestsAwaitingAnswer === 0) {
      throw new ChannelError(`channel ${channel}: no request is waiting for an answer`);
    }
    ch.peerRequestsAwaitingAnswer--;
    const reply = success ? ChannelSuccess : ChannelFailure;
    this.io.send(reply.encode({ recipientChannel: ch.remote! }));
  }

  /** Sends GLOBAL_REQUEST; returns the id its `global-reply` will carry (when `wantReply`). */
  globalRequest(name: string, wantReply: boolean, data: Uint8Array = EMPTY): number {
    const id = this.globals.sent(wantReply);
    this.io.send(GlobalRequest.encode({ name, wantReply, rest: data }));
    return id;
  }

  /**
   * Answers the peer's global request `id`. Replies leave in the order the
   * requests arrived: an answer is held until all earlier ones are given.
   * `data` goes only with success. Answering a request that wanted no reply
   * (or answering twice) does nothing.
   */
  answerGlobalRequest(id: number, success: boolean, data: Uint8Array = EMPTY): void {
    for (const reply of this.globals.answer(id, success, data)) {
      this.io.send(reply.success ? RequestSuccess.encode({ rest: reply.data }) : RequestFailure.encode({}));
    }
  }

  // ---------------------------------------------------------------- input

  /** Handles one payload of message 80..127. Throws ProtocolError on bad input. */
  handle(payload: Uint8Array): void {
    const type = payload[0];
    switch (type) {
      case M.GLOBAL_REQUEST: {
        const m = GlobalRequest.decode(payload);
        const id = this.globals.received(m.wantReply);
        this.io.emit({ type: 'global-request', id, name: m.name, wantReply: m.wantReply, data: m.rest });
        return;
      }
      case M.REQUEST_SUCCESS: {
        const m = RequestSuccess.decode(payload);
        this.io.emit({ type: 'global-reply', id: this.globals.replied(), success: true, data: m.rest });
        return;
      }
      case M.REQUEST_FAILURE:
        RequestFailure.decode(payload);
        this.io.emit({ type: 'global-reply', id: this.globals.replied(), success: false, data: EMPTY });
        return;
      case M.CHANNEL_OPEN:
        return this.onOpen(ChannelOpen.decode(payload));
      case M.CHANNEL_OPEN_CONFIRMATION:
        return this.onOpenConfirmation(ChannelOpenConfirmation.decode(payload));
      case M.CHANNEL_OPEN_FAILURE:
        return this.onOpenFailure(ChannelOpenFailure.decode(payload));
      case M.CHANNEL_WINDOW_ADJUST: {
        const m = ChannelWindowAdjust.decode(payload);
        const ch = this.active(m.recipientChannel, 'CHANNEL_WINDOW_ADJUST');
        if (!ch) return;
        // OpenSSH treats a window pushed past 2^32-1 as fatal; so do we.
        if (ch.remoteWindow + m.bytes > UINT32_MAX) {
          throw new ProtocolError(`channel ${ch.local}: window adjust of ${m.bytes} overflows window ${ch.remoteWindow}`);
        }
        ch.remoteWindow += m.bytes;
        if (!ch.sentEof && m.bytes > 0) this.io.emit({ type: 'channel-writable', channel: ch.local, window: ch.remoteWindow });
        return;
      }
      case M.CHANNEL_DATA: {
        const m = ChannelData.decode(payload);
        return this.onData(m.recipientChannel, m.data, undefined);
      }
      case M.CHANNEL_EXTENDED_DATA: {
        const m = ChannelExtendedData.decode(payload);
        return this.onData(m.recipientChannel, m.data, m.dataType);
      }
      case M.CHANNEL_EOF: {
        const ch = this.active(ChannelEof.decode(payload).recipientChannel, 'CHANNEL_EOF');
        if (!ch || ch.receivedEof) return;
        ch.receivedEof = true;
        this.io.emit({ type: 'channel-eof', channel: ch.local });
        return;
      }
      case M.CHANNEL_CLOSE: {
        const ch = this.confirmed(ChannelClose.decode(payload).recipientChannel, 'CHANNEL_CLOSE');
        this.sendClose(ch);
        this.free(ch);
        // A channel refused at confirmation was reported as failed already.
        if (!ch.refusedAtConfirmation) this.io.emit({ type: 'channel-close', channel: ch.local });
        return;
      }
      case M.CHANNEL_REQUEST: {
        const m = ChannelRequest.decode(payload);
        const ch = this.active(m.recipientChannel, 'CHANNEL_REQUEST');
        if (!ch) return;
        if (m.wantReply) ch.peerRequestsAwaitingAnswer++;
        this.io.emit({ type: 'channel-request', channel: ch.local, requestType: m.type, wantReply: m.wantReply, data: m.rest });
        return;
      }
      case M.CHANNEL_SUCCESS:
      case M.CHANNEL_FAILURE: {
        const schema = type === M.CHANNEL_SUCCESS ? ChannelSuccess : ChannelFailure;
        const ch = this.active(schema.decode(payload).recipientChannel, schema.name);
        if (!ch) return;
        if (ch.ourRequestsAwaitingReply === 0) throw new ProtocolError(`channel ${ch.local}: ${schema.name} with no request outstanding`);
        ch.ourRequestsAwaitingReply--;
        this.io.emit({ type: 'channel-request-reply', channel: ch.local, success: type === M.CHANNEL_SUCCESS });
        return;
      }
      default:
        throw new ProtocolError(`unexpected connection-layer message ${type ?? '(empty)'}`);
    }
  }

  private onOpen(m: ReturnType<typeof ChannelOpen.decode>): void {
    // Refusals here do not bother the application, as OpenSSH does when out of slots.
    const refuse = (reason: number, description: string): void =>
      this.io.send(ChannelOpenFailure.encode({ recipientChannel: m.senderChannel, reason, description, language: '' }));
    if (this.channels.full) return refuse(OpenFailureReason.RESOURCE_SHORTAGE, 'too many channels');
    if (m.maxPacket < MIN_PEER_MAX_PACKET) {
      return refuse(OpenFailureReason.ADMINISTRATIVELY_PROHIBITED, `maximum packet size ${m.maxPacket} is below ${MIN_PEER_MAX_PACKET}`);
    }
    const ch = this.channels.allocate((n) => new Channel(n, m.type, 'open-request', 0, this.maxPacket));
    this.windows.set(ch, this.windowSize);
    ch.remote = m.senderChannel;
    ch.remoteWindow = m.initialWindow;
    ch.remoteMaxPacket = m.maxPacket;
    this.io.emit({ type: 'channel-open-request', channel: ch.local, channelType: m.type, data: m.rest });
  }

  private onOpenConfirmation(m: ReturnType<typeof ChannelOpenConfirmation.decode>): void {
    const ch = this.known(m.recipientChannel, 'CHANNEL_OPEN_CONFIRMATION');
    if (ch.state !== 'opening') throw new ProtocolError(`channel ${ch.local}: CHANNEL_OPEN_CONFIRMATION for a channel not being opened`);
    ch.remote = m.senderChannel;
    ch.remoteWindow = m.initialWindow;
    ch.remoteMaxPacket = m.maxPacket;
    ch.state = 'open';
    if (ch.closeWhenConfirmed) {
      this.sendClose(ch);
      return;
    }
    if (m.maxPacket < MIN_PEER_MAX_PACKET) {
      // Too late to refuse: close it, and report the open as failed at once.
      ch.refusedAtConfirmation = true;
      this.sendClose(ch);
      const description = `peer's maximum packet size ${m.maxPacket} is below ${MIN_PEER_MAX_PACKET}`;
      this.io.emit({ type: 'channel-open-failed', channel: ch.local, reason: OpenFailureReason.ADMINISTRATIVELY_PROHIBITED, description });
      return;
    }
    this.io.emit({ type: 'channel-open-confirmed', channel: ch.local, data: m.rest });
  }

  private onOpenFailure(m: ReturnType<typeof ChannelOpenFailure.decode>): void {
    const ch = this.known(m.recipientChannel, 'CHANNEL_OPEN_FAILURE');
    if (ch.state !== 'opening') throw new ProtocolError(`channel ${ch.local}: CHANNEL_OPEN_FAILURE for a channel not being opened`);
    this.free(ch);
    if (ch.closeWhenConfirmed) this.io.emit({ type: 'channel-close', channel: ch.local });
    else this.io.emit({ type: 'channel-open-failed', channel: ch.local, reason: m.reason, description: m.description });
  }

  private onData(recipient: number, data: Uint8Array, dataType: number | undefined): void {
    const what = dataType === undefined ? 'CHANNEL_DATA' : 'CHANNEL_EXTENDED_DATA';
    const ch = this.active(recipient, what);
    // Data after the peer's EOF breaks RFC 4254 §5.3, but OpenSSH only logs it; drop it.
    if (!ch || ch.receivedEof) return;
    if (data.length > ch.localMaxPacket) {
      throw new ProtocolError(`channel ${ch.local}: ${what} of ${data.length} bytes exceeds our max packet of ${ch.localMaxPacket}`);
    }
    if (data.length > ch.localWindow) {
      throw new ProtocolError(`channel ${ch.local}: peer sent ${data.length} bytes with only ${ch.localWindow} left in the window`);
    }
    if (data.length === 0) return;
    ch.localWindow -= data.length;
    ch.unconsumed += data.length;
    this.io.emit(
      dataType === undefined
        ? { type: 'channel-data', channel: ch.local, data }
        : { type: 'channel-data', channel: ch.local, data, dataType },
    );
  }

  // ---------------------------------------------------------------- helpers

  /** Frees the channel's number and hands its window back to the budget. */
  private free(ch: Channel): void {
    this.channels.release(ch.local);
    this.windows.release(ch);
  }

  private sendClose(ch: Channel): void {
    if (ch.sentClose) return;
    ch.sentClose = true;
    ch.state = 'closing';
    this.io.send(ChannelClose.encode({ recipientChannel: ch.remote! }));
  }

  /** A channel the peer refers to: unknown numbers are a protocol error. */
  private known(n: number, what: string): Channel {
    const ch = this.channels.get(n);
    if (!ch) throw new ProtocolError(`${what} for unknown channel ${n}`);
    return ch;
  }

  /** A channel whose open both sides have agreed on (open or closing). */
  private confirmed(n: number, what: string): Channel {
    const ch = this.known(n, what);
    if (ch.state !== 'open' && ch.state !== 'closing') throw new ProtocolError(`${what} for channel ${n} before its open completed`);
    return ch;
  }

  /**
   * As `confirmed`, but undefined once we have sent CLOSE: the peer may have
   * sent these before seeing our CLOSE, so they are dropped, not errors.
   */
  private active(n: number, what: string): Channel | undefined {
    const ch = this.confirmed(n, what);
    return ch.sentClose ? undefined : ch;
  }

  /** A channel the application names, in one of the states the command allows. */
  private mustHave(n: number, ...states: Channel['state'][]): Channel {
    const ch = this.channels.get(n);
    if (!ch) throw new ChannelError(`no channel ${n}`);
    if (!states.includes(ch.state)) throw new ChannelError(`channel ${n} is ${ch.state}, not ${states.join(' or ')}`);
    return ch;
  }
}
