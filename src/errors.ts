// Typed errors. Every failure caused by a peer, a file or a user is one of
// these, carrying the SSH disconnect reason that fits it. Imports nothing.

/** SSH_DISCONNECT_* reason codes (RFC 4253 §11.1). */
export const DisconnectReason = {
  HOST_NOT_ALLOWED_TO_CONNECT: 1,
  PROTOCOL_ERROR: 2,
  KEY_EXCHANGE_FAILED: 3,
  RESERVED: 4,
  MAC_ERROR: 5,
  COMPRESSION_ERROR: 6,
  SERVICE_NOT_AVAILABLE: 7,
  PROTOCOL_VERSION_NOT_SUPPORTED: 8,
  HOST_KEY_NOT_VERIFIABLE: 9,
  CONNECTION_LOST: 10,
  BY_APPLICATION: 11,
  TOO_MANY_CONNECTIONS: 12,
  AUTH_CANCELLED_BY_USER: 13,
  NO_MORE_AUTH_METHODS_AVAILABLE: 14,
  ILLEGAL_USER_NAME: 15,
} as const;
export type DisconnectReasonCode = (typeof DisconnectReason)[keyof typeof DisconnectReason];

export class NacreError extends Error {
  /** The disconnect reason to send when this error ends a connection. */
  readonly reason: DisconnectReasonCode;
  constructor(message: string, reason: DisconnectReasonCode, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.reason = reason;
  }
}

/** The peer broke the protocol: malformed packet, bad length, unexpected message. */
export class ProtocolError extends NacreError {
  constructor(message: string, reason: DisconnectReasonCode = DisconnectReason.PROTOCOL_ERROR, options?: { cause?: unknown }) {
    super(message, reason, options);
  }
}

/** A packet's MAC or AEAD tag did not verify. */
export class MacError extends ProtocolError {
  constructor(message = 'message authentication code is incorrect') {
    super(message, DisconnectReason.MAC_ERROR);
  }
}

/** Key exchange failed: no common algorithm, a bad public value, a bad host key signature. */
export class KeyExchangeError extends NacreError {
  constructor(message: string, reason: DisconnectReasonCode = DisconnectReason.KEY_EXCHANGE_FAILED, options?: { cause?: unknown }) {
    super(message, reason, options);
  }
}

/** The peer's version line is unusable. */
export class VersionError extends ProtocolError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, DisconnectReason.PROTOCOL_VERSION_NOT_SUPPORTED, options);
  }
}

/** The server's host key was rejected by the user's verifier or known_hosts. */
export class HostKeyRejectedError extends NacreError {
  readonly fingerprint: string;
  constructor(message: string, fingerprint: string, options?: { cause?: unknown }) {
    super(message, DisconnectReason.HOST_KEY_NOT_VERIFIABLE, options);
    this.fingerprint = fingerprint;
  }
}

/** The peer sent DISCONNECT, or the connection ended. */
export class DisconnectError extends NacreError {
  readonly description: string;
  readonly fromPeer: boolean;
  constructor(reason: DisconnectReasonCode, description: string, fromPeer: boolean) {
    // Every connection ends with one, and where the transport noticed the end
    // tells nobody anything: no stack is captured (it showed in profiles of a
    // stream of short connections).
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      // The peer's text, which whoever logs the message may print: its control
      // characters as \ooo (the raw text stays in `description`).
      super(`${fromPeer ? 'peer disconnected' : 'disconnected'} (reason ${reason}): ${description.replace(/[\x00-\x1f\x7f-\x9f]/g, (c) => '\\' + c.charCodeAt(0).toString(8).padStart(3, '0'))}`, reason);
    } finally {
      Error.stackTraceLimit = limit;
    }
    this.description = description;
    this.fromPeer = fromPeer;
  }
}

/** An AbortSignal the caller passed was aborted. */
export class AbortError extends NacreError {
  constructor() {
    super('the operation was aborted', DisconnectReason.BY_APPLICATION);
  }
}

/** A phase did not finish in time. */
export class TimeoutError extends NacreError {
  readonly phase: string;
  constructor(phase: string, ms: number) {
    super(`${phase} timed out after ${ms} ms`, DisconnectReason.BY_APPLICATION);
    this.phase = phase;
  }
}

/** User authentication failed: every method the client could try was refused. */
export class AuthenticationError extends NacreError {
  /** Methods the client tried, in order. */
  readonly tried: readonly string[];
  /** Methods the server said can continue. */
  readonly allowed: readonly string[];
  constructor(
    message: string,
    tried: readonly string[],
    allowed: readonly string[],
    reason: DisconnectReasonCode = DisconnectReason.NO_MORE_AUTH_METHODS_AVAILABLE,
    options?: { cause?: unknown },
  ) {
    super(`${message} (tried: ${tried.join(', ') || 'nothing'}; server allows: ${allowed.join(', ') || 'nothing'})`, reason, options);
    this.tried = tried;
    this.allowed = allowed;
  }
}

/**
 * An ssh_config file, a `-o` option or a forwarding spec is unusable. `file`
 * and `line` name where (both absent for a flag's value or a spec given
 * alone; `file` is `'command-line'` for `-o` lines), as ssh's
 * "file line N: Bad configuration option" does.
 */
export class ConfigError extends NacreError {
  readonly file: string | undefined;
  readonly line: number | undefined;
  constructor(message: string, where?: { file?: string; line?: number }, options?: { cause?: unknown }) {
    super(where?.file !== undefined ? `${where.file}${where.line !== undefined ? ` line ${where.line}` : ''}: ${message}` : message, DisconnectReason.BY_APPLICATION, options);
    this.file = where?.file;
    this.line = where?.line;
  }
}
