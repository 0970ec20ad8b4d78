// Events and answers of the user-authentication layer (RFC 4252, 4256).

// ---------------------------------------------------------------- client side

/** A credential the client may try, in the client's preference order. */
export type ClientCredential =
  | { readonly method: 'none' }
  /**
   * Without `password`, an `auth-password` event asks for it when the method
   * is tried (as ssh prompts), again after each failure up to `attempts`
   * times in all (default 1; ssh's NumberOfPasswordPrompts).
   */
  | { readonly method: 'password'; readonly password?: string; readonly attempts?: number }
  /** Keys whose private halves sign through `auth-sign` events (agent or in-memory). */
  | { readonly method: 'publickey'; readonly keys: readonly { readonly publicBlob: Uint8Array; readonly keyType: string }[] }
  /**
   * Prompts arrive as `auth-prompt` events. Tried again after a failure up
   * to `attempts` times in all (default 1; ssh's NumberOfPasswordPrompts),
   * unless a prompt was answered with null.
   */
  | { readonly method: 'keyboard-interactive'; readonly submethods?: string; readonly attempts?: number };

export interface AuthClientOptions {
  readonly username: string;
  /** Service to authenticate for; default `ssh-connection`. */
  readonly service?: string;
  readonly credentials: readonly ClientCredential[];
}

export type AuthClientEvent =
  | { readonly type: 'auth-banner'; readonly message: string }
  /** Sign `data` with the key `publicKey` using `algorithm`; answer with `answerSign(id, signatureBlob | null)`. */
  | { readonly type: 'auth-sign'; readonly id: number; readonly publicKey: Uint8Array; readonly algorithm: string; readonly data: Uint8Array }
  /** keyboard-interactive prompts; answer with `answerPrompt(id, responses | null)`. */
  | {
      readonly type: 'auth-prompt';
      readonly id: number;
      readonly name: string;
      readonly instruction: string;
      readonly prompts: readonly { readonly prompt: string; readonly echo: boolean }[];
    }
  /** The password method is next and its credential has none; answer with `answerPassword(id, password | null)`. */
  | { readonly type: 'auth-password'; readonly id: number; readonly attempt: number }
  /** The server asks for a new password; answer with `answerPasswordChange(id, newPassword | null)`. */
  | { readonly type: 'auth-password-change'; readonly id: number; readonly prompt: string }
  /** A request is being sent for `method` (a public key offered names the key), for progress reporting. */
  | { readonly type: 'auth-attempt'; readonly method: string; readonly publicKey?: Uint8Array; readonly algorithm?: string }
  /** One method's outcome, for progress reporting. */
  | { readonly type: 'auth-progress'; readonly method: string; readonly result: 'failure' | 'partial'; readonly allowed: readonly string[] }
  | { readonly type: 'auth-success'; readonly method: string };

// ---------------------------------------------------------------- server side

export type AuthServerMethod = 'publickey' | 'password' | 'keyboard-interactive';

export interface AuthServerOptions {
  /** Methods offered in USERAUTH_FAILURE, in order. Default: publickey, password, keyboard-interactive. */
  readonly methods?: readonly AuthServerMethod[];
  /** Failed attempts before disconnecting (OpenSSH MaxAuthTries); default 6. */
  readonly maxAttempts?: number;
  /** Time allowed to authenticate (LoginGraceTime); default 120 000 ms; 0 disables. */
  readonly graceTimeMs?: number;
  /**
   * Every failure reply is held until at least this long after its request
   * arrived, so known and unknown users answer alike; default 100 ms.
   */
  readonly failureDelayMs?: number;
  /** Sent as USERAUTH_BANNER before the first reply. */
  readonly banner?: string;
}

/** One authentication attempt for the application to judge; answer with `answerAuth(id, ...)`. */
export type AuthRequest =
  | { readonly method: 'none' }
  | { readonly method: 'password'; readonly password: string; readonly newPassword?: string }
  /**
   * `signed: false` is a query ("would you accept this key?", no signature);
   * `signed: true` carries a signature over the session, which Nacre checks
   * only after the application accepts the key: a `success` or `partial`
   * answer becomes a failure if it does not verify. So answer on the key alone,
   * and act on a login at `auth-success`, not here.
   */
  | {
      readonly method: 'publickey';
      readonly algorithm: string;
      readonly publicKey: Uint8Array;
      readonly signed: boolean;
      /**
       * @deprecated Same value as `signed`. It used to mean the signature was
       * already checked; it is now checked after the answer (see above).
       */
      readonly verified: boolean;
      readonly hostbound: boolean;
    }
  /** First round: `responses` is undefined; later rounds carry the answers to the last prompts. */
  | { readonly method: 'keyboard-interactive'; readonly submethods: string; readonly responses?: readonly string[] };

/** A user key and the signature algorithm it signed with. */
export interface AuthenticatedKey {
  readonly algorithm: string;
  readonly blob: Uint8Array;
  /** For a security key (`sk-`): the authenticator flags and signature counter of the verified signature. */
  readonly securityKey?: { readonly flags: number; readonly counter: number };
}

/**
 * How a security-key (`sk-`) signature is judged, per key (the authorized_keys
 * options of the same names). By default the token must report a touch.
 */
export interface SecurityKeyAnswerPolicy {
  /** Accept a signature made without a touch (`no-touch-required`). */
  readonly noTouchRequired?: boolean;
  /** Require that the token verified the user, by PIN or biometric (`verify-required`). */
  readonly verifyRequired?: boolean;
}

export type AuthServerEvent =
  | ({ readonly type: 'auth-request'; readonly id: number; readonly username: string } & AuthRequest)
  /** `publicKey`: for a publickey login, the key whose signature Nacre verified. */
  | { readonly type: 'auth-success'; readonly username: string; readonly method: string; readonly publicKey?: AuthenticatedKey };

/** The application's answer to an `auth-request`. */
export type AuthAnswer =
  /** `securityKey`: for an sk- user key, how its signature's flags are judged. */
  | { readonly result: 'success'; readonly securityKey?: SecurityKeyAnswerPolicy }
  /** Accepted, but more methods are required (RFC 4252 partial success); `methods` lists what may continue. */
  | { readonly result: 'partial'; readonly methods: readonly AuthServerMethod[]; readonly securityKey?: SecurityKeyAnswerPolicy }
  | { readonly result: 'failure' }
  /** password: the password expired; ask for a new one (USERAUTH_PASSWD_CHANGEREQ). */
  | { readonly result: 'change-password'; readonly prompt: string }
  /** keyboard-interactive: send these prompts (USERAUTH_INFO_REQUEST). */
  | {
      readonly result: 'prompt';
      readonly name?: string;
      readonly instruction?: string;
      readonly prompts: readonly { readonly prompt: string; readonly echo: boolean }[];
    };
