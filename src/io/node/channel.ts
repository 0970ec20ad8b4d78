// An SSH channel as a Node Duplex: writes respect the peer's window and the
// socket's backpressure; reads re-open our window only as the consumer reads,
// so a slow reader slows the peer instead of filling memory.
import { Duplex, Readable } from 'node:stream';
import type { ConnectionView } from '../../core/connection/connection.js';
import type { Endpoint } from '../../core/endpoint.js';
import type { ConnectionEvent } from '../../core/connection/events.js';
import { SEND_CHUNK_CAP, WRITE_CALL_LIMIT } from '../../core/connection/connection.js';
import { TimeoutError } from '../../errors.js';
import { ReqExitSignal, ReqExitStatus } from '../../messages/channel-types.js';
import { ChunkGatherer } from './chunk-gatherer.js';

/** The Endpoint commands a channel issues (each takes the time first). */
export type ChannelCommands = Pick<Endpoint, 'write' | 'consumed' | 'growWindow' | 'eof' | 'closeChannel' | 'channelRequest' | 'answerChannelRequest'>;

/** What a channel needs from the connection it belongs to. */
export interface ChannelHost {
  readonly connection: ConnectionView;
  /** Runs the channel's commands, each given `now()`. */
  readonly endpoint: ChannelCommands;
  now(): number;
  /** Flushes the Endpoint's output to the socket. */
  run(): void;
  readonly needsDrain: boolean;
  onDrain(fn: () => void): void;
  /** Milliseconds to wait for the reply to a channel request; 0 or absent waits forever. */
  readonly channelRequestMs?: number;
}

/** A channel request waiting for its reply, with the timer that gives up on it. */
type RequestWaiter = { readonly settle: (ok: boolean) => void; timer: NodeJS.Timeout | null };

export type ExitInfo = { readonly code: number | null; readonly signal: string | null; readonly coreDumped?: boolean; readonly message?: string };

type ChannelEvent = Extract<ConnectionEvent, { channel: number }>;

/** Writes shorter than this may be held until the end of the event loop's turn (see `held`). */
const HELD_WRITE = 1024;
/** What one channel holds at most. */
const HELD_LIMIT = 16 * 1024;
const EMPTY = new Uint8Array(0);

