// Two transport cores wired back to back in memory, driven by a fake clock.
// Everything happens synchronously in `pump()`, so tests are deterministic.
import type { TransportEvent } from '../core/transport/events.js';
import type { Transport } from '../core/transport/transport.js';
import type { FakeClock } from './clock.js';

export interface PairSide {
  readonly transport: Transport;
  readonly events: TransportEvent[];
  /** Bytes this side has written in total. */
  written: number;
}

export interface PumpOptions {
  /** Called for every event; may issue commands on either transport. */
  onEvent?: (side: 'client' | 'server', event: TransportEvent) => void;
  /** Deliver at most this many bytes per write (exercises reassembly). */
  chunk?: number;
  /** Changes bytes in flight (for corruption tests). Return the bytes to deliver. */
  tamper?: (from: 'client' | 'server', bytes: Uint8Array, offset: number) => Uint8Array;
  /**
   * Deliver every piece through one buffer lent to the receiver (`receive`'s
   * `lent`), overwritten with junk as soon as `receive` returns, as a socket
   * read buffer shared by every read is.
   */
  lend?: boolean;
  /** Auto-accept host keys (default true). */
  acceptHostKey?: boolean;
}

export class TransportPair {
  readonly client: PairSide;
  readonly server: PairSide;

  constructor(
    client: Transport,
    server: Transport,
    /** The clock both transports were created on; every input is given its reading. */
    readonly clock: FakeClock,
    private readonly options: PumpOptions = {},
  ) {
    this.client = { transport: client, events: [], written: 0 };
    this.server = { transport: server, events: [], written: 0 };
  }

  /** Moves bytes and events until neither side has anything more to say. */
  pump(maxRounds = 10_000): void {
    for (let round = 0; round < maxRounds; round++) {
      const moved = this.move('client') + this.move('server');
      const events = this.drain('client') + this.drain('server');
      if (moved === 0 && events === 0) return;
    }
    throw new Error('transport pair did not settle');
  }

  /**
   * Advances the clock by `ms`, fires the deadlines that are due (only those:
   * a transport whose clock is stale must not be rescued by an early call),
   * then pumps.
   */
  advance(ms: number): void {
    const now = this.clock.advance(ms);
    for (const side of [this.client, this.server]) {
      const due = side.transport.nextDeadline();
      if (due !== null && due <= now) side.transport.handleTimeout(now);
    }
    this.pump();
  }

  private lent = new Uint8Array(0);

  private move(from: 'client' | 'server'): number {
    const src = this[from];
    const dst = from === 'client' ? this.server : this.client;
    let moved = 0;
    for (let b = src.transport.pollTransmit(); b; b = src.transport.pollTransmit()) {
      const bytes = this.options.tamper ? this.options.tamper(from, b, src.written) : b;
      src.written += b.length;
      moved += b.length || 1;
      const step = this.options.chunk ?? bytes.length;
      for (let i = 0; i < bytes.length; i += step) {
        const piece = bytes.subarray(i, i + step);
        if (!this.options.lend) {
          dst.transport.receive(this.clock.now, piece);
          continue;
        }
        if (this.lent.length < piece.length) this.lent = new Uint8Array(piece.length);
        this.lent.set(piece);
        dst.transport.receive(this.clock.now, this.lent.subarray(0, piece.length), true);
        this.lent.fill(0xee);
      }
    }
    return moved;
  }

  private drain(side: 'client' | 'server'): number {
    const s = this[side];
    let n = 0;
    for (let e = s.transport.pollEvent(); e; e = s.transport.pollEvent()) {
      n++;
      s.events.push(e);
      if (e.type === 'host-key' && (this.options.acceptHostKey ?? true)) s.transport.answerHostKey(this.clock.now, true);
      this.options.onEvent?.(side, e);
    }
    return n;
  }
}
