// The client side of user authentication (RFC 4252, RFC 4256, RFC 8332 §3.1,
// OpenSSH's publickey-hostbound). A sans-I/O machine: the Endpoint feeds it
// messages 50..79 and the application's answers; it sends requests through
// LayerIo and reports through events.
//
// Like OpenSSH's ssh, it first sends `none` to learn which methods the server
// allows, then walks the credentials in the caller's order, trying only
// methods the server currently lists, each credential and each key once.
//
// Errors: malformed or unexpected server messages make `handle()` throw a
// ProtocolError (the Endpoint turns it into a DISCONNECT); running out of
// things to try goes through `io.fail(AuthenticationError)`.
import { AuthenticationError, ProtocolError } from '../../errors.js';
import type { LayerIo } from '../layer.js';
import type { AuthClientEvent, AuthClientOptions, ClientCredential } from './events.js';
import {
  MSG_USERAUTH,
  UserauthBanner,
  UserauthFailure,
  UserauthKeyboardInteractive,
  UserauthNone,
  UserauthPasswdChangereq,
  UserauthPassword,
  UserauthPasswordChange,
  UserauthPkOk,
  UserauthSuccess,
} from '../../messages/userauth.js';
import { constantTimeEqual, toHex } from '../../wire/bytes.js';
import {
  HOSTBOUND_EXTENSION,
  SERVER_SIG_ALGS,
  SSH_CONNECTION,
  decodeInfoRequest,
  encodeInfoResponse,
  extensionText,
  publickeyRequestHead,
  signedData,
  type PublickeyFields,
  withSignature,
} from './codec.js';

type Key = { readonly publicBlob: Uint8Array; readonly keyType: string };
const RSA_CERT = 'ssh-rsa-cert-v01@openssh.com';

/** What the machine is waiting for. "Sent" states wait for the server, the others for the application. */
type Waiting =
  | { readonly kind: 'idle' }
  | { readonly kind: 'none-sent' }
  | { readonly kind: 'pk-query-sent'; readonly fields: PublickeyFields }
  | { readonly kind: 'pk-sign'; readonly id: number; readonly head: Uint8Array }
  | { readonly kind: 'pk-signed-sent' }
  | { readonly kind: 'password-ask'; readonly id: number; readonly state: CredentialState }
  | { readonly kind: 'password-sent'; readonly password: string }
  | { readonly kind: 'password-change'; readonly id: number; readonly password: string }
  | { readonly kind: 'kbd-sent' }
  | { readonly kind: 'kbd-prompt'; readonly id: number; readonly count: number };

interface CredentialState {
  readonly credential: ClientCredential;
  used: boolean;
  nextKey: number;
  /** Passwords asked for, or keyboard-interactive rounds begun, so far (either may be tried again). */
  asked: number;
}

export class AuthClient {
  private readonly username: string;
  private readonly service: string;
  private readonly credentials: CredentialState[];
  private waiting: Waiting = { kind: 'idle' };
  /** The server's latest list of methods that can continue. */
  private allowed: string[] = [];
  /** Methods that already earned a partial success: never offered again. */
  private readonly partialDone = new Set<string>();
  /** The keyboard-interactive credential being tried, so that giving up on its prompts ends its retries. */
  private kbdState: CredentialState | null = null;
  /** Public key blobs (hex) already offered, across all publickey credentials. */
  private readonly offeredKeys = new Set<string>();
  private readonly triedMethods: string[] = [];
  /** The method of the request in flight, for progress events. */
  private currentMethod = 'none';
  private nextId = 1;
  private started = false;
  private succeeded = false;
  private failed = false;

  constructor(
    private readonly io: LayerIo<AuthClientEvent>,
    options: AuthClientOptions,
  ) {
    this.username = options.username;
    this.service = options.service ?? SSH_CONNECTION;
    this.credentials = options.credentials.map((credential) => ({ credential, used: false, nextKey: 0, asked: 0 }));
  }

  /** True once authentication succeeded or was given up. */
  get done(): boolean {
    return this.succeeded || this.failed;
  }

