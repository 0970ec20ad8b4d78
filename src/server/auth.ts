// Turns the core's `auth-request` events into calls of the application's
// `authenticate(ctx)`, and its answers back into `answerAuth`. The one subtle
// part is keyboard-interactive: `ctx.prompt()` answers the pending request with
// prompts, and the client's next request (carrying the responses) resolves the
// prompt's promise and becomes the request that the final verdict answers.
import { DisconnectReason, NacreError } from '../errors.js';
import type { AuthAnswer, AuthServerEvent, AuthServerMethod } from '../core/auth/events.js';
import { blobKeyType, fingerprintSha256 } from '../keys/index.js';
import { combineRestrictions, type Restrictions } from './restrictions.js';

export type AuthMethodName = 'none' | 'password' | 'publickey' | 'keyboard-interactive';

export interface PublicKeyInfo {
  /** Signature algorithm the client named, e.g. `rsa-sha2-512`. */
  readonly algorithm: string;
  /** SSH public key blob: compare it with the blobs of authorized keys. */
  readonly blob: Uint8Array;
  /** Key type inside the blob, e.g. `ssh-ed25519`. */
  readonly keyType: string;
  /** `SHA256:...`, as OpenSSH prints it. */
  readonly fingerprint: string;
  /** In the `authenticated` event, for a security key (`sk-`): the verified signature's authenticator flags and counter. */
  readonly securityKey?: { readonly flags: number; readonly counter: number };
}

export interface Prompt {
  readonly prompt: string;
  /** Whether the client shows what is typed; default false. */
  readonly echo?: boolean;
}

export interface AuthContext {
  readonly username: string;
  readonly method: AuthMethodName;
  /** password method. */
  readonly password?: string;
  /** password method: the new password, when the client is changing an expired one. */
  readonly newPassword?: string;
  /** publickey method. */
  readonly publicKey?: PublicKeyInfo;
  /**
   * publickey method: true when the client sent a signature, false when it
   * only asks whether the key would do. Decide on the key alone: Nacre checks
   * the signature only after you accept the key, and a bad one turns your
   * `true` (or `{ partial }`) into a failure. So the login has not happened
   * yet here; act on it in the server's `'authenticated'` event.
   */
  readonly signed?: boolean;
  /** @deprecated Same value as `signed`; it no longer means the signature was already checked. */
  readonly verified?: boolean;
  /** keyboard-interactive: the client's submethods hint (usually empty). */
  readonly submethods?: string;
  /** Methods that already got partial success on this connection. */
  readonly passed: readonly AuthServerMethod[];
  readonly remoteAddress: string | undefined;
  readonly remotePort: number | undefined;
  /** Where the connection arrived (for per-address policy such as sshd's Match LocalAddress / LocalPort). */
  readonly localAddress?: string | undefined;
  readonly localPort?: number | undefined;
  /**
   * keyboard-interactive only: shows the prompts to the client and resolves
   * with its answers (rejects if the client gives up on this method).
   */
  prompt(prompts: readonly (Prompt | string)[], options?: { readonly name?: string; readonly instruction?: string }): Promise<string[]>;
}

/**
 * `true` accepts, `false` rejects, `{ partial }` accepts but requires one of
 * the listed methods next (multi-factor), `{ changePassword }` (password
 * method only) tells the client its password expired, `{ restrictions }`
 * accepts and limits what the login may do (see `authorizePublicKey`): the
 * connection's `restrictions`, consulted by sessions and forwarding.
 */
export type AuthResult =
  | boolean
  | { readonly partial: readonly AuthServerMethod[]; readonly restrictions?: Restrictions }
  | { readonly changePassword: string }
  | { readonly restrictions: Restrictions };

export type Authenticate = (ctx: AuthContext) => AuthResult | Promise<AuthResult>;

type AuthRequestEvent = Extract<AuthServerEvent, { type: 'auth-request' }>;

/** What the application is told about a user key. */
export function publicKeyInfo(algorithm: string, blob: Uint8Array, securityKey?: PublicKeyInfo['securityKey']): PublicKeyInfo {
  let keyType = 'unknown';
  try {
    keyType = blobKeyType(blob);
  } catch {
    // a malformed blob never matches an authorized key anyway
  }
  return { algorithm, blob, keyType, fingerprint: fingerprintSha256(blob), ...(securityKey ? { securityKey } : {}) };
}

