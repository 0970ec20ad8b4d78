// What the client answers when user authentication asks something of it:
// signatures (from local keys or from signers that answer later, such as an
// agent), keyboard-interactive responses and a new password. Each answer that
// cannot be given becomes "skip": the core then tries the next key or method.
import { AuthenticationError } from '../errors.js';
import type { AuthClientEvent, ClientCredential } from '../core/auth/events.js';
import { fingerprintSha256 } from '../keys/blob.js';
import type { AuthSigner } from '../keys/signer.js';
import { Reader } from '../wire/reader.js';
import type { ConnectOptions } from './options.js';

type EventOf<T extends AuthClientEvent['type']> = Extract<AuthClientEvent, { type: T }>;

/** A signer that threw, rejected or answered with something other than bytes. */
interface SignerFailure {
  readonly fingerprint: string;
  readonly error: unknown;
}

/**
 * The largest signature blob sent. The USERAUTH_REQUEST carrying it must fit
 * the 35000-byte packet every peer accepts (RFC 4253 §6.1) together with the
 * public key and the names; the largest signature in use (RSA 16384) is
 * about 2 KiB.
 */
const MAX_SIGNATURE_BLOB = 32 * 1024;

/** Why `blob` cannot be what sign() must return (`string algorithm || string signature`, and for sk- keys `byte flags || uint32 counter`), or null when it can. */
function signatureBlobProblem(blob: Uint8Array): string | null {
  if (blob.length > MAX_SIGNATURE_BLOB) return `${blob.length} bytes, more than a signature blob may have (${MAX_SIGNATURE_BLOB})`;
  try {
    const r = new Reader(blob, 0, 'signature');
    const algorithm = r.text('algorithm', 256);
    if (algorithm.length === 0) return `${blob.length} bytes whose algorithm name is empty`;
    r.string('signature');
    if (r.remaining === 0) return null;
    // A security key's signature goes on with its flags byte and counter (PROTOCOL.u2f).
    if (algorithm.startsWith('sk-') && r.remaining === 5) return null;
  } catch {
    // not the SSH encoding: said below
  }
  return `${blob.length} bytes that are not an SSH signature blob (string algorithm, string signature); raw signature bytes need that wrapping`;
}

/** Why `answer` is not one string for each of `count` prompts, or null when it is. */
function responsesProblem(answer: unknown, count: number): string | null {
  if (!Array.isArray(answer)) return `answered ${typeof answer}, not an array of ${count} strings`;
  if (answer.length !== count) return `answered ${answer.length} responses to ${count} prompts`;
  const odd = answer.findIndex((r) => typeof r !== 'string');
  return odd < 0 ? null : `answered ${typeof answer[odd]} as response ${odd + 1}, not a string`;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
}

export class AuthAnswers {
  private readonly signerFailures: SignerFailure[] = [];
  /** Why the first unusable keyboard-interactive or new-password answer was not sent. */
  private promptFailure: TypeError | null = null;

  constructor(
    private readonly options: ConnectOptions,
    private readonly signers: readonly AuthSigner[],
  ) {}

  /** The credentials to try, in order: keys, keyboard-interactive, password, or as `authMethods` orders them. */
  credentials(): ClientCredential[] {
    const attempts = this.options.passwordAttempts;
    if (attempts !== undefined && (!Number.isInteger(attempts) || attempts < 1 || attempts > 100)) throw new RangeError(`passwordAttempts must be an integer from 1 to 100, not ${attempts}`);
    const list: ClientCredential[] = [];
    if (this.signers.length > 0) list.push({ method: 'publickey', keys: this.signers.map((s) => ({ publicBlob: s.publicBlob, keyType: s.keyType })) });
    if (this.options.keyboardInteractive) list.push({ method: 'keyboard-interactive', ...(attempts !== undefined ? { attempts } : {}) });
    else if (this.options.password !== undefined) list.push({ method: 'keyboard-interactive' });
    if (this.options.password !== undefined) list.push({ method: 'password', password: this.options.password });
    else if (this.options.askPassword) list.push({ method: 'password', attempts: attempts ?? 3 });
    const order = this.options.authMethods;
    if (order === undefined) return list;
    for (const m of order) if (!['publickey', 'keyboard-interactive', 'password'].includes(m)) throw new RangeError(`authMethods: unknown method ${JSON.stringify(m)}`);
    return [...new Set(order)].flatMap((m) => list.filter((c) => c.method === m));
  }

