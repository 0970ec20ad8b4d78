// The server side of user authentication (RFC 4252, RFC 4256, OpenSSH's
// publickey-hostbound). A sans-I/O machine: the Endpoint feeds it messages
// 50..79, the application's answers and the time; it asks the application
// about each attempt and sends the replies.
//
// Requests are handled one at a time in arrival order (clients pipeline):
// a request waits while the application is deciding on the one before it or
// while that one's failure reply is being held back.
//
// A signed publickey request is put to the application before its signature
// is checked, and the signature is checked only if the application accepts the
// key (as sshd: authorized_keys first). So a client cannot make the server do
// signature work for keys nobody authorised, and the application cannot let in
// a key whose signature fails: the core holds the signature and turns an
// acceptance into a failure when it does not verify.
//
// Errors: malformed or unexpected client messages make `handle()` throw a
// ProtocolError; limits (attempts, grace time) end the connection through
// `io.fail`. Answers that do not fit the request throw RangeError to the
// application, which is a programming error, not a peer's.
import { DisconnectReason, ProtocolError, TimeoutError } from '../../errors.js';
import { findUserKeyAlgorithm, secureUserKeyAlgorithms } from '../../algorithms/hostkey.js';
import type { HostKeyAlgorithm } from '../../algorithms/types.js';
import { parsePublicKey, type ParsedPublicKey } from '../../keys/blob.js';
import { parseCertificate, plainSignatureAlgorithm } from '../../keys/certificate.js';
import { isSecurityKeyType, verifySecurityKeySignature } from '../../keys/security-key.js';
import { verifyParsedSignature } from '../../keys/signature.js';
import type { LayerIo } from '../layer.js';
import type { AuthAnswer, AuthRequest, AuthServerEvent, AuthServerMethod, AuthServerOptions, AuthenticatedKey } from './events.js';
import { MSG_USERAUTH, UserauthBanner, UserauthFailure, UserauthPasswdChangereq, UserauthPkOk, UserauthSuccess } from '../../messages/userauth.js';
import { constantTimeEqual } from '../../wire/bytes.js';
import { MAX_PROMPTS, SSH_CONNECTION, decodeInfoResponse, encodeInfoRequest, signedData } from './codec.js';
import { parseRequest, type ParsedRequest, type RequestBody } from './server-request.js';

/** User signature algorithms accepted by default: everything but SHA-1 `ssh-rsa`, security keys included. */
export const DEFAULT_ACCEPTED_ALGORITHMS: readonly string[] = Object.freeze(secureUserKeyAlgorithms());

const acceptedSets = new WeakMap<readonly string[], ReadonlySet<string>>();

/**
 * The set of `list`, one for every connection given the same list (a server
 * passes one options object to all of them): a Set of its own per connection
 * was ~0.4 KiB of what an idle connection keeps. Lists are read when first
 * used, so a list changed afterwards is not seen; options are replaced, not edited.
 */
function acceptedSet(list: readonly string[]): ReadonlySet<string> {
  let set = acceptedSets.get(list);
  if (!set) acceptedSets.set(list, (set = new Set(list)));
  return set;
}

/** AuthServerOptions plus the server's signature policy. */
export interface AuthServerConfig extends AuthServerOptions {
  /**
   * Signature algorithms a user key may sign with (OpenSSH
   * PubkeyAcceptedAlgorithms); default DEFAULT_ACCEPTED_ALGORITHMS. The
   * Endpoint should announce the same list as `server-sig-algs`.
   */
  readonly acceptedAlgorithms?: readonly string[];
}

const DEFAULT_METHODS: readonly AuthServerMethod[] = ['publickey', 'password', 'keyboard-interactive'];
/** sshd gives up after 1024 requests of any outcome; accepted key queries and prompt rounds are not otherwise limited. */
const MAX_REQUESTS = 1024;
/** Pipelined requests held while the application decides; real clients send a handful. */
const MAX_QUEUED = 64;

type Work =
  | { readonly kind: 'request'; readonly arrivedAt: number; readonly request: ParsedRequest }
  | { readonly kind: 'info-response'; readonly arrivedAt: number; readonly submethods: string; readonly responses: string[] };

/** What a verified signature showed beyond "valid": a security key's flags and counter. */
interface Proof {
  readonly securityKey?: { readonly flags: number; readonly counter: number };
}