  /** Methods tried with a credential, in first-try order (the initial `none` probe counts only when `none` is a credential). */
  get tried(): readonly string[] {
    return this.triedMethods;
  }

  /** Methods the server last said can continue. */
  get allowedMethods(): readonly string[] {
    return this.allowed;
  }

  /** Called once the server accepted the ssh-userauth service. */
  start(): void {
    if (this.started || this.done) return;
    this.started = true;
    if (this.credentials.some((c) => c.credential.method === 'none')) this.noteTried('none');
    this.currentMethod = 'none';
    this.waiting = { kind: 'none-sent' };
    this.io.send(UserauthNone.encode({ username: this.username, service: this.service, method: 'none' }));
  }

  /** Feeds one userauth message (numbers 50..79). Throws ProtocolError on malformed or unexpected input. */
  handle(payload: Uint8Array): void {
    if (this.failed) return;
    try {
      this.dispatch(payload);
    } catch (e) {
      // the Endpoint ends the connection on a thrown error; nothing more is accepted meanwhile
      this.failed = true;
      throw e;
    }
  }

  private dispatch(payload: Uint8Array): void {
    if (payload.length === 0) throw new ProtocolError('empty userauth message');
    const type = payload[0]!;
    if (type === MSG_USERAUTH.BANNER) {
      const banner = UserauthBanner.decode(payload);
      // RFC 4252 §5.4 allows banners only before success; a late one is harmless, so it is dropped
      if (!this.succeeded) this.io.emit({ type: 'auth-banner', message: banner.message });
      return;
    }
    if (this.succeeded) throw new ProtocolError(`userauth message ${type} after authentication succeeded`);
    switch (type) {
      case MSG_USERAUTH.SUCCESS:
        UserauthSuccess.decode(payload);
        this.expectInFlight('USERAUTH_SUCCESS');
        return this.onSuccess();
      case MSG_USERAUTH.FAILURE: {
        const msg = UserauthFailure.decode(payload);
        this.expectInFlight('USERAUTH_FAILURE');
        return this.onFailure(msg.methods, msg.partialSuccess);
      }
      case MSG_USERAUTH.PK_OK: // also PASSWD_CHANGEREQ and INFO_REQUEST: the method in progress says which
        return this.onSixty(payload);
      default:
        throw new ProtocolError(`unexpected userauth message ${type} on the client`);
    }
  }

  /** Answers an `auth-sign` event; `null` skips that key. Stale ids are ignored. */
  answerSign(id: number, signature: Uint8Array | null): void {
    const w = this.waiting;
    if (this.done || w.kind !== 'pk-sign' || w.id !== id) return;
    if (signature === null) return this.next();
    this.waiting = { kind: 'pk-signed-sent' };
    this.io.send(withSignature(w.head, signature));
  }

  /**
   * Answers an `auth-prompt` event. `null` abandons keyboard-interactive:
   * rather than a short INFO_RESPONSE (sshd disconnects on a wrong reply
   * count), the next method's request is sent, which RFC 4252 §5 says makes
   * the server drop the unfinished attempt.
   */
  answerPrompt(id: number, responses: readonly string[] | null): void {
    const w = this.waiting;
    if (this.done || w.kind !== 'kbd-prompt' || w.id !== id) return;
    if (responses === null) {
      // Given up: no more rounds of it, whatever `attempts` allowed.
      if (this.kbdState) this.kbdState.used = true;
      return this.next();
    }
    if (responses.length !== w.count) throw new RangeError(`${w.count} prompts need ${w.count} responses, got ${responses.length}`);
    this.waiting = { kind: 'kbd-sent' };
    this.io.send(encodeInfoResponse(responses));
  }

  /** Answers an `auth-password` event; `null` gives the method up. Stale ids are ignored. */
  answerPassword(id: number, password: string | null): void {
    const w = this.waiting;
    if (this.done || w.kind !== 'password-ask' || w.id !== id) return;
    if (password === null) {
      w.state.used = true; // giving up ends the retries too
      return this.next();
    }
    this.sendPassword(password);
  }

