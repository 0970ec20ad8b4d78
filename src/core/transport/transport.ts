// The SSH transport layer (RFC 4253) as a sans-I/O state machine: bytes and
// time in, bytes, events and a deadline out. It never touches a socket, a
// clock or a timer; the I/O layer drives it.
import { DisconnectError, DisconnectReason, HostKeyRejectedError, KeyExchangeError, NacreError, ProtocolError, TimeoutError } from '../../errors.js';
import type { DisconnectReasonCode } from '../../errors.js';
import type { RandomSource, Signer } from '../../algorithms/types.js';
import {
  Debug,
  Disconnect,
  ExtInfo,
  Ignore,
  KexInit,
  MSG,
  NewKeys,
  Ping,
  Pong,
  ServiceAccept,
  ServiceRequest,
  Unimplemented,
} from '../../messages/transport.js';
import { utf8 } from '../../wire/bytes.js';
import { concat } from '../../wire/writer.js';
import { PacketStream } from './packet-stream.js';
import type { TransportEvent } from './events.js';
import { formatVersionLine, readPeerVersion } from './version.js';
import { serverExtensions } from './ext-info.js';
import {
  KeyExchange,
  blobKeyType,
  buildKexInit,
  offerableHostKeyAlgorithms,
  startGuess,
  type AlgorithmLists,
  type DirectionState,
  type GuessedExchange,
  type KexResult,
  type KexSetup,
  type Role,
} from '../kex/machine.js';
import type { NegotiatedAlgorithms } from '../kex/negotiate.js';
import { RekeyPolicy, type RekeyLimits } from '../kex/rekey.js';

export const DEFAULT_SOFTWARE = 'Nacre_0.1';
export const DEFAULT_KEX_TIMEOUT_MS = 120_000;
const DEFAULT_MAX_HELD_BYTES = 64 * 1024 * 1024;

export interface TransportOptions {
  readonly role: Role;
  readonly random: RandomSource;
  /** The clock reading (ms) at creation; later readings come with handleTimeout. */
  readonly now: number;
  readonly algorithms: AlgorithmLists;
  /** Server: host keys to sign with. */
  readonly hostKeys?: readonly Signer[];
  readonly software?: string;
  readonly rekey?: Partial<RekeyLimits>;
  readonly groupSizes?: { readonly min: number; readonly preferred: number; readonly max: number };
  /** Client: send a guessed first kex packet (saves a round trip when the guess is right). */
  readonly guessFirstKex?: boolean;
  /** A key exchange (first or re-) must finish within this time; default 2 minutes. */
  readonly kexTimeoutMs?: number;
  /** Upper-layer bytes held during a key exchange before the connection is dropped; default 64 MiB. */
  readonly maxHeldBytes?: number;
  /** Server: what EXT_INFO announces as `server-sig-algs`. */
  readonly serverSigAlgs?: readonly string[];
}

type Phase = 'version' | 'running' | 'closed';

export class Transport {
  readonly role: Role;
  /** Exchange hash of the first key exchange. */
  sessionId: Uint8Array | null = null;
  /** What the last key exchange chose. */
  algorithms: NegotiatedAlgorithms | null = null;
  peerVersion: string | null = null;
  readonly localVersion: string;
  /** Extensions the peer announced in EXT_INFO. */
  readonly peerExtensions = new Map<string, Uint8Array>();
  /** Whether strict key exchange (the Terrapin countermeasure) is in force. */
  strictKex = false;
  /** Lines the server sent before its version line. */
  readonly preamble: string[] = [];

  private phase: Phase = 'version';
  private readonly setup: KexSetup;
  private readonly options: TransportOptions;
  private readonly packets: PacketStream;
  private readonly events: TransportEvent[] = [];
  private now: number;

