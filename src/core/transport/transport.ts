// The SSH transport layer (RFC 4253) as a sans-I/O state machine: bytes and
// time in, bytes, events and a deadline out. It never touches a socket, a
// clock or a timer; the I/O layer drives it.
import { DisconnectError, DisconnectReason, KeyExchangeError, NacreError, ProtocolError, VersionError } from '../../errors.js';
import type { DisconnectReasonCode } from '../../errors.js';
import {
  Debug,
  Disconnect,
  ExtInfo,
  Ignore,
  MSG,
  Ping,
  Pong,
  ServiceAccept,
  ServiceRequest,
  Unimplemented,
} from '../../messages/transport.js';
import { MSG_USERAUTH } from '../../messages/userauth.js';
import { utf8 } from '../../wire/bytes.js';
import { concat } from '../../wire/writer.js';
import { PacketStream } from './packet-stream.js';
import type { TransportEvent } from './events.js';
import { describeReceived, formatVersionLine, readPeerVersion } from './version.js';
import { KexRounds } from './kex-rounds.js';
import { offerableHostKeyAlgorithms, type KexSetup, type Role } from '../kex/machine.js';
import type { NegotiatedAlgorithms } from '../kex/negotiate.js';
import { RekeyPolicy } from '../kex/rekey.js';
import { DEFAULT_KEX_TIMEOUT_MS, DEFAULT_MAX_HELD_BYTES, DEFAULT_SOFTWARE, type TransportOptions } from './transport-options.js';
import { HandshakeDeadlines, earliest } from './handshake-deadlines.js';
import { HeldPayloads } from './held-payloads.js';

export { DEFAULT_SOFTWARE, DEFAULT_KEX_TIMEOUT_MS, type TransportOptions } from './transport-options.js';

type Phase = 'version' | 'running' | 'closed';

export class Transport {
  readonly role: Role;
  peerVersion: string | null = null;
  readonly localVersion: string;
  /** Extensions the peer announced in EXT_INFO. */
  readonly peerExtensions = new Map<string, Uint8Array>();
  /** Lines the server sent before its version line. */
  readonly preamble: string[] = [];

  private phase: Phase = 'version';
  private readonly setup: KexSetup;
  private readonly packets: PacketStream;
  private readonly events: TransportEvent[] = [];
  private now: number;
  private readonly kexRounds: KexRounds;
  private readonly kexTimeoutMs: number;
  private readonly handshakeDeadlines: HandshakeDeadlines;
  /** Upper-layer payloads held while a key exchange is under way. */
  private readonly held: HeldPayloads;
  private readonly rekeyPolicy: RekeyPolicy;

  private authenticated = false;
  /** EXT_INFO messages taken from the peer so far. */
  private extInfoCount = 0;

  constructor(options: TransportOptions) {
    this.role = options.role;
    this.now = options.now;
    this.handshakeDeadlines = new HandshakeDeadlines(options.now, options.identTimeoutMs ?? 0, options.handshakeTimeoutMs ?? 0);
    this.held = new HeldPayloads(options.maxHeldBytes ?? DEFAULT_MAX_HELD_BYTES);
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
    this.kexRounds = new KexRounds(this.setup, this.packets, {
      emit: (e) => this.events.push(e),
      now: () => this.now,
      onFinished: () => this.afterKex(),
      serverSigAlgs: options.serverSigAlgs,
    });
    this.packets.writeRaw(utf8(this.localVersion + '\r\n'));
    // Our KEXINIT may follow the version line at once (RFC 4253 §7.1).
    this.kexRounds.start();
  }

  /** Exchange hash of the first key exchange. */
  get sessionId(): Uint8Array | null {
    return this.kexRounds.sessionId;
  }

  /** What the last key exchange chose. */
  get algorithms(): NegotiatedAlgorithms | null {
    return this.kexRounds.algorithms;
  }

  /** Whether strict key exchange (the Terrapin countermeasure) is in force. */
  get strictKex(): boolean {
    return this.kexRounds.strict;
  }

  // ------------------------------------------------------------------ I/O surface

