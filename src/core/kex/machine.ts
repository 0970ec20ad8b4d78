// One key exchange, from KEXINIT to the derived packet protections. The
// transport owns sequencing (when KEXINIT goes out, when NEWKEYS switches
// keys); this owns what the exchange computes.
import { HostKeyRejectedError, KeyExchangeError, ProtocolError } from '../../errors.js';
import { CertificateError } from '../../keys/certificate.js';
import { fingerprintSha256 } from '../../keys/blob.js';
import type { KexAlgorithm, KexExchange, KexOutcome, RandomSource, Signer } from '../../algorithms/types.js';
import { findKex } from '../../algorithms/kex/index.js';
import { findHostKeyAlgorithm } from '../../algorithms/hostkey.js';
import { findCipher } from '../../algorithms/cipher/index.js';
import { findMac } from '../../algorithms/mac.js';
import { findCompression } from '../../algorithms/compression.js';
import { KexInit } from '../../messages/transport.js';
import { Reader } from '../../wire/reader.js';
import { deriveSessionKeys, type DirectionKeys } from './derive.js';
import {
  EXT_INFO_C,
  EXT_INFO_S,
  STRICT_KEX_C,
  STRICT_KEX_S,
  guessWasRight,
  negotiate,
  type DirectionAlgorithms,
  type KexInitMessage,
  type NegotiatedAlgorithms,
} from './negotiate.js';
import type { AlgorithmLists } from '../../algorithms/index.js';
import type { Protection } from '../transport/packet-protection.js';

export type Role = 'client' | 'server';

export type { AlgorithmLists };

export interface KexSetup {
  readonly role: Role;
  readonly random: RandomSource;
  readonly lists: AlgorithmLists;
  readonly clientVersion: string;
  readonly serverVersion: string;
  /** Server: keys to sign with. */
  readonly hostKeys: readonly Signer[];
  readonly groupSizes?: { readonly min: number; readonly preferred: number; readonly max: number };
  /** Client: send a guessed first kex packet right after KEXINIT (RFC 4253 §7.1). */
  readonly guess: boolean;
}

/** Protections and compression chosen for one direction, ready for NEWKEYS. */
export interface DirectionState {
  readonly algorithms: DirectionAlgorithms;
  readonly protection: Protection;
  /** Bytes after which this direction should rekey (RFC 4344 / OpenSSH rule). */
  readonly byteLimit: number;
}

export interface KexResult {
  readonly algorithms: NegotiatedAlgorithms;
  readonly exchangeHash: Uint8Array;
  readonly hostKeyBlob: Uint8Array;
  /** The server's signature of the exchange hash (the blob it sent, or made). */
  readonly signature: Uint8Array;
  readonly outgoing: DirectionState;
  readonly incoming: DirectionState;
}

/** Our KEXINIT: the payload to send and the same message decoded (KeyExchange reads its lists). */
export interface OurKexInit {
  readonly payload: Uint8Array;
  readonly message: KexInitMessage;
}

export function buildKexInit(setup: KexSetup, initial: boolean, hostKeyAlgorithms: readonly string[]): Uint8Array {
  return makeKexInit(setup, initial, hostKeyAlgorithms).payload;
}

/**
 * Our KEXINIT with a fresh cookie, and its decoded form for KeyExchange (the
 * template's lists, decoded once). The caller keeps both for the exchange;
 * nothing here holds on to the payload afterwards.
 */
export function makeKexInit(setup: KexSetup, initial: boolean, hostKeyAlgorithms: readonly string[]): OurKexInit {
  // Everything but the cookie is the same for every connection of a server
  // (one lists object): encoded once, copied, and given a fresh cookie.
  let byLists = kexInitTemplates.get(setup.lists);
  if (!byLists) kexInitTemplates.set(setup.lists, (byLists = new Map()));
  const key = `${setup.role} ${initial} ${setup.guess} ${hostKeyAlgorithms.join(',')}`;
  let template = byLists.get(key);
  if (!template) {
    if (byLists.size >= 16) byLists.clear();
    const payload = encodeKexInit(setup, initial, hostKeyAlgorithms, new Uint8Array(16));
    // Frozen: every connection's KeyExchange reads these same lists.
    const message = KexInit.decode(payload);
    for (const v of Object.values(message)) if (Array.isArray(v)) Object.freeze(v);
    template = { payload, message };
    byLists.set(key, template);
  }
  const payload = template.payload.slice();
  const cookie = setup.random(16);
  payload.set(cookie, KEXINIT_COOKIE_OFFSET);
  return { payload, message: { ...template.message, cookie: payload.slice(KEXINIT_COOKIE_OFFSET, KEXINIT_COOKIE_OFFSET + 16) } };
}