function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = Buffer.allocUnsafe(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

// Channel data reaches the streams without a copy (unless small pieces are
// gathered). Safe because the transport hands every received packet out in
// memory of its own (a fresh decryption or decompression output, or received
// socket bytes) that nothing writes to afterwards; copying it cost one
// allocation and a 32 KiB copy per packet.

export class Channel extends Duplex {
  /** Extended data of type 1 (stderr). */
  readonly stderr: Readable;
  /**
   * Resolves when the channel closes, with the exit-status or exit-signal the
   * peer sent (nulls when it sent neither). Not at the status itself: sshd may
   * send it before the last output, and callers collecting output want both.
   * The 'exit' event fires as soon as the status arrives.
   */
  readonly exit: Promise<ExitInfo>;
  private resolveExit!: (e: ExitInfo) => void;
  private exitInfo: ExitInfo | null = null;
  private unconsumed = 0;
  private stderrUnconsumed = 0;
  private readonly stdoutIn = new ChunkGatherer((b) => {
    this.unconsumed += b.length;
    if (this.push(b)) this.release('stdout');
  });
  private readonly stderrIn = new ChunkGatherer((b) => {
    this.stderrUnconsumed += b.length;
    if (this.stderr.push(b)) this.release('stderr');
  });
  /**
   * Small writes held until the end of this turn of the event loop (or the
   * next write, which takes them along in its first packet): an SFTP server
   * writes each reply's header apart from its data and answers many requests
   * in one turn, and one packet for each costs a cipher context, an
   * allocation and a tag each. Only writes the peer's window can take at
   * once are held, all of one data type, and everything else sent on the
   * channel (EOF, CLOSE, requests) flushes them first.
   */
  private held: Uint8Array[] = [];
  private heldBytes = 0;
  private heldType: number | undefined = undefined;
  private heldFlush: NodeJS.Immediate | null = null;
  /** Writers (stdout and stderr may both be waiting) to wake when the peer's window opens. */
  private writeWaiters: (() => void)[] = [];
  private channelClosed = false;
  private readonly requestWaiters: RequestWaiter[] = [];
  /** Incoming channel requests the owner handles (server sessions); default: refuse. */
  onRequest: (type: string, wantReply: boolean, data: Uint8Array) => void = (_type, wantReply) => {
    if (wantReply) this.answerRequest(false);
  };

  constructor(
    private readonly host: ChannelHost,
    readonly id: number,
    readonly channelType: string,
  ) {
    // No autoDestroy: our EOF plus the peer's EOF is not the end of a channel;
    // exit-status and CLOSE may still follow. The channel's CLOSE ends it.
    super({ allowHalfOpen: true, highWaterMark: 64 * 1024, autoDestroy: false });
    this.stderr = new Readable({
      highWaterMark: 64 * 1024,
      read: () => this.release('stderr'),
    });
    this.exit = new Promise((r) => (this.resolveExit = r));
    this.exit.catch(() => undefined);
  }

  /** Dispatch target for connection events about this channel. */
  handleEvent(e: ChannelEvent): void {
    switch (e.type) {
      case 'channel-data':
        if (e.dataType === 1) this.stderrIn.add(e.data);
        else if (e.dataType === undefined) this.stdoutIn.add(e.data);
        else {
          // Other extended data types are discarded but still count against the window.
          this.host.endpoint.consumed(this.host.now(), this.id, e.data.length);
        }
        return;
      case 'channel-writable':
        this.wakeWriters();
        return;
      case 'channel-eof':
        this.flushGathered();
        this.push(null);
        this.stderr.push(null);
        return;
      case 'channel-close':
        this.flushGathered();
        this.channelClosed = true;
        this.push(null);
        this.stderr.push(null);
        this.resolveExit(this.exitInfo ?? { code: null, signal: null });
        this.settleRequests();
        this.wakeWriters();
        // Let buffered output be read, then close the stream. The writable side
        // is not ended: a write after the peer's CLOSE is dropped (see send),
        // where a write after end() would be an 'error' event that crashes
        // users who do not listen for one.
        if (this.readableEnded) this.destroy();
        else this.once('end', () => this.destroy());
        // 'close' waits for the reader; this says at once that the SSH channel is gone.
        this.emit('channel-close');
        return;
      case 'channel-request':
        if (e.requestType === 'exit-status' || e.requestType === 'exit-signal') {
          // A malformed status is the peer's problem, not a reason to throw here.
          try {
            if (e.requestType === 'exit-status') {
              this.exitInfo = { code: ReqExitStatus.decode(e.data).status, signal: null };
            } else {
              const s = ReqExitSignal.decode(e.data);
              this.exitInfo = { code: null, signal: s.signal, coreDumped: s.coreDumped, message: s.message };
            }
          } catch {
            if (e.wantReply) this.answerRequest(false);
            return;
          }
          this.emit('exit', this.exitInfo.code, this.exitInfo.signal);
          if (e.wantReply) this.answerRequest(true);
          return;
        }
        this.onRequest(e.requestType, e.wantReply, e.data);
        return;
      case 'channel-request-reply':
        {
          const w = this.requestWaiters.shift();
          if (w?.timer) clearTimeout(w.timer);
          w?.settle(e.success);
        }
        return;
      default:
        return;
    }
  }

  /**
   * Raises the channel's receive window to `size` bytes in total (default:
   * the connection's window size), as far as the connection's receive budget
   * allows (see `Connection.growWindow`).
   */
  growWindow(size?: number): void {
    if (this.channelClosed) return;
    try {
      this.host.endpoint.growWindow(this.host.now(), this.id, size);
    } catch {
      return; // the channel is already closing or gone in the connection
    }
    this.host.run();
  }

  /** Sends a channel request; resolves with the peer's answer (true when no reply is wanted). */
  request(type: string, data: Uint8Array, wantReply = true): Promise<boolean> {
    if (this.channelClosed) return Promise.resolve(false);
    this.flushHeld();
    try {
      this.host.endpoint.channelRequest(this.host.now(), this.id, type, wantReply, data);
    } catch {
      // The peer's CLOSE was handled by the connection but has not reached this stream yet.
      return Promise.resolve(false);
    }
    this.host.run();
    if (!wantReply) return Promise.resolve(true);
    return new Promise((resolve, reject) => {
      const waiter: RequestWaiter = { settle: resolve, timer: null };
      const ms = this.host.channelRequestMs ?? 0;
      if (ms > 0) {
        waiter.timer = setTimeout(() => this.requestTimedOut(waiter, type, ms, reject), ms);
        waiter.timer.unref();
      }
      this.requestWaiters.push(waiter);
    });
  }

  /**
   * Gives up on a request the peer has not answered. Replies carry no id and
   * match requests by order, so a reply that may still come would be taken
   * for the next request's: the channel is unusable and is closed.
   */
  private requestTimedOut(waiter: RequestWaiter, type: string, ms: number, reject: (e: Error) => void): void {
    const i = this.requestWaiters.indexOf(waiter);
    if (i < 0) return;
    this.requestWaiters.splice(i, 1);
    reject(new TimeoutError(`channel request ${type}`, ms));
    this.destroy();
  }

  /** Answers every waiting request with a refusal (the channel is gone). */
  private settleRequests(): void {
    for (const w of this.requestWaiters.splice(0)) {
      if (w.timer) clearTimeout(w.timer);
      w.settle(false);
    }
  }

  /** Answers the oldest incoming request that wanted a reply. */
  answerRequest(ok: boolean): void {
    if (this.channelClosed) return;
    try {
      this.host.endpoint.answerChannelRequest(this.host.now(), this.id, ok);
    } catch {
      return; // the channel is already gone in the connection
    }
    this.host.run();
  }

  /** Writes to stderr (extended data type 1); resolves when the peer's window took it all. */
  writeStderr(data: Uint8Array): Promise<void> {
    return this.send(data, 1) ?? Promise.resolve();
  }

  /**
   * @internal Sends channel data without this stream's own write queue (for a
   * wrapper stream that queues already, like the server's session channel).
   * Returns undefined when the peer's window and the socket took it all at
   * once, else a promise for when they have. Callers keep writes in order by
   * waiting for each before the next, as a Writable does. `lent`: the
   * caller reuses `data`'s memory once this returns (a read into a reused
   * buffer), so what cannot go at once is copied.
   */
  sendData(data: Uint8Array, lent = false): Promise<void> | undefined {
    return this.send(data, undefined, lent);
  }

  override _read(): void {
    this.release('stdout');
  }

  private flushGathered(): void {
    this.stdoutIn.flush();
    this.stderrIn.flush();
  }

  private release(which: 'stdout' | 'stderr'): void {
    const n = which === 'stdout' ? this.unconsumed : this.stderrUnconsumed;
    if (n === 0 || this.channelClosed) return;
    if (which === 'stdout') this.unconsumed = 0;
    else this.stderrUnconsumed = 0;
    this.host.endpoint.consumed(this.host.now(), this.id, n);
    this.host.run();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    const wait = this.send(chunk);
    if (wait) wait.then(() => cb(), cb);
    else cb();
  }

  override _writev(chunks: { chunk: Buffer }[], cb: (err?: Error | null) => void): void {
    const wait = this.send(Buffer.concat(chunks.map((c) => c.chunk)));
    if (wait) wait.then(() => cb(), cb);
    else cb();
  }

  /**
   * Sends `data` as far as the peer's window allows. The common case (window
   * open, socket not backed up) finishes here without a promise: a program's
   * output arrives in many 64 KiB chunks and each promise hop was measurable.
   */
  private send(data: Uint8Array, dataType?: number, lent = false): Promise<void> | undefined {
    if (this.channelClosed) return undefined;
    if (this.heldBytes > 0 && this.heldType !== dataType) this.flushHeld();
    if (data.length < HELD_WRITE && this.heldBytes + data.length <= HELD_LIMIT && !this.host.needsDrain && this.host.connection.windowOf(this.id) >= this.heldBytes + data.length) {
      // A copy (Buffer#slice would be a view): the caller may reuse its buffer once this returns.
      this.held.push(new Uint8Array(data));
      this.heldBytes += data.length;
      this.heldType = dataType;
      this.heldFlush ??= setImmediate(() => this.flushHeld());
      return undefined;
    }
    // The held bytes go first, in this write's first packet, when they fit
    // in one (a peer may allow packets smaller than what is held) and in the
    // window (another data type's writes may have used it since).
    let prefix = this.takeHeld();
    const info = this.host.connection.channelInfo(this.id);
    const packet = info ? Math.min(info.remoteMaxPacket, SEND_CHUNK_CAP) : 0;
    if (prefix.length > 0 && (!info || prefix.length > info.remoteWindow || prefix.length > packet)) {
      data = concatBytes(prefix, data);
      prefix = EMPTY;
    }
    // A socket already full takes nothing more: what waits for a peer that
    // does not read stays bounded, however large a window it granted.
    if (this.host.needsDrain) return this.sendRest(prefix.length > 0 || lent ? concatBytes(prefix, data) : data, 0, dataType);
    // A small last piece (a 32 KiB SFTP read and its 13-byte header make a
    // full packet and 13 bytes) is held too, for the next write's first
    // packet: packets then follow the peer's max packet along the stream, as
    // sshd's do, instead of a tiny one per write.
    const whole = data;
    let rest: Uint8Array = EMPTY;
    const total = prefix.length + data.length;
    const tail = packet > 0 ? total % packet : 0;
    if (info && total > packet && tail > 0 && tail < HELD_WRITE && tail <= data.length && total <= info.remoteWindow && total <= WRITE_CALL_LIMIT) {
      rest = data.subarray(data.length - tail);
      data = data.subarray(0, data.length - tail);
    }
    let n: number;
    try {
      n = this.host.endpoint.write(this.host.now(), this.id, data, dataType, prefix);
    } catch {
      return undefined;
    }
    if (n < data.length) rest = EMPTY; // cut short after all: the rest goes in order below
    if (rest.length > 0) {
      // A copy (Buffer#slice would be a view): the caller may reuse its buffer once this returns.
      this.held.push(new Uint8Array(rest));
      this.heldBytes = rest.length;
      this.heldType = dataType;
      this.heldFlush = setImmediate(() => this.flushHeld());
    }
    this.host.run();
    if (n < data.length) return lent ? this.sendRest(concatBytes(whole.subarray(n)), 0, dataType) : this.sendRest(whole, n, dataType);
    // Keep the socket's buffer bounded: wait for it to drain before taking more.
    if (this.host.needsDrain) return new Promise<void>((r) => this.host.onDrain(r));
    return undefined;
  }

  /** The held writes as one piece (empty when none), no longer held. */
  private takeHeld(): Uint8Array {
    if (this.heldFlush) clearImmediate(this.heldFlush);
    this.heldFlush = null;
    if (this.heldBytes === 0) return EMPTY;
    const out = this.held.length === 1 ? this.held[0]! : concatBytes(...this.held);
    this.held = [];
    this.heldBytes = 0;
    return out;
  }

  /** Sends the held writes now (before anything else goes out on the channel). */
  private flushHeld(): void {
    const type = this.heldType;
    const data = this.takeHeld();
    if (data.length === 0 || this.channelClosed) return;
    let n: number;
    try {
      n = this.host.endpoint.write(this.host.now(), this.id, data, type);
    } catch {
      return; // the channel is closing: nothing more can be sent
    }
    this.host.run();
    // Only another data type's writes use the window meanwhile; what they left short goes as any write's rest.
    if (n < data.length) void this.sendRest(data, n, type);
  }

  /**
   * The rest of a `send` cut short by the window, the socket or the
   * connection's per-call limit: wait for whichever held it back, send more,
   * repeat.
   */
  private async sendRest(data: Uint8Array, offset: number, dataType?: number): Promise<void> {
    while (offset < data.length) {
      await this.nextTurn();
      // Writing into a channel the peer closed drops the data, like a pipe whose
      // reader left; an 'error' event here would crash users who do not listen.
      if (this.channelClosed) return;
      let n: number;
      try {
        n = this.host.endpoint.write(this.host.now(), this.id, data.subarray(offset), dataType);
      } catch {
        // The channel is closing (our EOF or CLOSE went out): nothing more can be sent.
        return;
      }
      offset += n;
      this.host.run();
    }
    if (this.host.needsDrain) await new Promise<void>((r) => this.host.onDrain(r));
  }

  /**
   * Resolves when sending may go on: the socket drained, the peer opened its
   * window, or (window left, but one write call's worth sent) the event loop
   * has let other channels and connections have their turn.
   */
  private nextTurn(): Promise<void> {
    if (this.host.needsDrain) return new Promise<void>((r) => this.host.onDrain(r));
    if (this.host.connection.windowOf(this.id) === 0) return new Promise<void>((r) => this.writeWaiters.push(r));
    return new Promise<void>((r) => setImmediate(r));
  }

  private wakeWriters(): void {
    for (const w of this.writeWaiters.splice(0)) w();
  }

  override _final(cb: (err?: Error | null) => void): void {
    if (!this.channelClosed) {
      this.flushHeld();
      try {
        this.host.endpoint.eof(this.host.now(), this.id);
      } catch {
        // The channel is already closing or gone in the connection (the peer's
        // CLOSE may be handled there before its event reaches this stream).
      }
      this.host.run();
    }
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (!this.channelClosed) {
      this.flushHeld();
      this.channelClosed = true;
      try {
        this.host.endpoint.closeChannel(this.host.now(), this.id);
      } catch {
        // already closing
      }
      this.host.run();
    }
    if (!this.stderr.destroyed) this.stderr.destroy();
    this.settleRequests();
    this.resolveExit(this.exitInfo ?? { code: null, signal: null });
    cb(err);
  }

  /** Sends EOF and CLOSE. */
  close(): void {
    this.end();
    this.destroy();
  }
}