/** What the application is being asked about. */
interface Pending {
  readonly id: number;
  readonly arrivedAt: number;
  /** Method name reported in events and used to validate the answer. */
  readonly method: AuthRequest['method'];
  readonly query: boolean;
  readonly submethods: string;
  readonly publicKey?: AuthenticatedKey;
  /** A signed publickey request: checked only once the application accepts the key. */
  readonly signature?: { readonly blob: Uint8Array; readonly head: Uint8Array };
}

export class AuthServer {
  private readonly methods: readonly AuthServerMethod[];
  private readonly maxAttempts: number;
  private readonly graceDeadline: number | null;
  private readonly graceTimeMs: number;
  private readonly failureDelayMs: number;
  private readonly banner: string | undefined;
  private readonly accepted: ReadonlySet<string>;

  /** Methods that can continue: the configured ones, or the last partial success's list. */
  private allowed: readonly string[];
  private partialSeen = false;
  private user: string | null = null;
  private service: string | null = null;
  private bannerSent = false;
  private requests = 0;
  private processed = 0;
  private failures = 0;
  private nextId = 1;
  private readonly queue: Work[] = [];
  private pending: Pending | null = null;
  /** A failure reply (or the disconnect that replaces it) held until `at`. */
  private heldReply: { readonly at: number; readonly disconnect: boolean } | null = null;
  /** Set between an INFO_REQUEST and its INFO_RESPONSE. */
  private promptContext: { readonly submethods: string; readonly count: number } | null = null;
  private success = false;
  private closed = false;
  /** The user key parsed last: a client's query and its signed request name the same key, imported once. */
  private readonly lastKey: ParsedKeyMemo = { blob: null, key: null };

  constructor(
    private readonly io: LayerIo<AuthServerEvent>,
    options: AuthServerConfig,
    startTime: number,
  ) {
    this.methods = options.methods ?? DEFAULT_METHODS;
    this.allowed = this.methods;
    this.maxAttempts = options.maxAttempts ?? 6;
    this.graceTimeMs = options.graceTimeMs ?? 120_000;
    this.graceDeadline = this.graceTimeMs > 0 ? startTime + this.graceTimeMs : null;
    this.failureDelayMs = options.failureDelayMs ?? 100;
    this.banner = options.banner;
    this.accepted = acceptedSet(options.acceptedAlgorithms ?? DEFAULT_ACCEPTED_ALGORITHMS);
  }

  get authenticated(): boolean {
    return this.success;
  }

  /** The user name of the first request; a client may not change it. */
  get username(): string | null {
    return this.user;
  }

  /** Feeds one userauth message (numbers 50..79). Throws ProtocolError on malformed or unexpected input. */
  handle(payload: Uint8Array): void {
    if (this.closed) return;
    try {
      this.dispatch(payload);
    } catch (e) {
      // the Endpoint ends the connection on a thrown error; nothing more is accepted meanwhile
      this.closed = true;
      throw e;
    }
  }

  private dispatch(payload: Uint8Array): void {
    if (payload.length === 0) throw new ProtocolError('empty userauth message');
    const type = payload[0]!;
    if (type !== MSG_USERAUTH.REQUEST && type !== MSG_USERAUTH.INFO_RESPONSE) {
      throw new ProtocolError(`unexpected userauth message ${type} on the server`);
    }
    // RFC 4252 §5.1: requests after success SHOULD be ignored
    if (this.success) return;
    const now = this.io.now();
    // a late timer must not let a request in after the grace time, nor keep a due reply waiting
    if (this.checkGrace(now)) return;
    this.releaseHeld(now);
    if (type === MSG_USERAUTH.INFO_RESPONSE) {
      const ctx = this.promptContext;
      if (!ctx || this.busy || this.queue.length > 0) throw new ProtocolError('USERAUTH_INFO_RESPONSE without a pending USERAUTH_INFO_REQUEST');
      const responses = decodeInfoResponse(payload, ctx.count);
      this.promptContext = null;
      this.enqueue({ kind: 'info-response', arrivedAt: now, submethods: ctx.submethods, responses });
      return;
    }
    // Parsed from a copy: a request may wait in the queue and its key and
    // signature wait for the application's answer, so what is verified must be
    // exactly what was asked about, whatever the caller later does with its buffer.
    const request = parseRequest(payload.slice());
    if (this.user === null) {
      this.user = request.username;
      this.service = request.service;
    } else if (request.username !== this.user || request.service !== this.service) {
      // as sshd: partial successes and attempt counts belong to one user, so a switch is refused outright
      throw new ProtocolError(`change of user or service not allowed: (${this.user}, ${this.service}) -> (${request.username}, ${request.service})`);
    }
    this.enqueue({ kind: 'request', arrivedAt: now, request });
  }

