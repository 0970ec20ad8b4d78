// Shared setup for transport tests: two cores with chosen algorithms.
import { KexInit } from '../../src/messages/transport.js';
import { Transport, type TransportOptions } from '../../src/core/transport/transport.js';
import { TransportPair, type PumpOptions } from '../../src/testing/transport-pair.js';
import { seededRandom } from '../../src/testing/random.js';
import { FakeClock } from '../../src/testing/clock.js';
import { defaultAlgorithmLists, type AlgorithmPreferences } from '../../src/algorithms/index.js';
import { generateHostKey } from '../../src/keys/index.js';
import type { Signer } from '../../src/algorithms/types.js';

const hostKeyCache = new Map<string, Signer>();
export function hostKey(type: Parameters<typeof generateHostKey>[0] = 'ssh-ed25519'): Signer {
  let k = hostKeyCache.get(type);
  if (!k) {
    k = generateHostKey(type);
    hostKeyCache.set(type, k);
  }
  return k;
}

export interface PairSetup {
  client?: AlgorithmPreferences;
  server?: AlgorithmPreferences;
  clientOptions?: Partial<TransportOptions>;
  serverOptions?: Partial<TransportOptions>;
  hostKeys?: Signer[];
  pump?: PumpOptions;
  clock?: FakeClock;
  seed?: string;
}

export function makePair(setup: PairSetup = {}): { pair: TransportPair; clock: FakeClock } {
  const clock = setup.clock ?? new FakeClock();
  const seed = setup.seed ?? 'pair';
  const client = new Transport({
    role: 'client',
    random: seededRandom(seed + '/client'),
    now: clock.now,
    algorithms: defaultAlgorithmLists(setup.client),
    ...setup.clientOptions,
  });
  const server = new Transport({
    role: 'server',
    random: seededRandom(seed + '/server'),
    now: clock.now,
    algorithms: defaultAlgorithmLists(setup.server),
    hostKeys: setup.hostKeys ?? [hostKey('ssh-ed25519'), hostKey('ecdsa-sha2-nistp256'), hostKey('ssh-rsa')],
    ...setup.serverOptions,
  });
  return { pair: new TransportPair(client, server, clock, setup.pump), clock };
}

/** Upper-layer test payload: message 94 (CHANNEL_DATA's number) with a counter. */
export function dataMessage(n: number, size = 100): Uint8Array {
  const p = new Uint8Array(size);
  p[0] = 94;
  new DataView(p.buffer).setUint32(1, n);
  return p;
}

export function counterOf(payload: Uint8Array): number {
  return new DataView(payload.buffer, payload.byteOffset).getUint32(1);
}

/** A client KEXINIT with the default lists, optionally offering strict kex. */
export function clientKexInit(strict: boolean): Uint8Array {
  const lists = defaultAlgorithmLists();
  return KexInit.encode({
    cookie: new Uint8Array(16),
    kexAlgorithms: [...lists.kex, 'ext-info-c', ...(strict ? ['kex-strict-c-v00@openssh.com'] : [])],
    serverHostKeyAlgorithms: [...lists.hostKey],
    ciphersClientToServer: [...lists.cipher],
    ciphersServerToClient: [...lists.cipher],
    macsClientToServer: [...lists.mac],
    macsServerToClient: [...lists.mac],
    compressionClientToServer: ['none'],
    compressionServerToClient: ['none'],
    languagesClientToServer: [],
    languagesServerToClient: [],
    firstKexPacketFollows: false,
    reserved: 0,
  });
}