  /**
   * The signature for an `auth-sign` event, awaited when the signer answers
   * with a promise. A signer that throws, rejects or returns no signature
   * blob (or one too long to send) costs only its key: null is answered and
   * the next credential is tried; the failure is kept for `explain()`.
   */
  async sign(e: EventOf<'auth-sign'>): Promise<Uint8Array | null> {
    const signer = this.signers.find((s) => sameBytes(s.publicBlob, e.publicKey));
    if (!signer) return null;
    try {
      const signature = await signer.sign(e.algorithm, e.data);
      if (!(signature instanceof Uint8Array)) throw new TypeError(`sign() returned ${signature === null ? 'null' : typeof signature}, not a Uint8Array`);
      // Checked here, where the signer can be named: a blob too long for a
      // packet would end the connection, a malformed one fail silently.
      const problem = signatureBlobProblem(signature);
      if (problem) throw new TypeError(`sign() returned ${problem}`);
      return signature;
    } catch (error) {
      this.signerFailures.push({ fingerprint: fingerprintSha256(signer.publicBlob), error });
      return null;
    }
  }

  /**
   * Responses to keyboard-interactive prompts, or null to give that method
   * up. The callback's answer must be one string per prompt; anything else
   * (a bare string, too few answers, undefined) gives the method up and is
   * kept for `explain()`, rather than being sent as it happens to encode.
   */
  async prompt(e: EventOf<'auth-prompt'>): Promise<readonly string[] | null> {
    const { keyboardInteractive, password } = this.options;
    try {
      if (keyboardInteractive) {
        const answer: unknown = await keyboardInteractive(e);
        if (answer === null) return null; // giving up, as changePassword may
        const problem = responsesProblem(answer, e.prompts.length);
        if (problem === null) return answer as readonly string[];
        this.promptFailure ??= new TypeError(`keyboardInteractive ${problem}`);
        return null;
      }
      // A single hidden prompt is the password question servers ask this way.
      if (password !== undefined && e.prompts.length === 1 && !e.prompts[0]!.echo) return [password];
      if (e.prompts.length === 0) return [];
    } catch {
      // A throwing callback gives the method up, like answering null.
    }
    return null;
  }

  /** The password asked of `askPassword` when the method is tried, or null to skip it. */
  async password(request: { username: string; host: string; port: number; attempt: number }): Promise<string | null> {
    try {
      const answer: unknown = await this.options.askPassword?.(request);
      if (answer === null || answer === undefined) return null;
      if (typeof answer === 'string') return answer;
      this.promptFailure ??= new TypeError(`askPassword answered ${typeof answer}, not a string or null`);
    } catch {
      // a throwing callback skips the method
    }
    return null;
  }

  /** The new password when the server says the old one expired, or null to give up. */
  async newPassword(e: EventOf<'auth-password-change'>): Promise<string | null> {
    let answer: unknown;
    try {
      answer = this.options.changePassword ? await this.options.changePassword(e.prompt) : null;
    } catch {
      return null;
    }
    if (answer === null || typeof answer === 'string') return answer;
    // Sent as it happened to encode, a number made a malformed packet.
    this.promptFailure ??= new TypeError(`changePassword answered ${typeof answer}, not a string or null`);
    return null;
  }

  /**
   * `err`, or for an AuthenticationError after a signer failed, the same
   * error also saying which key's signer failed, with that failure as its
   * cause (the original error, if it had a cause, is lost from the chain).
   */
  explain(err: Error): Error {
    const first = this.signerFailures[0];
    if (!(err instanceof AuthenticationError) || (!first && !this.promptFailure)) return err;
    // AuthenticationError appends "(tried: ...; server allows: ...)" itself.
    const suffix = err.message.lastIndexOf(' (tried: ');
    let message = suffix >= 0 ? err.message.slice(0, suffix) : err.message;
    if (first) {
      const why = first.error instanceof Error ? first.error.message : String(first.error);
      const more = this.signerFailures.length > 1 ? ` (and ${this.signerFailures.length - 1} more)` : '';
      message += `; the signer of ${first.fingerprint} failed: ${why}${more}`;
    }
    if (this.promptFailure) message += `; ${this.promptFailure.message}`;
    return new AuthenticationError(message, err.tried, err.allowed, err.reason, { cause: first ? first.error : this.promptFailure });
  }
}