  /** The application's verdict on `auth-request` `id`. Unknown or stale ids are ignored. */
  answerAuth(id: number, answer: AuthAnswer): void {
    const p = this.pending;
    if (this.closed || this.success || !p || p.id !== id) return;
    checkAnswer(p, answer);
    this.pending = null;
    const now = this.io.now();
    const proof = this.proven(p, answer);
    const verdict = proof ? answer : ({ result: 'failure' } as const);
    switch (verdict.result) {
      case 'success':
        if (p.query) this.sendPkOk(p);
        else this.succeed(p, proof || {});
        break;
      case 'partial':
        // for a query "acceptable as one of several factors" still means PK_OK
        if (p.query) this.sendPkOk(p);
        else {
          this.allowed = [...verdict.methods];
          this.partialSeen = true;
          this.io.send(UserauthFailure.encode({ methods: [...this.allowed], partialSuccess: true }));
        }
        break;
      case 'failure':
        this.fail(p.arrivedAt, p.method, now);
        break;
      case 'change-password':
        this.io.send(UserauthPasswdChangereq.encode({ prompt: verdict.prompt, language: '' }));
        break;
      case 'prompt':
        this.promptContext = { submethods: p.submethods, count: verdict.prompts.length };
        this.io.send(encodeInfoRequest({ name: verdict.name ?? '', instruction: verdict.instruction ?? '', prompts: verdict.prompts }));
        break;
    }
    this.pump();
  }

  /**
   * False when the application accepts (success or partial) a signed request
   * whose signature does not verify. The check runs here, after the
   * application's yes, so a refused key never costs a verification; its
   * failure is held for the same delay as any other, so an unknown key and a
   * bad signature look alike.
   */
  private proven(p: Pending, answer: AuthAnswer): Proof | false {
    const sig = p.signature;
    if (!sig || (answer.result !== 'success' && answer.result !== 'partial')) return {};
    const key = p.publicKey!;
    const signer = signingKey(key.algorithm, key.blob, this.lastKey);
    if (!signer) return false;
    const data = signedData(this.io.sessionId(), sig.head);
    if (isSecurityKeyType(signer.algorithm.keyType)) {
      // the application's answer carries the key's policy on touch and user verification
      const verdict = verifySecurityKeySignature(signer.blob, data, sig.blob, answer.securityKey ?? {});
      return verdict.valid ? { securityKey: { flags: verdict.flags, counter: verdict.counter } } : false;
    }
    // A plain key's algorithm verifies as verifySignature does, here with the key parsed when the request came in.
    if (signer.key) return verifyParsedSignature(signer.key, signer.algorithm.name, data, sig.blob) ? {} : false;
    return signer.algorithm.verify(signer.blob, data, sig.blob) ? {} : false;
  }

  /** The next time `handleTimeout` must run: the grace time or a held failure reply. */
  nextDeadline(): number | null {
    if (this.closed || this.success) return null;
    const times: number[] = [];
    if (this.graceDeadline !== null) times.push(this.graceDeadline);
    if (this.heldReply) times.push(this.heldReply.at);
    return times.length > 0 ? Math.min(...times) : null;
  }

  handleTimeout(now: number): void {
    if (this.closed || this.success) return;
    if (this.checkGrace(now)) return;
    this.releaseHeld(now);
  }

  // ------------------------------------------------------------ scheduling

  private get busy(): boolean {
    return this.pending !== null || this.heldReply !== null;
  }

  private enqueue(work: Work): void {
    if (++this.requests > MAX_REQUESTS) {
      throw new ProtocolError('too many authentication requests', DisconnectReason.NO_MORE_AUTH_METHODS_AVAILABLE);
    }
    if (this.queue.length >= MAX_QUEUED) throw new ProtocolError('too many pipelined authentication requests');
    if (!this.bannerSent) {
      this.bannerSent = true;
      if (this.banner !== undefined) this.io.send(UserauthBanner.encode({ message: this.banner, language: '' }));
    }
    this.queue.push(work);
    this.pump();
  }