  /**
   * Feeds bytes received from the peer at `now` (ms). Never throws: errors
   * end the connection with an event. `lent`: the caller reuses the memory
   * of `bytes` once this returns (a read buffer shared by every socket read),
   * so nothing may keep a view of it; what is not yet a whole packet is
   * copied.
   */
  receive(now: number, bytes: Uint8Array, lent = false): void {
    this.advance(now);
    if (this.phase === 'closed') return;
    this.packets.push(bytes, lent);
    this.guard(() => this.process());
    if (lent) this.packets.releaseLent(bytes);
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
    const kexDeadline = earliest(this.kexRounds.deadline(this.kexTimeoutMs), this.handshakeDeadline());
    if (kexDeadline !== null) return kexDeadline;
    if (!this.kexRounds.initialDone || !this.authenticated) return null;
    return this.rekeyPolicy.deadline();
  }

  handleTimeout(now: number): void {
    this.advance(now);
    if (this.phase === 'closed') return;
    this.guard(() => {
      this.checkHandshakeTimeout(this.now);
      this.kexRounds.checkTimeout(this.now, this.kexTimeoutMs);
      this.maybeRekey();
    });
  }

  /** The server host key blob of the first exchange (client: as verified; server: ours). */
  get hostKey(): Uint8Array | null {
    return this.kexRounds.hostKeyBlob;
  }

  /** The server's signature of the session identifier in the first exchange (what ssh hands its agent in session-bind@openssh.com). */
  get sessionSignature(): Uint8Array | null {
    return this.kexRounds.sessionSignature;
  }

  get isClosed(): boolean {
    return this.phase === 'closed';
  }

  /** Upper-layer bytes waiting for a key exchange to finish (writers should pause when this grows). */
  get pendingBytes(): number {
    return this.held.byteLength;
  }

  /** True while a key exchange is under way. */
  get rekeying(): boolean {
    return this.kexRounds.inProgress;
  }

  // ------------------------------------------------------------------ commands
  //
  // Every command, like `receive` and `handleTimeout`, takes the current time
  // (ms on the caller's clock): anything it starts (a key exchange that
  // sending crosses a byte limit into, a reply) is timed from then, not from
  // whenever the last timer fired.