/** The message number, then the 16-byte cookie (RFC 4253 §7.1). */
const KEXINIT_COOKIE_OFFSET = 1;

/**
 * Encoded KEXINITs with a zero cookie (and their decoded form), by lists
 * object, then role, round and host key algorithms. The library's lists are
 * frozen (defaultAlgorithmLists); a caller of the core building its own must
 * not change them once used.
 */
const kexInitTemplates = new WeakMap<AlgorithmLists, Map<string, { readonly payload: Uint8Array; readonly message: KexInitMessage }>>();

function encodeKexInit(setup: KexSetup, initial: boolean, hostKeyAlgorithms: readonly string[], cookie: Uint8Array): Uint8Array {
  const kex = [...setup.lists.kex];
  if (initial) {
    // The markers only count in the first exchange (RFC 8308 §2.1, OpenSSH PROTOCOL).
    if (setup.role === 'client') kex.push(EXT_INFO_C, STRICT_KEX_C);
    else kex.push(EXT_INFO_S, STRICT_KEX_S);
  }
  const { cipher, mac, compression } = setup.lists;
  return KexInit.encode({
    cookie,
    kexAlgorithms: kex,
    serverHostKeyAlgorithms: [...hostKeyAlgorithms],
    ciphersClientToServer: [...cipher],
    ciphersServerToClient: [...cipher],
    macsClientToServer: [...mac],
    macsServerToClient: [...mac],
    compressionClientToServer: [...compression],
    compressionServerToClient: [...compression],
    languagesClientToServer: [],
    languagesServerToClient: [],
    firstKexPacketFollows: setup.guess && setup.role === 'client',
    reserved: 0,
  });
}

/** Host key algorithms a server can offer: those in the preference list it has a key for. */
export function offerableHostKeyAlgorithms(setup: KexSetup): string[] {
  if (setup.role === 'client') return [...setup.lists.hostKey];
  return setup.lists.hostKey.filter((name) => {
    const alg = findHostKeyAlgorithm(name);
    return alg !== undefined && setup.hostKeys.some((k) => k.keyType === alg.keyType);
  });
}

export function blobKeyType(blob: Uint8Array): string {
  return new Reader(blob, 0, 'host key').text('key type', 256);
}

/** RFC 4344 §3.2 for 128-bit blocks; OpenSSH's 1 GiB for ciphers with 8-byte blocks (chacha20-poly1305). */
export function cipherByteLimit(blockSize: number): number {
  if (blockSize >= 16) return 2 ** (blockSize * 2) * blockSize;
  return 2 ** 30;
}

/**
 * The state of one exchange once both KEXINITs are known. Feed it the peer's
 * kex-method messages; it yields payloads to send and, at the end, a result.
 */
export class KeyExchange {
  readonly algorithms: NegotiatedAlgorithms;
  readonly strict: boolean;
  readonly peerWantsExtInfo: boolean;
  /** Set when the peer's guessed first packet is to be dropped. */
  ignoreNext: boolean;
  private readonly method: KexAlgorithm;
  private readonly exchange: KexExchange;
  private started = false;