/** The client left keyboard-interactive before answering the prompts. */
export class PromptCancelledError extends NacreError {
  constructor() {
    super('the client abandoned keyboard-interactive authentication', DisconnectReason.BY_APPLICATION);
  }
}

/** The request a running `authenticate` call will answer; k-i rounds move it. */
interface Target {
  id: number;
  stale: boolean;
}

interface PendingPrompt {
  readonly target: Target;
  readonly resolve: (answers: string[]) => void;
  readonly reject: (e: Error) => void;
}

export interface AuthAdapterHost {
  answer(id: number, answer: AuthAnswer): void;
  readonly remoteAddress: string | undefined;
  readonly remotePort: number | undefined;
  readonly localAddress?: string | undefined;
  readonly localPort?: number | undefined;
  /** A throwing `authenticate` counts as a rejection; the error is reported here. */
  reportError(e: unknown): void;
}

export class AuthAdapter {
  // Requests are judged one at a time so answers go out in the order asked.
  private chain: Promise<void> = Promise.resolve();
  private pending: PendingPrompt | null = null;
  private readonly passed: AuthServerMethod[] = [];
  /**
   * The restrictions of the latest request answered with success: the one
   * the core's success event is about (no request is judged after it), or
   * null for none. Set before the answer goes to the core, which may report
   * success at once.
   */
  restrictions: Restrictions | null = null;
  /** Restrictions of the methods that got partial success: they hold for the whole login, as sshd merges them. */
  private partialRestrictions: Restrictions | null = null;

  constructor(
    private readonly host: AuthAdapterHost,
    private readonly authenticate: Authenticate | undefined,
  ) {}

  handle(req: AuthRequestEvent): void {
    if (req.method === 'keyboard-interactive' && req.responses !== undefined) {
      const p = this.pending;
      this.pending = null;
      if (!p) {
        // Responses to prompts we never sent: the core should not let this through.
        this.host.answer(req.id, { result: 'failure' });
        return;
      }
      p.target.id = req.id;
      p.resolve([...req.responses]);
      return;
    }
    this.cancelPrompt();
    this.chain = this.chain.then(() => this.judge(req));
  }

  /** The connection ended: let a waiting `prompt()` reject. */
  close(): void {
    this.cancelPrompt();
  }

  private cancelPrompt(): void {
    const p = this.pending;
    this.pending = null;
    if (!p) return;
    p.target.stale = true;
    p.reject(new PromptCancelledError());
  }

  private async judge(req: AuthRequestEvent): Promise<void> {
    const target: Target = { id: req.id, stale: false };
    let result: AuthResult = false;
    if (this.authenticate) {
      try {
        result = await this.authenticate(this.context(req, target));
      } catch (e) {
        if (!(e instanceof PromptCancelledError)) this.host.reportError(e);
        result = false;
      }
    }
    if (target.stale) return; // the request it would answer was already answered with prompts
    let answer = this.toAnswer(req, result);
    const given = typeof result === 'object' && result !== null && 'restrictions' in result && result.restrictions ? result.restrictions : null;
    // what this request adds to those of earlier partial successes
    const merged = mergeRestrictions(this.partialRestrictions, given);
    if (typeof merged === 'string') {
      this.host.reportError(new Error(`login refused: ${merged}`));
      answer = { result: 'failure' };
    }
    const restrictions = typeof merged === 'string' ? null : merged;
    this.restrictions = answer.result === 'success' ? restrictions : null;
    // a key query's yes is no partial success yet: the signed request will say again
    if (answer.result === 'partial' && !(req.method === 'publickey' && !req.signed)) this.partialRestrictions = restrictions;
    // authorized_keys `no-touch-required` / `verify-required` (and a certificate's)
    // decide how a security key's signature flags are judged by the core.
    if (restrictions && req.method === 'publickey' && (answer.result === 'success' || answer.result === 'partial')) {
      answer = { ...answer, securityKey: { noTouchRequired: restrictions.noTouchRequired, verifyRequired: restrictions.verifyRequired } };
    }
    this.host.answer(target.id, answer);
  }