  private sendPassword(password: string): void {
    this.waiting = { kind: 'password-sent', password };
    this.io.send(
      UserauthPassword.encode({
        username: this.username,
        service: this.service,
        method: 'password',
        change: false,
        password,
      }),
    );
  }

  /** Answers an `auth-password-change` event; `null` gives up on password. */
  answerPasswordChange(id: number, newPassword: string | null): void {
    const w = this.waiting;
    if (this.done || w.kind !== 'password-change' || w.id !== id) return;
    if (newPassword === null) return this.next();
    this.waiting = { kind: 'password-sent', password: w.password };
    this.io.send(
      UserauthPasswordChange.encode({
        username: this.username,
        service: this.service,
        method: 'password',
        change: true,
        oldPassword: w.password,
        newPassword,
      }),
    );
  }

  // ------------------------------------------------------------ server replies

  private expectInFlight(what: string): void {
    if (!this.waiting.kind.endsWith('-sent')) throw new ProtocolError(`${what} while no authentication request is outstanding`);
  }

  private onSuccess(): void {
    this.succeeded = true;
    this.waiting = { kind: 'idle' };
    this.io.setAuthenticated();
    this.io.emit({ type: 'auth-success', method: this.currentMethod });
  }

  private onFailure(methods: string[], partial: boolean): void {
    this.allowed = methods;
    if (partial) this.partialDone.add(this.currentMethod);
    this.waiting = { kind: 'idle' };
    this.io.emit({ type: 'auth-progress', method: this.currentMethod, result: partial ? 'partial' : 'failure', allowed: methods });
    if (!this.done) this.next();
  }

  /** Message 60 means PK_OK, PASSWD_CHANGEREQ or INFO_REQUEST depending on what we sent. */
  private onSixty(payload: Uint8Array): void {
    const w = this.waiting;
    if (w.kind === 'pk-query-sent') {
      const ok = UserauthPkOk.decode(payload);
      if (ok.algorithm !== w.fields.algorithm || !constantTimeEqual(ok.publicKey, w.fields.publicKey)) {
        throw new ProtocolError('USERAUTH_PK_OK names a key or algorithm that was not offered');
      }
      // the signed request repeats the query's fields (host key included) exactly
      const head = publickeyRequestHead(w.fields, true);
      const id = this.nextId++;
      this.waiting = { kind: 'pk-sign', id, head };
      this.io.emit({
        type: 'auth-sign',
        id,
        publicKey: w.fields.publicKey,
        algorithm: w.fields.algorithm,
        data: signedData(this.io.sessionId(), head),
      });
      return;
    }
    if (w.kind === 'password-sent') {
      const req = UserauthPasswdChangereq.decode(payload);
      const id = this.nextId++;
      this.waiting = { kind: 'password-change', id, password: w.password };
      this.io.emit({ type: 'auth-password-change', id, prompt: req.prompt });
      return;
    }
    if (w.kind === 'kbd-sent') {
      const req = decodeInfoRequest(payload);
      if (req.prompts.length === 0) {
        // servers use empty rounds to show text or to finish; OpenSSH answers without asking
        this.io.send(encodeInfoResponse([]));
        return;
      }
      const id = this.nextId++;
      this.waiting = { kind: 'kbd-prompt', id, count: req.prompts.length };
      this.io.emit({ type: 'auth-prompt', id, name: req.name, instruction: req.instruction, prompts: req.prompts });
      return;
    }
    throw new ProtocolError('userauth message 60 while no request that it could answer is outstanding');
  }

  // ------------------------------------------------------------ choosing what to try

  private noteTried(method: string): void {
    if (!this.triedMethods.includes(method)) this.triedMethods.push(method);
  }