  // Key exchange state.
  private initialKexDone = false;
  private ourKexInit: Uint8Array | null = null;
  private ourKexInitSeq = -1;
  private kexStartedAt = 0;
  private readonly kexTimeoutMs: number;
  /** Between the peer's KEXINIT and its NEWKEYS, only kex and generic transport messages may come. */
  private peerInKex = false;
  private heldBytes = 0;
  private guessed: GuessedExchange | null = null;
  private kex: KeyExchange | null = null;
  private pendingResult: KexResult | null = null;
  private sentNewKeys = false;
  private awaitingHostKeyAnswer = false;
  private hostKeyBlob: Uint8Array | null = null;
  private pendingIncoming: DirectionState | null = null;
  /** Upper-layer payloads held while a key exchange is under way. */
  private held: Uint8Array[] = [];
  private readonly rekeyPolicy: RekeyPolicy;

  private authenticated = false;

  constructor(options: TransportOptions) {
    this.options = options;
    this.role = options.role;
    this.now = options.now;
    this.localVersion = formatVersionLine(options.software ?? DEFAULT_SOFTWARE);
    this.setup = {
      role: options.role,
      random: options.random,
      lists: options.algorithms,
      clientVersion: options.role === 'client' ? this.localVersion : '',
      serverVersion: options.role === 'server' ? this.localVersion : '',
      hostKeys: options.hostKeys ?? [],
      guess: options.guessFirstKex ?? false,
      ...(options.groupSizes ? { groupSizes: options.groupSizes } : {}),
    };
    this.rekeyPolicy = new RekeyPolicy(options.rekey ?? {}, options.now);
    this.packets = new PacketStream(options.random, this.rekeyPolicy);
    this.kexTimeoutMs = options.kexTimeoutMs ?? DEFAULT_KEX_TIMEOUT_MS;
    if (options.role === 'server' && offerableHostKeyAlgorithms(this.setup).length === 0) {
      throw new KeyExchangeError('server has no host key usable with the configured host key algorithms');
    }
    this.packets.writeRaw(utf8(this.localVersion + '\r\n'));
    // Our KEXINIT may follow the version line at once (RFC 4253 §7.1).
    this.sendKexInit();
  }

  // ------------------------------------------------------------------ I/O surface

  /** Feeds bytes received from the peer. Never throws: errors end the connection with an event. */
  receive(bytes: Uint8Array): void {
    if (this.phase === 'closed') return;
    this.packets.inbound.push(bytes);
    this.guard(() => this.process());
  }

  /** The next bytes to write to the peer, or null when there are none. */
  pollTransmit(): Uint8Array | null {
    return this.packets.outbound.shift() ?? null;
  }

  pollEvent(): TransportEvent | null {
    return this.events.shift() ?? null;
  }

  /** When `handleTimeout` should next be called (ms on the caller's clock), or null. */
  nextDeadline(): number | null {
    if (this.phase === 'closed') return null;
    // While an exchange runs, only its time limit matters; the rekey timer
    // restarts when it finishes (and runs only after authentication).
    if (this.ourKexInit !== null) return this.kexStartedAt + this.kexTimeoutMs;
    if (!this.initialKexDone || !this.authenticated) return null;
    return this.rekeyPolicy.deadline();
  }

  handleTimeout(now: number): void {
    this.now = now;
    if (this.phase === 'closed') return;
    this.guard(() => {
      if (this.ourKexInit !== null && now >= this.kexStartedAt + this.kexTimeoutMs) {
        throw new TimeoutError('key exchange', this.kexTimeoutMs);
      }
      this.maybeRekey();
    });
  }

  /** The server host key blob of the first exchange (client: as verified; server: ours). */
  get hostKey(): Uint8Array | null {
    return this.hostKeyBlob;
  }

  get isClosed(): boolean {
    return this.phase === 'closed';
  }

  /** Upper-layer bytes waiting for a key exchange to finish (writers should pause when this grows). */
  get pendingBytes(): number {
    return this.heldBytes;
  }