  constructor(
    private readonly setup: KexSetup,
    private readonly ours: Uint8Array,
    private readonly theirs: Uint8Array,
    initial: boolean,
    private readonly sessionId: Uint8Array | null,
    guessed: GuessedExchange | null,
    /**
     * `ours` and `theirs` decoded, where the caller has them already (our
     * KEXINIT from makeKexInit; the peer's, decoded to validate it first).
     */
    decoded?: { readonly ours?: KexInitMessage; readonly theirs?: KexInitMessage },
  ) {
    const client = setup.role === 'client';
    const ourMsg = decoded?.ours ?? KexInit.decode(ours);
    const peerMsg = decoded?.theirs ?? KexInit.decode(theirs);
    const c: KexInitMessage = client ? ourMsg : peerMsg;
    const s: KexInitMessage = client ? peerMsg : ourMsg;
    const result = negotiate(c, s, (name) => findCipher(name)?.aead ?? false, setup.role);
    this.algorithms = result.algorithms;
    this.strict = initial && c.kexAlgorithms.includes(STRICT_KEX_C) && s.kexAlgorithms.includes(STRICT_KEX_S);
    this.peerWantsExtInfo = initial && (client ? s.kexAlgorithms.includes(EXT_INFO_S) : c.kexAlgorithms.includes(EXT_INFO_C));
    const right = guessWasRight(c, s);
    this.ignoreNext = peerMsg.firstKexPacketFollows && !right;
    const method = findKex(this.algorithms.kex);
    if (!method) throw new KeyExchangeError(`key exchange method ${this.algorithms.kex} is not implemented`);
    this.method = method;
    const ctx = {
      random: setup.random,
      clientVersion: setup.clientVersion,
      serverVersion: setup.serverVersion,
      clientKexInit: client ? ours : theirs,
      serverKexInit: client ? theirs : ours,
      ...(client ? {} : this.hostKeyContext()),
      ...(setup.groupSizes ? { groupSizes: setup.groupSizes } : {}),
    };
    // A guessed exchange is kept only when the guess was right.
    if (guessed && right) {
      guessed.setServerKexInit(theirs);
      this.exchange = guessed.exchange;
      this.started = true;
    } else {
      this.exchange = client ? method.createClient(ctx) : method.createServer(ctx);
    }
  }

  private hostKeyContext(): { hostKey: Signer; hostKeyAlgorithm: string } {
    const alg = findHostKeyAlgorithm(this.algorithms.hostKey);
    const key = alg && this.setup.hostKeys.find((k) => k.keyType === alg.keyType);
    if (!alg || !key) throw new KeyExchangeError(`no host key for ${this.algorithms.hostKey}`);
    return { hostKey: key, hostKeyAlgorithm: alg.name };
  }

  /** Messages to send once negotiation is done (client's first kex message). */
  start(): { send: readonly Uint8Array[]; result?: KexResult } {
    if (this.started) return { send: [] };
    this.started = true;
    return this.step(this.exchange.start());
  }

  handle(payload: Uint8Array): { send: readonly Uint8Array[]; result?: KexResult } {
    return this.step(this.exchange.handle(payload));
  }

  private step(s: { send: readonly Uint8Array[]; outcome?: KexOutcome }): { send: readonly Uint8Array[]; result?: KexResult } {
    if (!s.outcome) return { send: s.send };
    return { send: s.send, result: this.finish(s.outcome) };
  }

  private finish(outcome: KexOutcome): KexResult {
    const client = this.setup.role === 'client';
    if (client) {
      const alg = findHostKeyAlgorithm(this.algorithms.hostKey);
      if (!alg) throw new KeyExchangeError(`host key algorithm ${this.algorithms.hostKey} is not implemented`);
      let keyType: string;
      try {
        keyType = blobKeyType(outcome.hostKeyBlob);
      } catch {
        throw new KeyExchangeError('server host key blob is malformed');
      }
      if (keyType !== alg.keyType) {
        throw new KeyExchangeError(`server sent a ${keyType} host key for host key algorithm ${alg.name}`);
      }
      // refused before any signature work, and with the reason, not as a bad signature
      try {
        alg.checkKey(outcome.hostKeyBlob);
      } catch (e) {
        // a certificate that cannot be read is a host key the client refuses, saying why
        if (e instanceof CertificateError) {
          throw new HostKeyRejectedError(`server host certificate is not acceptable: ${e.message}`, fingerprintSha256(outcome.hostKeyBlob), { cause: e });
        }
        throw new KeyExchangeError(`server host key is not acceptable: ${e instanceof Error ? e.message : String(e)}`, undefined, { cause: e });
      }
      if (!alg.verify(outcome.hostKeyBlob, outcome.exchangeHash, outcome.signature)) {
        throw new KeyExchangeError(`server host key signature (${alg.name}) does not verify`);
      }
    }
    const sessionId = this.sessionId ?? outcome.exchangeHash;
    const c2s = this.directionSizes(this.algorithms.clientToServer);
    const s2c = this.directionSizes(this.algorithms.serverToClient);
    const keys = deriveSessionKeys((p) => this.method.digest(p), outcome.sharedSecret, outcome.exchangeHash, sessionId, c2s, s2c);
    const outKeys = client ? keys.clientToServer : keys.serverToClient;
    const inKeys = client ? keys.serverToClient : keys.clientToServer;
    const outAlgs = client ? this.algorithms.clientToServer : this.algorithms.serverToClient;
    const inAlgs = client ? this.algorithms.serverToClient : this.algorithms.clientToServer;
    return {
      algorithms: this.algorithms,
      exchangeHash: outcome.exchangeHash,
      hostKeyBlob: outcome.hostKeyBlob,
      signature: outcome.signature,
      outgoing: makeDirection(outAlgs, outKeys, 'encrypt'),
      incoming: makeDirection(inAlgs, inKeys, 'decrypt'),
    };
  }

