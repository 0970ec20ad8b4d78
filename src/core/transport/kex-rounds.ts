// The sequencing of key exchanges over one connection: when KEXINIT goes
// out, which exchange the peer's KEXINIT starts, the host key question of the
// first round, and the two NEWKEYS that switch each direction's keys. One
// exchange's own messages are KeyExchange's business (core/kex/machine.ts);
// this file decides when each step happens. The transport routes the kex
// messages here and learns from `onFinished` when held traffic may flow.
import { DisconnectReason, HostKeyRejectedError, KeyExchangeError, ProtocolError, TimeoutError } from '../../errors.js';
import { ExtInfo, Ignore, KexInit, NewKeys } from '../../messages/transport.js';
import type { TransportEvent } from './events.js';
import type { PacketStream } from './packet-stream.js';
import { serverExtensions } from './ext-info.js';
import {
  KeyExchange,
  blobKeyType,
  makeKexInit,
  offerableHostKeyAlgorithms,
  startGuess,
  type DirectionState,
  type GuessedExchange,
  type KexResult,
  type KexSetup,
  type OurKexInit,
} from '../kex/machine.js';
import type { NegotiatedAlgorithms } from '../kex/negotiate.js';

/** What the rounds need from the transport that owns them. */
export interface KexRoundsHost {
  emit(event: TransportEvent): void;
  /** The transport's current clock reading (ms). */
  now(): number;
  /** Both NEWKEYS are done: held upper-layer traffic may go. */
  onFinished(initial: boolean): void;
  /** Server: what EXT_INFO announces as `server-sig-algs`. */
  readonly serverSigAlgs: readonly string[] | undefined;
}

export class KexRounds {
  private firstSessionId: Uint8Array | null = null;
  private lastAlgorithms: NegotiatedAlgorithms | null = null;
  private strictMode = false;
  private firstHostKey: Uint8Array | null = null;
  /** The server's signature of the first exchange hash, which proves the session to an agent (session-bind@openssh.com). */
  private firstSignature: Uint8Array | null = null;
  private initialFinished = false;
  private firstKeysReady = false;
  private peerMidKex = false;
  private waitingForHostKeyAnswer = false;
  private ourKexInit: OurKexInit | null = null;
  private ourKexInitSeq = -1;
  private startedAt = 0;
  private guessed: GuessedExchange | null = null;
  private kex: KeyExchange | null = null;
  private pendingResult: KexResult | null = null;
  private pendingIncoming: DirectionState | null = null;
  private sentNewKeys = false;
  private receivedNewKeys = false;

  constructor(
    private readonly setup: KexSetup,
    private readonly packets: PacketStream,
    private readonly host: KexRoundsHost,
  ) {}

  /** Exchange hash of the first key exchange. */
  get sessionId(): Uint8Array | null {
    return this.firstSessionId;
  }

  /** What the last finished exchange chose. */
  get algorithms(): NegotiatedAlgorithms | null {
    return this.lastAlgorithms;
  }

  /** Whether strict key exchange (the Terrapin countermeasure) is in force. */
  get strict(): boolean {
    return this.strictMode;
  }

  /** The server host key blob of the first exchange (client: as verified; server: ours). */
  get hostKeyBlob(): Uint8Array | null {
    return this.firstHostKey;
  }

  /** The server's signature of the session identifier (the first exchange hash). */
  get sessionSignature(): Uint8Array | null {
    return this.firstSignature;
  }

  get initialDone(): boolean {
    return this.initialFinished;
  }

  /**
   * The first exchange has computed its keys: the peer has sent its version
   * line, its KEXINIT and its share of the exchange. What remains (our host
   * key question as a client, the peer's NEWKEYS) may wait on a person.
   */
  get firstKeysComputed(): boolean {
    return this.firstKeysReady;
  }

  /** Between the peer's KEXINIT and its NEWKEYS, only kex and generic transport messages may come. */
  get peerInKex(): boolean {
    return this.peerMidKex;
  }

  /** Client: waiting for `answerHostKey`; no further packet is read until then. */
  get awaitingHostKeyAnswer(): boolean {
    return this.waitingForHostKeyAnswer;
  }

  /** True from our KEXINIT until both NEWKEYS are done. */
  get inProgress(): boolean {
    return this.ourKexInit !== null;
  }

  /** When the running exchange must have finished, or null when none runs. */
  deadline(timeoutMs: number): number | null {
    return this.ourKexInit === null ? null : this.startedAt + timeoutMs;
  }

  /** Throws a TimeoutError when the running exchange has outlived `timeoutMs`. */
  checkTimeout(now: number, timeoutMs: number): void {
    if (this.ourKexInit !== null && now >= this.startedAt + timeoutMs) throw new TimeoutError('key exchange', timeoutMs);
  }

  /** Whether `refusedSeq` (from UNIMPLEMENTED) is our KEXINIT of the running exchange. */
  isOurKexInit(refusedSeq: number): boolean {
    return this.ourKexInit !== null && refusedSeq === this.ourKexInitSeq;
  }

  /** Sends our KEXINIT (and a guessed first kex packet when configured). */
  start(): void {
    const ours = makeKexInit(this.setup, !this.initialFinished, offerableHostKeyAlgorithms(this.setup));
    const payload = ours.payload;
    this.ourKexInit = ours;
    this.ourKexInitSeq = this.packets.nextSendSeq;
    this.startedAt = this.host.now();
    this.packets.write(payload);
    this.guessed = startGuess(this.setup, payload);
    for (const p of this.guessed?.send ?? []) this.packets.write(p);
  }