  /** True while a key exchange is under way. */
  get rekeying(): boolean {
    return this.ourKexInit !== null;
  }

  // ------------------------------------------------------------------ commands

  /**
   * Sends an upper-layer payload (message number >= 50); held back during key
   * exchange. `tail`, when given, is appended to `payload` (channel data goes
   * out as header + the caller's bytes, framed with one copy); the caller may
   * reuse `tail` once this returns.
   */
  send(payload: Uint8Array, tail?: Uint8Array): void {
    if (this.phase === 'closed') return;
    if (this.ourKexInit !== null || !this.initialKexDone || this.held.length > 0) {
      const p = tail ? concat([payload, tail]) : payload;
      this.held.push(p);
      this.heldBytes += p.length;
      if (this.heldBytes > (this.options.maxHeldBytes ?? DEFAULT_MAX_HELD_BYTES)) {
        this.fail(new ProtocolError(`more than ${this.heldBytes} bytes waiting for a key exchange to finish`, DisconnectReason.BY_APPLICATION));
      }
      return;
    }
    this.writePacket(payload, tail);
    this.guard(() => this.maybeRekey());
  }

  /**
   * Starts a key re-exchange now (no-op if one is under way). OpenSSH peers
   * refuse this before user authentication; that ends the connection with a
   * KeyExchangeError saying so.
   */
  rekey(): void {
    if (this.phase === 'closed' || this.ourKexInit !== null || !this.initialKexDone) return;
    this.sendKexInit();
  }

  /** Client: asks for a service (`ssh-userauth`); answered by a `service-accept` event. */
  requestService(service: string): void {
    this.send(ServiceRequest.encode({ service }));
  }

  /** Server: accepts the service the client asked for. */
  acceptService(service: string): void {
    this.send(ServiceAccept.encode({ service }));
  }

  /** Client: answer to a `host-key` event. */
  answerHostKey(accepted: boolean, fingerprint = ''): void {
    if (!this.awaitingHostKeyAnswer || this.phase === 'closed') return;
    this.awaitingHostKeyAnswer = false;
    if (!accepted) {
      this.fail(new HostKeyRejectedError(`server host key ${fingerprint} was rejected`, fingerprint));
      return;
    }
    this.guard(() => {
      this.sendNewKeys();
      this.process();
    });
  }

  /** OpenSSH's transport ping; answered by a `pong` event when the peer supports it. */
  ping(data: Uint8Array = new Uint8Array(0)): void {
    this.send(Ping.encode({ data }));
  }

  /** Sends an IGNORE message (useful as traffic padding and in tests). */
  ignore(data: Uint8Array): void {
    if (this.phase === 'closed') return;
    this.writePacket(Ignore.encode({ data }));
  }

  /** Replies UNIMPLEMENTED for a received upper-layer message the caller cannot handle. */
  unimplemented(seq: number): void {
    if (this.phase === 'closed') return;
    this.writePacket(Unimplemented.encode({ sequence: seq }));
  }

  /** User authentication succeeded: starts delayed compression (`zlib@openssh.com`). */
  setAuthenticated(): void {
    this.authenticated = true;
    this.packets.compression.setAuthenticated();
  }

  /** Ends the connection with DISCONNECT. */
  disconnect(reason: DisconnectReasonCode = DisconnectReason.BY_APPLICATION, description = 'closed by application'): void {
    if (this.phase === 'closed') return;
    this.sendDisconnect(reason, description);
    this.close(new DisconnectError(reason, description, false), false);
  }

  /** Ends the connection because of `error`, with the DISCONNECT reason it carries. */
  abort(error: unknown): void {
    this.fail(error);
  }

  /** The I/O layer saw the byte stream end without a DISCONNECT. */
  connectionLost(description = 'connection lost'): void {
    if (this.phase === 'closed') return;
    this.close(new DisconnectError(DisconnectReason.CONNECTION_LOST, description, false), false);
  }

  // ------------------------------------------------------------------ receive path

