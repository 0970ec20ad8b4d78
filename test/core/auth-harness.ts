// Wires an AuthClient and an AuthServer back to back through two fake LayerIo
// objects: payload arrays, a fake clock, a fixed session id and host key.
import { AuthClient } from '../../src/core/auth/client.js';
import { AuthServer, type AuthServerConfig } from '../../src/core/auth/server.js';
import type {
  AuthAnswer,
  AuthClientEvent,
  AuthClientOptions,
  AuthServerEvent,
} from '../../src/core/auth/events.js';
import type { LayerIo } from '../../src/core/layer.js';
import type { NacreError } from '../../src/errors.js';
import { FakeClock } from '../../src/testing/clock.js';
import { seededRandom } from '../../src/testing/random.js';
import { generateHostKey, type KeySigner, type HostKeyType } from '../../src/keys/index.js';

export const SESSION_ID = new Uint8Array(32).fill(0x5a);

const keyCache = new Map<string, KeySigner>();
/** Keys are slow to make (RSA); tests share them by name. */
export function key(name: string, type: HostKeyType = 'ssh-ed25519', bits?: number): KeySigner {
  let k = keyCache.get(name);
  if (!k) {
    k = generateHostKey(type, bits);
    keyCache.set(name, k);
  }
  return k;
}

export const HOST_KEY = key('host');

const text = new TextEncoder();

export class FakeIo<E> implements LayerIo<E> {
  readonly sent: Uint8Array[] = [];
  readonly events: E[] = [];
  readonly failures: NacreError[] = [];
  authenticated = false;
  readonly random = seededRandom('auth');
  extensions = new Map<string, Uint8Array>();
  hostKey: Uint8Array = HOST_KEY.publicBlob;
  /** Called for each event right after it is recorded (synchronous answers). */
  onEvent: ((e: E) => void) | null = null;

  constructor(readonly clock: FakeClock) {}

  send(payload: Uint8Array): void {
    this.sent.push(payload.slice());
  }
  emit(event: E): void {
    this.events.push(event);
    this.onEvent?.(event);
  }
  fail(error: NacreError): void {
    this.failures.push(error);
  }
  now(): number {
    return this.clock.now;
  }
  sessionId(): Uint8Array {
    return SESSION_ID;
  }
  serverHostKey(): Uint8Array {
    return this.hostKey;
  }
  peerExtensions(): ReadonlyMap<string, Uint8Array> {
    return this.extensions;
  }
  setAuthenticated(): void {
    this.authenticated = true;
  }
  setExtension(name: string, value: string): void {
    this.extensions.set(name, text.encode(value));
  }
}

type ServerRequest = Extract<AuthServerEvent, { type: 'auth-request' }>;

export interface Apps {
  /** The server application's verdict; undefined leaves the request unanswered. */
  server?: (req: ServerRequest) => AuthAnswer | undefined;
  sign?: (e: Extract<AuthClientEvent, { type: 'auth-sign' }>) => Uint8Array | null;
  prompt?: (e: Extract<AuthClientEvent, { type: 'auth-prompt' }>) => readonly string[] | null;
  passwordChange?: (e: Extract<AuthClientEvent, { type: 'auth-password-change' }>) => string | null;
}

/** Signs with whichever of `signers` owns the key. */
export function signWith(...signers: KeySigner[]): NonNullable<Apps['sign']> {
  return (e) => {
    const s = signers.find((k) => Buffer.from(k.publicBlob).equals(Buffer.from(e.publicKey)));
    return s ? s.sign(e.algorithm, e.data) : null;
  };
}

export class AuthPair {
  readonly clock: FakeClock;
  readonly clientIo: FakeIo<AuthClientEvent>;
  readonly serverIo: FakeIo<AuthServerEvent>;
  readonly client: AuthClient;
  readonly server: AuthServer;
  /** Every payload in delivery order, tagged with its sender. */
  readonly wire: { from: 'client' | 'server'; payload: Uint8Array }[] = [];
  private clientRead = 0;
  private serverRead = 0;
  private clientEventsSeen = 0;
  private serverEventsSeen = 0;

  constructor(
    clientOptions: AuthClientOptions,
    serverOptions: AuthServerConfig,
    readonly apps: Apps,
    setup: (pair: { clientIo: FakeIo<AuthClientEvent>; serverIo: FakeIo<AuthServerEvent> }) => void = () => {},
  ) {
    this.clock = new FakeClock();
    this.clientIo = new FakeIo(this.clock);
    this.serverIo = new FakeIo(this.clock);
    setup({ clientIo: this.clientIo, serverIo: this.serverIo });
    this.client = new AuthClient(this.clientIo, clientOptions);
    this.server = new AuthServer(this.serverIo, { failureDelayMs: 0, ...serverOptions }, this.clock.now);
  }

  start(): this {
    this.client.start();
    return this.run();
  }

  /** Delivers messages and answers events until nothing moves. */
  run(): this {
    for (let guard = 0; guard < 10_000; guard++) {
      if (this.clientIo.failures.length > 0 || this.serverIo.failures.length > 0) return this;
      if (this.clientRead < this.clientIo.sent.length) {
        const p = this.clientIo.sent[this.clientRead++]!;
        this.wire.push({ from: 'client', payload: p });
        this.server.handle(p);
        continue;
      }
      if (this.serverRead < this.serverIo.sent.length) {
        const p = this.serverIo.sent[this.serverRead++]!;
        this.wire.push({ from: 'server', payload: p });
        this.client.handle(p);
        continue;
      }
      if (this.serverEventsSeen < this.serverIo.events.length) {
        const e = this.serverIo.events[this.serverEventsSeen++]!;
        if (e.type === 'auth-request' && this.apps.server) {
          const answer = this.apps.server(e);
          if (answer) this.server.answerAuth(e.id, answer);
        }
        continue;
      }
      if (this.clientEventsSeen < this.clientIo.events.length) {
        const e = this.clientIo.events[this.clientEventsSeen++]!;
        if (e.type === 'auth-sign' && this.apps.sign) this.client.answerSign(e.id, this.apps.sign(e));
        if (e.type === 'auth-prompt' && this.apps.prompt) this.client.answerPrompt(e.id, this.apps.prompt(e));
        if (e.type === 'auth-password-change' && this.apps.passwordChange) {
          this.client.answerPasswordChange(e.id, this.apps.passwordChange(e));
        }
        continue;
      }
      const deadline = this.server.nextDeadline();
      if (deadline !== null && deadline <= this.clock.now) {
        this.server.handleTimeout(this.clock.now);
        continue;
      }
      return this;
    }
    throw new Error('auth pair did not settle');
  }

  /** Moves the clock and lets due deadlines fire. */
  advance(ms: number): this {
    this.clock.advance(ms);
    return this.run();
  }

  serverRequests(): ServerRequest[] {
    return this.serverIo.events.filter((e): e is ServerRequest => e.type === 'auth-request');
  }

  clientEvents<T extends AuthClientEvent['type']>(type: T): Extract<AuthClientEvent, { type: T }>[] {
    return this.clientIo.events.filter((e): e is Extract<AuthClientEvent, { type: T }> => e.type === type);
  }

  /** Message numbers in wire order, e.g. ['c50', 's51']. */
  trace(): string[] {
    return this.wire.map((w) => `${w.from[0]}${w.payload[0]}`);
  }
}