  onKexInit(payload: Uint8Array, seq: number): void {
    if (this.kex !== null || this.pendingResult !== null) throw new ProtocolError('KEXINIT received during a key exchange');
    const peerKexInit = KexInit.decode(payload); // validate before anything else happens
    this.peerMidKex = true;
    if (this.ourKexInit === null) this.start();
    const ours = this.ourKexInit!;
    const initial = !this.initialFinished;
    this.kex = new KeyExchange(this.setup, ours.payload, payload, initial, this.firstSessionId, this.guessed, { ours: ours.message, theirs: peerKexInit });
    this.guessed = null;
    if (initial) {
      this.strictMode = this.kex.strict;
      // Strict kex: KEXINIT must have been the peer's very first packet.
      if (this.strictMode && seq !== 0) throw new ProtocolError('strict key exchange: KEXINIT was not the first packet');
    }
    this.afterStep(this.kex.start());
  }

  /** A message numbered 30–49: the running exchange's own. */
  onKexMessage(payload: Uint8Array): void {
    if (this.kex === null) throw new ProtocolError(`key exchange message ${payload[0]} received outside a key exchange`);
    if (this.kex.ignoreNext) {
      this.kex.ignoreNext = false;
      return;
    }
    if (this.pendingResult !== null) throw new ProtocolError(`unexpected key exchange message ${payload[0]}`);
    this.afterStep(this.kex.handle(payload));
  }

  /** Client: the application's verdict on the first exchange's host key. */
  answerHostKey(accepted: boolean, fingerprint: string): void {
    this.waitingForHostKeyAnswer = false;
    if (!accepted) throw new HostKeyRejectedError(`server host key ${fingerprint} was rejected`, fingerprint);
    this.sendNewKeys();
  }

  onNewKeys(payload: Uint8Array): void {
    NewKeys.decode(payload);
    if (this.pendingIncoming === null) throw new ProtocolError('NEWKEYS received before the key exchange produced keys');
    this.peerMidKex = false;
    const inc = this.pendingIncoming;
    this.packets.setIncoming(inc.protection, inc.algorithms.compression, inc.byteLimit, this.strictMode);
    this.pendingIncoming = null;
    this.receivedNewKeys = true;
    const initialOnServer = this.setup.role === 'server' && !this.initialFinished;
    this.maybeFinish();
    if (initialOnServer && this.initialFinished) {
      // OpenSSH's client writes NEWKEYS and SERVICE_REQUEST as two segments
      // with Nagle's algorithm on, so the second waits until the first is
      // ACKed; with nothing to answer, our kernel delays that ACK by ~40 ms.
      // An IGNORE (allowed at any time, RFC 4253 §11.2) carries the ACK now.
      this.packets.write(Ignore.encode({ data: new Uint8Array(0) }));
    }
  }

  private afterStep(step: { send: readonly Uint8Array[]; result?: KexResult }): void {
    for (const p of step.send) this.packets.write(p);
    if (!step.result) return;
    const result = step.result;
    this.firstKeysReady = true;
    this.pendingResult = result;
    this.pendingIncoming = result.incoming;
    if (this.setup.role === 'client') {
      if (this.firstHostKey === null) {
        this.waitingForHostKeyAnswer = true;
        this.host.emit({ type: 'host-key', hostKey: result.hostKeyBlob, algorithm: result.algorithms.hostKey });
        return;
      }
      if (!sameBytes(this.firstHostKey, result.hostKeyBlob)) {
        throw new KeyExchangeError(`server changed its host key (${blobKeyType(result.hostKeyBlob)}) during re-exchange`, DisconnectReason.HOST_KEY_NOT_VERIFIABLE);
      }
    }
    this.sendNewKeys();
  }

  private sendNewKeys(): void {
    const result = this.pendingResult!;
    this.firstHostKey ??= result.hostKeyBlob;
    this.firstSessionId ??= result.exchangeHash;
    this.firstSignature ??= result.signature;
    this.packets.write(NewKeys.encode({}));
    const out = result.outgoing;
    this.packets.setOutgoing(out.protection, out.algorithms.compression, out.byteLimit, this.strictMode);
    this.sentNewKeys = true;
    if (!this.initialFinished && this.setup.role === 'server' && this.kex?.peerWantsExtInfo) {
      // RFC 8308 §2.4: EXT_INFO goes right after the server's first NEWKEYS.
      this.packets.write(ExtInfo.encode({ extensions: serverExtensions(this.host.serverSigAlgs) }));
    }
    this.maybeFinish();
  }

  private maybeFinish(): void {
    if (!this.sentNewKeys || !this.receivedNewKeys) return;
    const result = this.pendingResult!;
    const initial = !this.initialFinished;
    this.initialFinished = true;
    this.lastAlgorithms = result.algorithms;
    this.kex = null;
    this.pendingResult = null;
    this.ourKexInit = null;
    this.sentNewKeys = false;
    this.receivedNewKeys = false;
    this.host.emit({ type: 'keys-exchanged', initial, algorithms: result.algorithms, strict: this.strictMode });
    this.host.onFinished(initial);
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
