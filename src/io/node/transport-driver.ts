// A transport core (no authentication or channels) over a Node Duplex; used by
// transport-level tests and tools. Endpoints use `Driver` directly.
import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import type { TransportEvent } from '../../core/transport/events.js';
import { Transport, type TransportOptions } from '../../core/transport/transport.js';
import { Driver, clockNow } from './driver.js';

export const nodeRandom = (length: number): Uint8Array => randomBytes(length);

export type DriverOptions = Omit<TransportOptions, 'random' | 'now'> & {
  readonly random?: TransportOptions['random'];
};

export class TransportDriver {
  readonly transport: Transport;
  private readonly driver: Driver<TransportEvent>;

  constructor(socket: Duplex, options: DriverOptions, onEvent: (event: TransportEvent, driver: TransportDriver) => void) {
    this.transport = new Transport({ ...options, random: options.random ?? nodeRandom, now: clockNow() });
    this.driver = new Driver(socket, this.transport, (e) => onEvent(e, this));
    this.driver.run();
  }

  /** Call after issuing commands on `transport`, so their output is written. */
  run(): void {
    this.driver.run();
  }
}