  /** Starts queued work while nothing is outstanding. The application may answer from inside `emit`, re-entering here. */
  private pump(): void {
    while (!this.closed && !this.success && !this.busy) {
      const work = this.queue.shift();
      if (!work) return;
      this.processed++;
      // The failure delay counts from when work starts, not from when it
      // arrived: a burst of queued requests would otherwise have waited their
      // delay in the queue, and the gaps between replies would show how long
      // the application took (e.g. hashing for a known user only).
      const startedAt = Math.max(work.arrivedAt, this.io.now());
      if (work.kind === 'info-response') {
        this.ask(
          { id: this.nextId++, arrivedAt: startedAt, method: 'keyboard-interactive', query: false, submethods: work.submethods },
          { method: 'keyboard-interactive', submethods: work.submethods, responses: work.responses },
        );
      } else {
        this.process(startedAt, work.request.body);
      }
    }
  }

  private process(arrivedAt: number, body: RequestBody): void {
    // a new request abandons an unfinished keyboard-interactive exchange (RFC 4252 §5)
    this.promptContext = null;
    const now = this.io.now();
    const family = body.method === 'other' ? body.name : body.method;
    if (this.service !== SSH_CONNECTION) return this.fail(arrivedAt, family, now);
    if (body.method === 'none') {
      if (this.partialSeen) return this.fail(arrivedAt, 'none', now);
      return this.ask({ id: this.nextId++, arrivedAt, method: 'none', query: false, submethods: '' }, { method: 'none' });
    }
    if (body.method === 'other' || !this.allowed.includes(body.method)) return this.fail(arrivedAt, family, now);
    if (body.method === 'password') {
      const req: AuthRequest =
        body.newPassword !== undefined
          ? { method: 'password', password: body.password, newPassword: body.newPassword }
          : { method: 'password', password: body.password };
      return this.ask({ id: this.nextId++, arrivedAt, method: 'password', query: false, submethods: '' }, req);
    }
    if (body.method === 'keyboard-interactive') {
      return this.ask(
        { id: this.nextId++, arrivedAt, method: 'keyboard-interactive', query: false, submethods: body.submethods },
        { method: 'keyboard-interactive', submethods: body.submethods },
      );
    }
    if (!this.keyAcceptable(body)) return this.fail(arrivedAt, 'publickey', now);
    // the signature, if any, waits for the application's answer (see `proven`)
    const sig = body.signature;
    const signed = sig !== undefined;
    return this.ask(
      {
        id: this.nextId++,
        arrivedAt,
        method: 'publickey',
        query: !signed,
        submethods: '',
        publicKey: { algorithm: body.algorithm, blob: body.publicKey },
        ...(sig ? { signature: sig } : {}),
      },
      { method: 'publickey', algorithm: body.algorithm, publicKey: body.publicKey, signed, verified: signed, hostbound: body.hostbound },
    );
  }

  /** Policy checks that need no signature: algorithm allowed, key parses and matches it, host key bound correctly. */
  private keyAcceptable(body: Extract<RequestBody, { method: 'publickey' }>): boolean {
    const signer = signingKey(body.algorithm, body.publicKey, this.lastKey);
    // a certificate algorithm is accepted with the plain algorithm it signs with
    if (!signer || !this.accepted.has(signer.algorithm.name)) return false;
    if (body.hostbound) {
      if (!body.hostKey || !constantTimeEqual(body.hostKey, this.io.serverHostKey())) return false;
    }
    return true;
  }

  private ask(p: Pending, req: AuthRequest): void {
    this.pending = p;
    this.io.emit({ type: 'auth-request', id: p.id, username: this.user ?? '', ...req });
  }

  // ------------------------------------------------------------ replies

  private sendPkOk(p: Pending): void {
    const key = p.publicKey!;
    this.io.send(UserauthPkOk.encode({ algorithm: key.algorithm, publicKey: key.blob }));
  }

  private succeed(p: Pending, proof: Proof): void {
    this.success = true;
    this.queue.length = 0;
    this.promptContext = null;
    // The connection lives on for hours; the key's import is needed no more.
    this.lastKey.blob = null;
    this.lastKey.key = null;
    this.io.send(UserauthSuccess.encode({}));
    this.io.setAuthenticated();
    const key = p.signature && p.publicKey ? { publicKey: { ...p.publicKey, ...proof } } : {};
    this.io.emit({ type: 'auth-success', username: this.user ?? '', method: p.method, ...key });
  }

  /**
   * A refused attempt. Like sshd, the opening `none` probe is neither counted
   * nor delayed (every client sends it, and it reveals nothing); every other
   * failure is counted and held until `failureDelayMs` after its request
   * arrived, so refusing an unknown user takes as long as a known one.
   */
  private fail(arrivedAt: number, method: string, now: number): void {
    const isNone = method === 'none';
    if (!(isNone && this.processed === 1)) this.failures++;
    const at = isNone ? now : arrivedAt + this.failureDelayMs;
    this.heldReply = { at, disconnect: this.failures >= this.maxAttempts };
    this.releaseHeld(now);
  }

