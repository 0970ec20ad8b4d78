// Two Connection cores wired back to back through in-memory LayerIo fakes.
// Payloads queue on the sending side until `pump` delivers them, so tests can
// interleave commands and deliveries to stage races.
import { concat } from '../../src/wire/writer.js';
import { Connection } from '../../src/core/connection/connection.js';
import type { ConnectionEvent, ConnectionOptions } from '../../src/core/connection/events.js';
import type { LayerIo } from '../../src/core/layer.js';
import type { NacreError } from '../../src/errors.js';
import { FakeClock } from '../../src/testing/clock.js';
import { seededRandom } from '../../src/testing/random.js';

export type Name = 'a' | 'b';

export class Side {
  /** Payloads sent and not yet delivered to the other side. */
  readonly outbox: Uint8Array[] = [];
  /** Every payload ever sent, in order. */
  readonly sentLog: Uint8Array[] = [];
  readonly events: ConnectionEvent[] = [];
  /** Events not yet passed to the pair's handler. */
  readonly fresh: ConnectionEvent[] = [];
  readonly failures: NacreError[] = [];
  readonly conn: Connection;

  constructor(readonly name: Name, clock: FakeClock, options: ConnectionOptions) {
    const io: LayerIo<ConnectionEvent> = {
      send: (head, tail) => {
        // The tail may be the caller's buffer, reused after send returns: copy it in.
        const p = tail ? concat([head, tail]) : head;
        this.outbox.push(p);
        this.sentLog.push(p);
      },
      emit: (e) => {
        this.events.push(e);
        this.fresh.push(e);
      },
      fail: (e) => void this.failures.push(e),
      now: () => clock.now,
      random: seededRandom(`connection/${name}`),
      sessionId: () => new Uint8Array(32),
      serverHostKey: () => new Uint8Array(0),
      peerExtensions: () => new Map(),
      setAuthenticated: () => undefined,
    };
    this.conn = new Connection(io, options);
  }

  /** Events of one type, narrowed. */
  of<T extends ConnectionEvent['type']>(type: T): Extract<ConnectionEvent, { type: T }>[] {
    return this.events.filter((e): e is Extract<ConnectionEvent, { type: T }> => e.type === type);
  }

  /** Message numbers this side has sent, in order. */
  sentTypes(): number[] {
    return this.sentLog.map((p) => p[0]!);
  }
}

export class ConnPair {
  readonly clock = new FakeClock();
  readonly a: Side;
  readonly b: Side;
  /** Called after each delivery for every new event; may issue commands. */
  onEvent: ((side: Side, event: ConnectionEvent) => void) | undefined;

  constructor(aOptions: ConnectionOptions = {}, bOptions: ConnectionOptions = {}) {
    this.a = new Side('a', this.clock, aOptions);
    this.b = new Side('b', this.clock, bOptions);
  }

  other(s: Side): Side {
    return s === this.a ? this.b : this.a;
  }

  /** Delivers queued payloads both ways until neither side sends more. Returns the count delivered. */
  pump(maxRounds = 1_000_000): number {
    let delivered = 0;
    this.dispatch(this.a);
    this.dispatch(this.b);
    for (let round = 0; round < maxRounds; round++) {
      const moved = this.deliverOne(this.a) + this.deliverOne(this.b);
      if (moved === 0) return delivered;
      delivered += moved;
    }
    throw new Error('connection pair did not settle');
  }

  /** Delivers only `from`'s queued payloads (not the replies they cause). */
  deliver(from: Side): number {
    const queued = from.outbox.splice(0);
    const to = this.other(from);
    for (const p of queued) {
      to.conn.handle(p);
      this.dispatch(to);
    }
    return queued.length;
  }

  private deliverOne(from: Side): number {
    const p = from.outbox.shift();
    if (!p) return 0;
    const to = this.other(from);
    to.conn.handle(p);
    this.dispatch(to);
    return 1;
  }

  private dispatch(side: Side): void {
    while (side.fresh.length > 0) {
      const e = side.fresh.shift()!;
      this.onEvent?.(side, e);
    }
  }
}

/** Opens a channel from `opener` that the other side accepts; returns both channel numbers. */
export function openPair(
  pair: ConnPair,
  opener: Side = pair.a,
  acceptOpts: { windowSize?: number; maxPacket?: number } = {},
  openOpts: { windowSize?: number; maxPacket?: number } = {},
): { mine: number; theirs: number } {
  const peer = pair.other(opener);
  const mine = opener.conn.openChannel('session', undefined, openOpts);
  pair.deliver(opener);
  const req = peer.of('channel-open-request').at(-1);
  if (!req) throw new Error('no open request arrived');
  peer.conn.acceptChannel(req.channel, undefined, acceptOpts);
  pair.deliver(peer);
  return { mine, theirs: req.channel };
}

export function bytes(n: number, seed = 0): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

export function concatAll(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