  private toAnswer(req: AuthRequestEvent, result: AuthResult): AuthAnswer {
    if (result === true) return { result: 'success' };
    if (result === false || typeof result !== 'object' || result === null) return { result: 'failure' };
    // A key query is answered yes or no; the partial verdict waits for the signed request.
    if (req.method === 'publickey' && !req.signed) return { result: 'success' };
    if ('partial' in result && Array.isArray(result.partial)) {
      if (req.method !== 'none' && !this.passed.includes(req.method)) this.passed.push(req.method);
      return { result: 'partial', methods: [...result.partial] };
    }
    if ('changePassword' in result && req.method === 'password' && typeof result.changePassword === 'string') {
      return { result: 'change-password', prompt: result.changePassword };
    }
    if ('restrictions' in result && typeof result.restrictions === 'object' && result.restrictions !== null) return { result: 'success' };
    return { result: 'failure' };
  }

  private context(req: AuthRequestEvent, target: Target): AuthContext {
    const base = {
      username: req.username,
      method: req.method,
      passed: [...this.passed],
      remoteAddress: this.host.remoteAddress,
      remotePort: this.host.remotePort,
      localAddress: this.host.localAddress,
      localPort: this.host.localPort,
      prompt: (prompts: readonly (Prompt | string)[], options: { readonly name?: string; readonly instruction?: string } = {}) =>
        this.prompt(req, target, prompts, options),
    };
    switch (req.method) {
      case 'password':
        return { ...base, password: req.password, ...(req.newPassword !== undefined ? { newPassword: req.newPassword } : {}) };
      case 'publickey':
        return { ...base, publicKey: this.keyInfo(req.algorithm, req.publicKey), signed: req.signed, verified: req.signed };
      case 'keyboard-interactive':
        return { ...base, submethods: req.submethods };
      default:
        return base;
    }
  }

  /**
   * The PublicKeyInfo of `blob` under `algorithm`, the previous one when it
   * is the same key (a client's query and its signed request, then the
   * 'authenticated' event name one key: one fingerprint hash, not three).
   */
  keyInfo(algorithm: string, blob: Uint8Array, securityKey?: PublicKeyInfo['securityKey']): PublicKeyInfo {
    const last = this.lastKey;
    if (last && last.algorithm === algorithm && sameBytes(last.blob, blob)) return securityKey ? { ...last, securityKey } : last;
    const info = publicKeyInfo(algorithm, blob);
    this.lastKey = info;
    return securityKey ? { ...info, securityKey } : info;
  }

  private lastKey: PublicKeyInfo | null = null;

  /** The login succeeded: no request follows, so the last key need not be kept for the connection's life. */
  loggedIn(): void {
    this.lastKey = null;
  }

  private prompt(
    req: AuthRequestEvent,
    target: Target,
    prompts: readonly (Prompt | string)[],
    options: { readonly name?: string; readonly instruction?: string },
  ): Promise<string[]> {
    if (req.method !== 'keyboard-interactive') return Promise.reject(new Error(`prompt() needs keyboard-interactive, not ${req.method}`));
    if (target.stale) return Promise.reject(new PromptCancelledError());
    if (this.pending) return Promise.reject(new Error('prompt() called again before the previous one was answered'));
    const list = prompts.map((p) => (typeof p === 'string' ? { prompt: p, echo: false } : { prompt: p.prompt, echo: p.echo ?? false }));
    return new Promise<string[]>((resolve, reject) => {
      this.pending = { target, resolve, reject };
      this.host.answer(target.id, {
        result: 'prompt',
        prompts: list,
        ...(options.name !== undefined ? { name: options.name } : {}),
        ...(options.instruction !== undefined ? { instruction: options.instruction } : {}),
      });
    });
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Restrictions of an earlier partial success and of this answer, both holding; a string when they cannot (two forced commands). */
function mergeRestrictions(earlier: Restrictions | null, now: Restrictions | null): Restrictions | null | string {
  if (earlier === null) return now;
  if (now === null) return earlier;
  return combineRestrictions(earlier, now);
}
