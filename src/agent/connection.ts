// One connection to an agent as a sans-I/O state machine: requests are
// queued (a bounded queue), sent one at a time (an agent answers in order,
// and a timeout then names the request it belongs to), and the reply stream
// is cut into frames of `uint32 length || payload`, a length over the bound
// ending the connection before anything is allocated for it. Time comes in
// as arguments; nextDeadline() says when handleTimeout() is due.
import { ProtocolError } from '../errors.js';
import { AgentError } from './errors.js';

/** OpenSSH's agent and client refuse messages longer than 256 KiB (AGENT_MAX_LEN). */
export const MAX_AGENT_MESSAGE = 256 * 1024;

export interface AgentConnectionLimits {
  /** Requests waiting or in flight at most; more is AgentError `busy`. Default 64. */
  readonly maxQueued?: number;
  /** A reply's payload bytes at most; default MAX_AGENT_MESSAGE. */
  readonly maxReply?: number;
  /** Milliseconds an agent has to answer once a request is sent; default 30 s; 0 waits forever. */
  readonly timeoutMs?: number;
}

/** A request's end: the reply payload (type byte first), or why there is none. */
export type AgentOutcome = { readonly id: number; readonly reply: Uint8Array } | { readonly id: number; readonly error: AgentError };

interface Pending {
  readonly id: number;
  readonly payload: Uint8Array;
}

export class AgentConnection {
  private nextId = 1;
  private readonly waiting: Pending[] = [];
  private inFlight: (Pending & { deadline: number | null }) | null = null;
  private outgoing: Uint8Array[] = [];
  /** Received bytes not yet a whole frame. */
  private buffered: Uint8Array[] = [];
  private bufferedBytes = 0;
  private dead: AgentError | null = null;
  private readonly maxQueued: number;
  private readonly maxReply: number;
  private readonly timeoutMs: number;

  constructor(limits: AgentConnectionLimits = {}) {
    this.maxQueued = limits.maxQueued ?? 64;
    this.maxReply = limits.maxReply ?? MAX_AGENT_MESSAGE;
    this.timeoutMs = limits.timeoutMs ?? 30_000;
  }

  /** Why the connection can no longer be used, or null. */
  get error(): AgentError | null {
    return this.dead;
  }

  /** Requests waiting or in flight. */
  get pending(): number {
    return this.waiting.length + (this.inFlight ? 1 : 0);
  }

  /**
   * Queues a request (its payload, type byte first) and returns its id; its
   * outcome comes from receive(), handleTimeout() or close(). Throws
   * AgentError `busy` when the queue is full, or the connection's error.
   */
  request(now: number, payload: Uint8Array): number {
    if (this.dead) throw this.dead;
    if (payload.length === 0 || payload.length > MAX_AGENT_MESSAGE) throw new RangeError(`an agent request is 1..${MAX_AGENT_MESSAGE} bytes, not ${payload.length}`);
    if (this.pending >= this.maxQueued) throw new AgentError(`${this.maxQueued} agent requests are already waiting`, 'busy');
    const id = this.nextId++;
    this.waiting.push({ id, payload });
    this.sendNext(now);
    return id;
  }

  /** Bytes to write to the agent, in order. */
  takeOutgoing(): Uint8Array[] {
    const out = this.outgoing;
    this.outgoing = [];
    return out;
  }

  /** Bytes from the agent; the outcomes they complete. A malformed stream fails every request. */
  receive(now: number, chunk: Uint8Array): AgentOutcome[] {
    if (this.dead) return [];
    this.buffered.push(chunk);
    this.bufferedBytes += chunk.length;
    const out: AgentOutcome[] = [];
    for (;;) {
      if (this.bufferedBytes < 4) return out;
      const head = this.peek(4);
      const length = ((head[0]! << 24) | (head[1]! << 16) | (head[2]! << 8) | head[3]!) >>> 0;
      if (length === 0 || length > this.maxReply) {
        return [...out, ...this.fail(new AgentError(`the agent sent a ${length}-byte message (1..${this.maxReply} allowed)`, 'protocol', { cause: new ProtocolError('agent message length out of bounds') }))];
      }
      if (this.bufferedBytes < 4 + length) return out;
      const frame = this.peek(4 + length).slice(4);
      this.consume(4 + length);
      const current = this.inFlight;
      if (!current) return [...out, ...this.fail(new AgentError('the agent sent a message nobody asked for', 'protocol'))];
      this.inFlight = null;
      out.push({ id: current.id, reply: frame });
      this.sendNext(now);
    }
  }

  /** When handleTimeout() must run next (ms, the clock of the `now` arguments), or null. */
  nextDeadline(): number | null {
    return this.inFlight?.deadline ?? null;
  }

  /** A request the agent did not answer in time ends the connection: a late reply could not be told apart. */
  handleTimeout(now: number): AgentOutcome[] {
    const current = this.inFlight;
    if (this.dead || !current || current.deadline === null || now < current.deadline) return [];
    return this.fail(new AgentError(`the agent did not answer within ${this.timeoutMs} ms`, 'timeout'));
  }

  /** The connection ended (`error` says how); every request left fails with it. */
  close(error?: AgentError): AgentOutcome[] {
    if (this.dead) return [];
    return this.fail(error ?? new AgentError('the agent connection closed', 'closed'));
  }

  private sendNext(now: number): void {
    if (this.inFlight || this.dead) return;
    const next = this.waiting.shift();
    if (!next) return;
    const frame = new Uint8Array(4 + next.payload.length);
    new DataView(frame.buffer).setUint32(0, next.payload.length);
    frame.set(next.payload, 4);
    this.outgoing.push(frame);
    this.inFlight = { ...next, deadline: this.timeoutMs > 0 ? now + this.timeoutMs : null };
  }

  private fail(error: AgentError): AgentOutcome[] {
    this.dead = error;
    const all = [...(this.inFlight ? [this.inFlight] : []), ...this.waiting];
    this.inFlight = null;
    this.waiting.length = 0;
    this.buffered = [];
    this.bufferedBytes = 0;
    this.outgoing = [];
    return all.map((p) => ({ id: p.id, error }));
  }

  /** The first `n` buffered bytes (n <= bufferedBytes), joined into one chunk. */
  private peek(n: number): Uint8Array {
    if (this.buffered[0]!.length < n) {
      const joined = new Uint8Array(this.bufferedBytes);
      let at = 0;
      for (const b of this.buffered) {
        joined.set(b, at);
        at += b.length;
      }
      this.buffered = [joined];
    }
    return this.buffered[0]!.subarray(0, n);
  }

  private consume(n: number): void {
    const first = this.buffered[0]!;
    // peek() left the frame in the first chunk
    if (first.length === n) this.buffered.shift();
    else this.buffered[0] = first.subarray(n);
    this.bufferedBytes -= n;
  }
}