  /**
   * Sends an upper-layer payload (message number >= 50); held back during key
   * exchange. `tail`, when given, is appended to `payload` (channel data goes
   * out as header + the caller's bytes, framed with one copy); the caller may
   * reuse `tail` once this returns.
   */
  send(now: number, payload: Uint8Array, tail?: Uint8Array): void {
    this.advance(now);
    if (this.phase === 'closed') return;
    if (this.kexRounds.inProgress || !this.kexRounds.initialDone || this.held.length > 0) {
      if (!this.held.hold(tail ? concat([payload, tail]) : payload)) {
        this.fail(new ProtocolError(`more than ${this.held.byteLength} bytes waiting for a key exchange to finish`, DisconnectReason.BY_APPLICATION));
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
  rekey(now: number): void {
    this.advance(now);
    if (this.phase === 'closed' || this.kexRounds.inProgress || !this.kexRounds.initialDone) return;
    this.kexRounds.start();
  }

  /** Client: asks for a service (`ssh-userauth`); answered by a `service-accept` event. */
  requestService(now: number, service: string): void {
    this.send(now, ServiceRequest.encode({ service }));
  }

  /** Server: accepts the service the client asked for. */
  acceptService(now: number, service: string): void {
    this.send(now, ServiceAccept.encode({ service }));
  }

  /** Client: answer to a `host-key` event. */
  answerHostKey(now: number, accepted: boolean, fingerprint = ''): void {
    this.advance(now);
    if (!this.kexRounds.awaitingHostKeyAnswer || this.phase === 'closed') return;
    this.guard(() => {
      this.kexRounds.answerHostKey(accepted, fingerprint);
      this.process();
    });
  }

  /** OpenSSH's transport ping; answered by a `pong` event when the peer supports it. */
  ping(now: number, data: Uint8Array = new Uint8Array(0)): void {
    this.send(now, Ping.encode({ data }));
  }

  /** Sends an IGNORE message (useful as traffic padding and in tests). */
  ignore(now: number, data: Uint8Array): void {
    this.advance(now);
    if (this.phase === 'closed') return;
    this.writePacket(Ignore.encode({ data }));
  }

  /** Replies UNIMPLEMENTED for a received upper-layer message the caller cannot handle. */
  unimplemented(now: number, seq: number): void {
    this.advance(now);
    if (this.phase === 'closed') return;
    this.writePacket(Unimplemented.encode({ sequence: seq }));
  }

  /** User authentication succeeded: starts delayed compression (`zlib@openssh.com`). */
  setAuthenticated(): void {
    this.authenticated = true;
    this.packets.compression.setAuthenticated();
  }

  /** Ends the connection with DISCONNECT. */
  disconnect(now: number, reason: DisconnectReasonCode = DisconnectReason.BY_APPLICATION, description = 'closed by application'): void {
    this.advance(now);
    if (this.phase === 'closed') return;
    this.sendDisconnect(reason, description);
    this.close(new DisconnectError(reason, description, false), false);
  }

  /** Ends the connection because of `error`, with the DISCONNECT reason it carries. */
  abort(now: number, error: unknown): void {
    this.advance(now);
    this.fail(error);
  }

  /**
   * The I/O layer saw the byte stream end without a DISCONNECT. A server that
   * closes before its version line is not speaking SSH (an HTTP server
   * answering our version line with 400): a VersionError says what it sent.
   */
  connectionLost(now: number, description = 'connection lost'): void {
    this.advance(now);
    if (this.phase === 'closed') return;
    if (this.phase === 'version' && this.role === 'client') {
      this.close(new VersionError(`no SSH identification line before the connection closed (${description}); ${this.receivedInstead()}`), false);
      return;
    }
    this.close(new DisconnectError(DisconnectReason.CONNECTION_LOST, description, false), false);
  }

  /** Moves the clock to `now`; an earlier reading (a clock stepped back) is ignored, so deadlines never move back. */
  private advance(now: number): void {
    if (now > this.now) this.now = now;
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
    this.held.takeAll();
    this.events.push({ type: 'disconnected', error, fromPeer });
  }

  private sendDisconnect(reason: number, description: string): void {
    if (this.phase === 'version' && this.peerVersion === null && !this.kexRounds.inProgress) return;
    try {
      this.writePacket(Disconnect.encode({ reason, description: description.slice(0, 1024), language: '' }));
    } catch {
      // If even DISCONNECT cannot be sealed, closing the socket says enough.
    }
  }

  private process(): void {
    if (this.phase === 'version') {
      let version: string | null;
      try {
        version = readPeerVersion(this.packets.inbound, this.role === 'client', this.preamble);
      } catch (err) {
        // A peer that is no SSH server (a line without end, binary with NULs,
        // endless lines) fails as the others do: a VersionError quoting it.
        if (err instanceof VersionError || !(err instanceof ProtocolError)) throw err;
        throw new VersionError(`no SSH identification line (${err.message}); ${this.receivedInstead()}`, { cause: err });
      }
      if (version === null) return;
      this.peerVersion = version;
      if (this.role === 'client') (this.setup as { serverVersion: string }).serverVersion = version;
      else (this.setup as { clientVersion: string }).clientVersion = version;
      this.phase = 'running';
    }
    while (this.phase === 'running' && !this.kexRounds.awaitingHostKeyAnswer) {
      const payload = this.readPacket();
      if (!payload) break;
      this.dispatch(payload.payload, payload.seq);
    }
    this.maybeRekey();
  }

  private readPacket(): { payload: Uint8Array; seq: number } | null {
    const packet = this.packets.read();
    if (packet && this.packets.receiveWrapped && this.strictKex && !this.kexRounds.initialDone) {
      throw new ProtocolError('sequence number wrapped during the initial key exchange');
    }
    return packet;
  }

  private dispatch(payload: Uint8Array, seq: number): void {
    const type = payload[0]!;
    // Strict kex: during the first exchange only the exchange itself may be spoken.
    if (!this.kexRounds.initialDone && this.strictKex && !(type >= 20 && type <= 49) && type !== MSG.DISCONNECT) {
      throw new ProtocolError(`message ${type} is not allowed during strict initial key exchange`);
    }
    // RFC 4253 §7.1: after its KEXINIT and until its NEWKEYS the peer may send only
    // generic transport messages and the exchange's own. Anything else would make
    // us queue replies that cannot leave until the exchange ends.
    if (this.kexRounds.peerInKex && !(type <= MSG.DEBUG || (type >= 20 && type <= 49))) {
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
        if (this.kexRounds.isOurKexInit(refused)) {
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
        if (this.role === 'server' && this.kexRounds.initialDone && !this.authenticated) {
          // Like sshd: no re-exchange before login. Each one costs the server a
          // key exchange and a host key signature, and an unauthenticated
          // client could ask for them back to back until the grace time ends.
          this.writePacket(Unimplemented.encode({ sequence: seq }));
          return;
        }
        this.kexRounds.onKexInit(payload, seq);
        return;
      case MSG.NEWKEYS:
        this.kexRounds.onNewKeys(payload);
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
        // RFC 8308 §2.4: a server sends EXT_INFO after its first NEWKEYS and at
        // most once more before USERAUTH_SUCCESS, a client only after its first
        // NEWKEYS. Others are ignored, so a peer cannot grow the table forever.
        if (this.authenticated || this.extInfoCount >= (this.role === 'client' ? 2 : 1)) return;
        this.extInfoCount++;
        for (const [k, v] of m.extensions) this.peerExtensions.set(k, v);
        this.events.push({ type: 'ext-info', extensions: new Map(m.extensions) });
        return;
      }
      case MSG.PING: {
        this.requireKeys(type);
        const m = Ping.decode(payload);
        this.send(this.now, Pong.encode({ data: m.data }));
        return;
      }
      case MSG.PONG:
        this.requireKeys(type);
        this.events.push({ type: 'pong', data: Pong.decode(payload).data });
        return;
    }
    if (type >= 30 && type <= 49) {
      this.kexRounds.onKexMessage(payload);
      return;
    }
    if (type >= 50) {
      this.requireKeys(type);
      // zlib@openssh.com starts right after USERAUTH_SUCCESS: the next packet in
      // this same read may already be compressed, so switch before reading it.
      if (type === MSG_USERAUTH.SUCCESS && this.role === 'client') this.setAuthenticated();
      this.events.push({ type: 'message', payload, seq });
      return;
    }
    // Unknown transport-level message numbers get UNIMPLEMENTED (RFC 4253 §11.4).
    this.writePacket(Unimplemented.encode({ sequence: seq }));
  }

  private requireKeys(type: number): void {
    if (!this.kexRounds.initialDone) throw new ProtocolError(`message ${type} received before the first key exchange finished`);
  }

  // ------------------------------------------------------------------ key exchange

  /** Both NEWKEYS are done: the rekey limits restart and held traffic goes out. */
  private afterKex(): void {
    this.rekeyPolicy.reset(this.now);
    for (const p of this.held.takeAll()) this.writePacket(p);
    this.maybeRekey();
  }

  private maybeRekey(): void {
    // Like OpenSSH, limits only trigger after user authentication: OpenSSH peers
    // refuse KEXINIT during pre-auth, so an automatic one there would stall.
    if (this.phase !== 'running' || !this.kexRounds.initialDone || !this.authenticated || this.kexRounds.inProgress) return;
    if (this.rekeyPolicy.due(this.now)) this.kexRounds.start();
  }

  private handshakeDeadline(): number | null {
    return this.handshakeDeadlines.deadline(this.peerVersion !== null, this.kexRounds.firstKeysComputed);
  }

  private checkHandshakeTimeout(now: number): void {
    this.handshakeDeadlines.check(now, this.peerVersion !== null, this.kexRounds.firstKeysComputed, () => this.receivedInstead());
  }

  /** What the peer sent while we waited for its version line (lines before it, and an unfinished one). */
  private receivedInstead(): string {
    const inbound = this.packets.inbound;
    return describeReceived(this.preamble, inbound.peek(Math.min(inbound.length, 1024)));
  }

  // ------------------------------------------------------------------ send path

  private writePacket(payload: Uint8Array, tail?: Uint8Array): void {
    this.packets.write(payload, tail);
  }
}