  private releaseHeld(now: number): void {
    const held = this.heldReply;
    if (!held || now < held.at) return;
    this.heldReply = null;
    if (held.disconnect) {
      this.closed = true;
      this.io.fail(new ProtocolError('too many authentication failures', DisconnectReason.NO_MORE_AUTH_METHODS_AVAILABLE));
      return;
    }
    this.io.send(UserauthFailure.encode({ methods: [...this.allowed], partialSuccess: false }));
    this.pump();
  }

  private checkGrace(now: number): boolean {
    if (this.graceDeadline === null || now < this.graceDeadline) return false;
    this.closed = true;
    this.io.fail(new TimeoutError('login grace time', this.graceTimeMs));
    return true;
  }
}

/** Which answers fit which request; anything else is the application's mistake. */
function checkAnswer(p: Pending, answer: AuthAnswer): void {
  const r = answer.result;
  let ok = r === 'success' || r === 'failure' || r === 'partial';
  if (r === 'change-password') ok = p.method === 'password';
  if (r === 'prompt') {
    ok = p.method === 'keyboard-interactive';
    if (ok && answer.prompts.length > MAX_PROMPTS) throw new RangeError(`at most ${MAX_PROMPTS} prompts per round`);
  }
  if (!ok) throw new RangeError(`answer "${r}" does not fit a ${p.method}${p.query ? ' query' : ''} request`);
}

/**
 * The algorithm and key that verify a user's signature: the named algorithm
 * and the blob itself for a plain key; for a `*-cert-v01@openssh.com`
 * algorithm, the certificate's own key and the plain algorithm behind the
 * name (the certificate is what the application judges, the certified key is
 * what signs). Null when the blob does not parse as that key or certificate
 * type; the certificate's CA signature and validity are the application's to
 * check (see `authorizePublicKey`).
 */
function signingKey(algorithmName: string, blob: Uint8Array, memo: ParsedKeyMemo): { algorithm: HostKeyAlgorithm; blob: Uint8Array; key: ParsedPublicKey | null } | null {
  const plain = algorithmName.includes('-cert-v01@') ? plainSignatureAlgorithm(algorithmName) : algorithmName;
  const algorithm = plain === null ? undefined : findUserKeyAlgorithm(plain);
  if (!algorithm) return null;
  try {
    if (plain === algorithmName) return { algorithm, blob, key: checkUserKey(algorithm, blob, memo) };
    const cert = parseCertificate(blob);
    if (cert.keyType !== algorithm.keyType || plainSignatureAlgorithm(cert.certType) === null) return null;
    // rsa-sha2-512-cert-v01 and ssh-rsa-cert-v01 both name an ssh-rsa-cert-v01 blob
    if (cert.certType !== algorithmName && !(cert.certType === 'ssh-rsa-cert-v01@openssh.com' && algorithmName.startsWith('rsa-sha2-'))) return null;
    return { algorithm, blob: cert.publicKey, key: checkUserKey(algorithm, cert.publicKey, memo) };
  } catch {
    return null;
  }
}

/** The user key a connection parsed last (a copy of its blob) and its import. */
interface ParsedKeyMemo {
  blob: Uint8Array | null;
  key: ParsedPublicKey | null;
}

/**
 * Refuses a key of another type than `algorithm`'s; parsing also checks that
 * an EC point is on its curve. Returns the parsed key (null for a security
 * key, which verifies its own way). The same blob as the memo's is not parsed
 * again: the memo's import passed these same checks.
 */
function checkUserKey(algorithm: HostKeyAlgorithm, blob: Uint8Array, memo: ParsedKeyMemo): ParsedPublicKey | null {
  if (isSecurityKeyType(algorithm.keyType)) {
    algorithm.checkKey(blob);
    return null;
  }
  const m = memo.key;
  if (m !== null && memo.blob !== null && sameBytes(memo.blob, blob)) {
    if (m.type !== algorithm.keyType) throw new ProtocolError(`a ${m.type} key cannot sign with ${algorithm.name}`);
    return m;
  }
  algorithm.checkKey(blob);
  const key = parsePublicKey(blob);
  memo.blob = blob.slice();
  memo.key = key;
  return key;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