  /** Sends the next request in preference order, or gives up. */
  private next(): void {
    this.waiting = { kind: 'idle' };
    for (const state of this.credentials) {
      const cred = state.credential;
      if (cred.method === 'none') continue; // the opening probe was its only try
      if (!this.allowed.includes(cred.method) || this.partialDone.has(cred.method)) continue;
      if (cred.method === 'publickey') {
        if (this.tryNextKey(state, cred.keys)) return;
        continue;
      }
      if (state.used) continue;
      // An asked password and keyboard-interactive are tried again after a
      // failure, up to `attempts` times (ssh's NumberOfPasswordPrompts).
      const asking = (cred.method === 'password' && cred.password === undefined) || cred.method === 'keyboard-interactive';
      state.asked += asking ? 1 : 0;
      state.used = !asking || state.asked >= Math.max(1, cred.method === 'password' || cred.method === 'keyboard-interactive' ? (cred.attempts ?? 1) : 1);
      this.kbdState = cred.method === 'keyboard-interactive' ? state : null;
      this.begin(cred.method);
      if (cred.method === 'password') {
        if (cred.password !== undefined) this.sendPassword(cred.password);
        else {
          const id = this.nextId++;
          this.waiting = { kind: 'password-ask', id, state };
          this.io.emit({ type: 'auth-password', id, attempt: state.asked });
        }
      } else {
        this.waiting = { kind: 'kbd-sent' };
        this.io.send(
          UserauthKeyboardInteractive.encode({
            username: this.username,
            service: this.service,
            method: 'keyboard-interactive',
            language: '',
            submethods: cred.submethods ?? '',
          }),
        );
      }
      return;
    }
    this.failed = true;
    this.io.fail(new AuthenticationError('authentication failed', [...this.triedMethods], [...this.allowed]));
  }

  private begin(method: string, publicKey?: Uint8Array, algorithm?: string): void {
    this.currentMethod = method;
    this.noteTried(method);
    this.io.emit(publicKey ? { type: 'auth-attempt', method, publicKey, algorithm: algorithm! } : { type: 'auth-attempt', method });
  }

  private tryNextKey(state: CredentialState, keys: readonly Key[]): boolean {
    while (state.nextKey < keys.length) {
      const key = keys[state.nextKey++]!;
      const hex = toHex(key.publicBlob);
      if (this.offeredKeys.has(hex)) continue;
      const algorithm = this.signatureAlgorithm(key.keyType);
      if (!algorithm) continue;
      this.offeredKeys.add(hex);
      this.begin('publickey', key.publicBlob, algorithm);
      const fields = this.pkFields(key, algorithm);
      this.waiting = { kind: 'pk-query-sent', fields };
      this.io.send(publickeyRequestHead(fields, false));
      return true;
    }
    return false;
  }

  /** The host-bound variant is used when the server announced version "0" of it in EXT_INFO. */
  private pkFields(key: Key, algorithm: string): PublickeyFields {
    const hostbound = extensionText(this.io.peerExtensions(), HOSTBOUND_EXTENSION) === '0';
    return {
      username: this.username,
      service: this.service,
      algorithm,
      publicKey: key.publicBlob,
      ...(hostbound ? { hostKey: this.io.serverHostKey() } : {}),
    };
  }

  /**
   * RSA keys sign with the first of rsa-sha2-512 and rsa-sha2-256 the server
   * lists in server-sig-algs (RFC 8332 §3.1). Without that extension OpenSSH
   * falls back to SHA-1 `ssh-rsa`, which Nacre does not offer; rsa-sha2-512
   * is tried instead and the server may refuse it. A server that lists
   * server-sig-algs without either SHA-2 name cannot take the key, so it is
   * skipped.
   */
  private signatureAlgorithm(keyType: string): string | null {
    // An RSA certificate picks the same way and uses the `-cert-v01` form of
    // the name (OpenSSH lists only plain names in server-sig-algs).
    const certificate = keyType === RSA_CERT;
    if (keyType !== 'ssh-rsa' && !certificate) return keyType;
    const list = extensionText(this.io.peerExtensions(), SERVER_SIG_ALGS);
    const names = list?.split(',');
    const plain = names === undefined ? 'rsa-sha2-512' : ['rsa-sha2-512', 'rsa-sha2-256'].find((n) => names.includes(n));
    if (plain === undefined) return null;
    return certificate ? `${plain}-cert-v01@openssh.com` : plain;
  }
}
