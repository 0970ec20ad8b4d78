// Two endpoints (client and server cores) wired back to back in memory with a fake clock. `pump()` moves
// bytes and events until both are quiet; handlers may answer questions.
import { Endpoint, type EndpointEvent, type EndpointOptions } from '../core/endpoint.js';
import type { FakeClock } from './clock.js';

export interface EndpointPairSide {
  readonly endpoint: Endpoint;
  readonly events: EndpointEvent[];
  /** Bytes on the wire from this side so far. */
  written: number;
  /** When false, bytes from the other side are held back (a silent or stuck peer). */
  receiving: boolean;
}

export class EndpointPair {
  readonly client: EndpointPairSide;
  readonly server: EndpointPairSide;
  private readonly held: { client: Uint8Array[]; server: Uint8Array[] } = { client: [], server: [] };

  constructor(
    client: EndpointOptions,
    server: EndpointOptions,
    readonly clock: FakeClock,
    private readonly onEvent: (side: 'client' | 'server', e: EndpointEvent, pair: EndpointPair) => void = () => undefined,
  ) {
    this.client = { endpoint: new Endpoint(client), events: [], written: 0, receiving: true };
    this.server = { endpoint: new Endpoint(server), events: [], written: 0, receiving: true };
  }

  pump(maxRounds = 100_000): void {
    for (let round = 0; round < maxRounds; round++) {
      const moved = this.move('client') + this.move('server');
      const events = this.drain('client') + this.drain('server');
      if (moved === 0 && events === 0) return;
    }
    throw new Error('endpoint pair did not settle');
  }

  /**
   * Advances the clock and lets each side handle its deadline if it is due.
   * Only then, as a real timer would: calling `handleTimeout` on every step
   * would hand a side the time it should have had from its inputs.
   */
  advance(ms: number): void {
    const now = this.clock.advance(ms);
    for (const side of [this.client, this.server]) {
      const due = side.endpoint.nextDeadline();
      if (due !== null && due <= now) side.endpoint.handleTimeout(now);
    }
    this.pump();
  }

  /** Runs the clock forward deadline by deadline up to `ms`. */
  runFor(ms: number): void {
    const end = this.clock.now + ms;
    for (;;) {
      const deadlines = [this.client.endpoint.nextDeadline(), this.server.endpoint.nextDeadline()].filter((d): d is number => d !== null && d <= end);
      const next = deadlines.length ? Math.max(this.clock.now, Math.min(...deadlines)) : end;
      this.advance(next - this.clock.now);
      if (next >= end) return;
    }
  }

  private move(from: 'client' | 'server'): number {
    const src = this[from];
    const to = from === 'client' ? 'server' : 'client';
    const dst = this[to];
    let moved = 0;
    for (let b = src.endpoint.pollTransmit(); b; b = src.endpoint.pollTransmit()) {
      src.written += b.length;
      moved += b.length || 1;
      this.held[to].push(b);
    }
    if (dst.receiving) {
      // Bytes held while `dst` was not receiving count as moved: they may
      // make it answer, and pump() must go round again to carry that.
      for (const b of this.held[to].splice(0)) {
        dst.endpoint.receive(this.clock.now, b);
        moved += b.length || 1;
      }
    }
    return moved;
  }

  private drain(side: 'client' | 'server'): number {
    const s = this[side];
    let n = 0;
    for (let e = s.endpoint.pollEvent(); e; e = s.endpoint.pollEvent()) {
      n++;
      s.events.push(e);
      this.onEvent(side, e, this);
    }
    return n;
  }
}