  private guard(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.fail(e);
    }
  }

  private fail(e: unknown): void {
    if (this.phase === 'closed') return;
    const error = e instanceof NacreError ? e : new ProtocolError(`internal error: ${(e as Error)?.message ?? String(e)}`, DisconnectReason.PROTOCOL_ERROR, { cause: e });
    this.sendDisconnect(error.reason, error.message);
    this.close(error, false);
  }

  private close(error: NacreError, fromPeer: boolean): void {
    this.phase = 'closed';
    this.held = [];
    this.heldBytes = 0;
    this.events.push({ type: 'disconnected', error, fromPeer });
  }

  private sendDisconnect(reason: number, description: string): void {
    if (this.phase === 'version' && this.peerVersion === null && this.ourKexInit === null) return;
    try {
      this.writePacket(Disconnect.encode({ reason, description: description.slice(0, 1024), language: '' }));
    } catch {
      // If even DISCONNECT cannot be sealed, closing the socket says enough.
    }
  }

  private process(): void {
    if (this.phase === 'version') {
      const version = readPeerVersion(this.packets.inbound, this.role === 'client', this.preamble);
      if (version === null) return;
      this.peerVersion = version;
      if (this.role === 'client') (this.setup as { serverVersion: string }).serverVersion = version;
      else (this.setup as { clientVersion: string }).clientVersion = version;
      this.phase = 'running';
    }
    while (this.phase === 'running' && !this.awaitingHostKeyAnswer) {
      const payload = this.readPacket();
      if (!payload) break;
      this.dispatch(payload.payload, payload.seq);
    }
    this.maybeRekey();
  }

  private readPacket(): { payload: Uint8Array; seq: number } | null {
    const packet = this.packets.read();
    if (packet && this.packets.receiveWrapped && this.strictKex && !this.initialKexDone) {
      throw new ProtocolError('sequence number wrapped during the initial key exchange');
    }
    return packet;
  }

  private dispatch(payload: Uint8Array, seq: number): void {
    const type = payload[0]!;
    // Strict kex: during the first exchange only the exchange itself may be spoken.
    if (!this.initialKexDone && this.strictKex && !(type >= 20 && type <= 49) && type !== MSG.DISCONNECT) {
      throw new ProtocolError(`message ${type} is not allowed during strict initial key exchange`);
    }
    // RFC 4253 §7.1: after its KEXINIT and until its NEWKEYS the peer may send only
    // generic transport messages and the exchange's own. Anything else would make
    // us queue replies that cannot leave until the exchange ends.
    if (this.peerInKex && !(type <= MSG.DEBUG || (type >= 20 && type <= 49))) {
      throw new ProtocolError(`message ${type} is not allowed during key exchange`);
    }
    switch (type) {
      case MSG.DISCONNECT: {
        const m = Disconnect.decode(payload);
        this.close(new DisconnectError(m.reason as DisconnectReasonCode, m.description, true), true);
        return;
      }
      case MSG.IGNORE:
        return;
      case MSG.UNIMPLEMENTED: {
        const refused = Unimplemented.decode(payload).sequence;
        if (this.ourKexInit !== null && refused === this.ourKexInitSeq) {
          throw new KeyExchangeError('peer refused our KEXINIT (OpenSSH does not re-exchange keys before user authentication)');
        }
        this.events.push({ type: 'unimplemented', seq: refused });
        return;
      }
      case MSG.DEBUG: {
        const m = Debug.decode(payload);
        this.events.push({ type: 'debug', text: m.text, alwaysDisplay: m.alwaysDisplay });
        return;
      }
      case MSG.KEXINIT:
        this.onKexInit(payload, seq);
        return;
      case MSG.NEWKEYS:
        NewKeys.decode(payload);
        this.onNewKeys();
        return;
      case MSG.SERVICE_REQUEST: {
        this.requireKeys(type);
        if (this.role !== 'server') throw new ProtocolError('client received SERVICE_REQUEST');
        this.events.push({ type: 'service-request', service: ServiceRequest.decode(payload).service });
        return;
      }
      case MSG.SERVICE_ACCEPT: {
        this.requireKeys(type);
        if (this.role !== 'client') throw new ProtocolError('server received SERVICE_ACCEPT');
        this.events.push({ type: 'service-accept', service: ServiceAccept.decode(payload).service });
        return;
      }
      case MSG.EXT_INFO: {
        this.requireKeys(type);
        const m = ExtInfo.decode(payload);
        for (const [k, v] of m.extensions) this.peerExtensions.set(k, v);
        this.events.push({ type: 'ext-info', extensions: new Map(m.extensions) });
        return;
      }
      case MSG.PING: {
        this.requireKeys(type);
        const m = Ping.decode(payload);
        this.send(Pong.encode({ data: m.data }));
        return;
      }
      case MSG.PONG:
        this.requireKeys(type);
        this.events.push({ type: 'pong', data: Pong.decode(payload).data });
        return;
    }
    if (type >= 30 && type <= 49) {
      this.onKexMessage(payload);
      return;
    }
    if (type >= 50) {
      this.requireKeys(type);
      // zlib@openssh.com starts right after USERAUTH_SUCCESS: the next packet in
      // this same read may already be compressed, so switch before reading it.
      if (type === 52 && this.role === 'client') this.setAuthenticated();
      this.events.push({ type: 'message', payload, seq });
      return;
    }
    // Unknown transport-level message numbers get UNIMPLEMENTED (RFC 4253 §11.4).
    this.writePacket(Unimplemented.encode({ sequence: seq }));
  }

  private requireKeys(type: number): void {
    if (!this.initialKexDone) throw new ProtocolError(`message ${type} received before the first key exchange finished`);
  }

  // ------------------------------------------------------------------ key exchange

  private sendKexInit(): void {
    const initial = !this.initialKexDone;
    const payload = buildKexInit(this.setup, initial, offerableHostKeyAlgorithms(this.setup));
    this.ourKexInit = payload;
    this.ourKexInitSeq = this.packets.nextSendSeq;
    this.kexStartedAt = this.now;
    this.writePacket(payload);
    this.guessed = null;
    if (this.phase !== 'closed') {
      const g = startGuess(this.setup, payload);
      if (g) {
        this.guessed = g;
        for (const p of g.send) this.writePacket(p);
      }
    }
  }

  private onKexInit(payload: Uint8Array, seq: number): void {
    if (this.kex !== null || this.pendingResult !== null) throw new ProtocolError('KEXINIT received during a key exchange');
    KexInit.decode(payload); // validate before anything else happens
    this.peerInKex = true;
    if (this.ourKexInit === null) this.sendKexInit();
    const initial = !this.initialKexDone;
    this.kex = new KeyExchange(this.setup, this.ourKexInit!, payload, initial, this.sessionId, this.guessed);
    this.guessed = null;
    if (initial) {
      this.strictKex = this.kex.strict;
      // Strict kex: KEXINIT must have been the peer's very first packet.
      if (this.strictKex && seq !== 0) throw new ProtocolError('strict key exchange: KEXINIT was not the first packet');
    }
    const started = this.kex.start();
    this.afterKexStep(started);
  }

  private onKexMessage(payload: Uint8Array): void {
    if (this.kex === null) throw new ProtocolError(`key exchange message ${payload[0]} received outside a key exchange`);
    if (this.kex.ignoreNext) {
      this.kex.ignoreNext = false;
      return;
    }
    if (this.pendingResult !== null) throw new ProtocolError(`unexpected key exchange message ${payload[0]}`);
    this.afterKexStep(this.kex.handle(payload));
  }

  private afterKexStep(step: { send: readonly Uint8Array[]; result?: KexResult }): void {
    for (const p of step.send) this.writePacket(p);
    if (!step.result) return;
    const result = step.result;
    this.pendingResult = result;
    this.pendingIncoming = result.incoming;
    if (this.role === 'client') {
      if (this.hostKeyBlob === null) {
        this.awaitingHostKeyAnswer = true;
        this.events.push({ type: 'host-key', hostKey: result.hostKeyBlob, algorithm: result.algorithms.hostKey });
        return;
      }
      if (!sameBytes(this.hostKeyBlob, result.hostKeyBlob)) {
        throw new KeyExchangeError(`server changed its host key (${blobKeyType(result.hostKeyBlob)}) during re-exchange`, DisconnectReason.HOST_KEY_NOT_VERIFIABLE);
      }
    }
    this.sendNewKeys();
  }

  private sendNewKeys(): void {
    const result = this.pendingResult!;
    if (this.hostKeyBlob === null) this.hostKeyBlob = result.hostKeyBlob;
    if (this.sessionId === null) this.sessionId = result.exchangeHash;
    this.writePacket(NewKeys.encode({}));
    const out = result.outgoing;
    this.packets.setOutgoing(out.protection, out.algorithms.compression, out.byteLimit, this.strictKex);
    this.sentNewKeys = true;
    const first = !this.initialKexDone;
    if (first && this.role === 'server' && this.kex?.peerWantsExtInfo) {
      // RFC 8308 §2.4: EXT_INFO goes right after the server's first NEWKEYS.
      this.writePacket(ExtInfo.encode({ extensions: serverExtensions(this.options.serverSigAlgs) }));
    }
    this.maybeFinishKex();
  }

  private onNewKeys(): void {
    if (this.pendingIncoming === null) throw new ProtocolError('NEWKEYS received before the key exchange produced keys');
    this.peerInKex = false;
    const inc = this.pendingIncoming;
    this.packets.setIncoming(inc.protection, inc.algorithms.compression, inc.byteLimit, this.strictKex);
    this.pendingIncoming = null;
    this.receivedNewKeys = true;
    const initialOnServer = this.role === 'server' && !this.initialKexDone;
    this.maybeFinishKex();
    if (initialOnServer && this.initialKexDone) {
      // OpenSSH's client writes NEWKEYS and SERVICE_REQUEST as two segments
      // with Nagle's algorithm on, so the second waits until the first is
      // ACKed; with nothing to answer, our kernel delays that ACK by ~40 ms.
      // An IGNORE (allowed at any time, RFC 4253 §11.2) carries the ACK now.
      this.writePacket(Ignore.encode({ data: new Uint8Array(0) }));
    }
  }

  private receivedNewKeys = false;

  private maybeFinishKex(): void {
    if (!this.sentNewKeys || !this.receivedNewKeys) return;
    const result = this.pendingResult!;
    const initial = !this.initialKexDone;
    this.initialKexDone = true;
    this.algorithms = result.algorithms;
    this.kex = null;
    this.pendingResult = null;
    this.ourKexInit = null;
    this.sentNewKeys = false;
    this.receivedNewKeys = false;
    this.rekeyPolicy.reset(this.now);
    this.events.push({ type: 'keys-exchanged', initial, algorithms: result.algorithms, strict: this.strictKex });
    const held = this.held;
    this.held = [];
    this.heldBytes = 0;
    for (const p of held) this.writePacket(p);
    this.maybeRekey();
  }

  private maybeRekey(): void {
    // Like OpenSSH, limits only trigger after user authentication: OpenSSH peers
    // refuse KEXINIT during pre-auth, so an automatic one there would stall.
    if (this.phase !== 'running' || !this.initialKexDone || !this.authenticated || this.ourKexInit !== null) return;
    if (this.rekeyPolicy.due(this.now)) this.sendKexInit();
  }

  // ------------------------------------------------------------------ send path

  private writePacket(payload: Uint8Array, tail?: Uint8Array): void {
    this.packets.write(payload, tail);
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