  private directionSizes(d: DirectionAlgorithms): { ivLength: number; keyLength: number; macKeyLength: number } {
    const cipher = findCipher(d.cipher);
    if (!cipher) throw new KeyExchangeError(`cipher ${d.cipher} is not implemented`);
    const mac = d.mac === null ? undefined : findMac(d.mac);
    if (d.mac !== null && !mac) throw new KeyExchangeError(`MAC ${d.mac} is not implemented`);
    if (!findCompression(d.compression)) throw new KeyExchangeError(`compression ${d.compression} is not implemented`);
    return { ivLength: cipher.ivLength, keyLength: cipher.keyLength, macKeyLength: mac?.keyLength ?? 0 };
  }
}

function makeDirection(algorithms: DirectionAlgorithms, keys: DirectionKeys, direction: 'encrypt' | 'decrypt'): DirectionState {
  const cipherAlg = findCipher(algorithms.cipher)!;
  const cipher = cipherAlg.create(keys.key, keys.iv, direction);
  const byteLimit = cipherByteLimit(cipherAlg.blockSize);
  if (cipher.kind === 'aead') return { algorithms, protection: { kind: 'aead', cipher }, byteLimit };
  if (algorithms.mac === null) throw new ProtocolError(`cipher ${algorithms.cipher} needs a MAC`);
  const macAlg = findMac(algorithms.mac)!;
  return {
    algorithms,
    protection: { kind: 'mac', cipher, mac: macAlg.create(keys.macKey), etm: macAlg.etm },
    byteLimit,
  };
}

export interface GuessedExchange {
  readonly exchange: KexExchange;
  /** The first packet(s), sent right after our KEXINIT. */
  readonly send: readonly Uint8Array[];
  /** Completes the context once the server's KEXINIT arrives. */
  setServerKexInit(payload: Uint8Array): void;
}

/**
 * Starts the client's guessed exchange (our first kex method) before the
 * server's KEXINIT is known. Exchanges read the KEXINITs only when they hash,
 * so the server's is supplied later through a getter.
 */
export function startGuess(setup: KexSetup, ours: Uint8Array): GuessedExchange | null {
  if (!setup.guess || setup.role !== 'client') return null;
  const name = setup.lists.kex[0];
  const method = name === undefined ? undefined : findKex(name);
  if (!method) return null;
  let serverKexInit: Uint8Array | null = null;
  const ctx = {
    random: setup.random,
    clientVersion: setup.clientVersion,
    // The server's version line may not have arrived yet either.
    get serverVersion(): string {
      return setup.serverVersion;
    },
    clientKexInit: ours,
    get serverKexInit(): Uint8Array {
      if (!serverKexInit) throw new ProtocolError('key exchange reply arrived before the server KEXINIT');
      return serverKexInit;
    },
    ...(setup.groupSizes ? { groupSizes: setup.groupSizes } : {}),
  };
  const exchange = method.createClient(ctx);
  const first = exchange.start();
  return {
    exchange,
    send: first.send,
    setServerKexInit(payload) {
      serverKexInit = payload;
    },
  };
}
