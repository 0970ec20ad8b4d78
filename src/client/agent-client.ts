// The public client of an SSH agent (ssh-agent, or anything speaking its
// protocol): list keys, sign, add and remove keys, lock, extensions. Each
// key it holds can be used as an AuthSigner for `connect()`.
import type { KeyObject } from 'node:crypto';
import type { Duplex } from 'node:stream';
import {
  AgentError,
  AgentExtension,
  AgentLock,
  AgentRemoveAllIdentities,
  AgentRemoveIdentity,
  AgentRequestIdentities,
  AgentSignRequest,
  AgentUnlock,
  SESSION_BIND_EXTENSION,
  SessionBind,
  encodeAddIdentity,
  expectSuccess,
  extensionReply,
  identitiesFromReply,
  signFlagsFor,
  signatureFromReply,
  type KeyConstraint,
  type SessionBindValue,
} from '../agent/index.js';
import { agentKeyFields } from '../keys/agent-key.js';
import { blobKeyType, fingerprintSha256 } from '../keys/blob.js';
import type { AuthSigner } from '../keys/signer.js';
import { toCertificate, type CertificateInput } from '../keys/host-certificate.js';
import { expandHome } from '../io/node/files.js';
import { AgentSocket, type AgentSocketOptions } from '../io/node/agent-socket.js';

/** A key the agent holds. */
export interface AgentKey {
  /** The public key (or certificate) blob. */
  readonly publicBlob: Uint8Array;
  /** Its type: `ssh-ed25519`, `ssh-rsa-cert-v01@openssh.com` ... */
  readonly keyType: string;
  readonly comment: string;
  /** `SHA256:...` of the blob. */
  readonly fingerprint: string;
}

export interface AgentAddOptions {
  readonly comment?: string;
  /** Add the key as this user certificate's (the certificate of that key: a blob, a `-cert.pub` line or parsed). */
  readonly certificate?: CertificateInput;
  /** Ask before each use (ssh-add -c). */
  readonly confirm?: boolean;
  /** Seconds the agent keeps the key (ssh-add -t). */
  readonly lifetime?: number;
  /** Further constraints (destination restrictions ...), after confirm and lifetime. */
  readonly constraints?: readonly KeyConstraint[];
}

export interface AgentClientOptions extends AgentSocketOptions {}

/** The agent socket `$SSH_AUTH_SOCK` names, or `path` (`~` expanded); AgentError `unavailable` when there is none. */
export function agentSocketPath(path?: string | true): string {
  const chosen = typeof path === 'string' ? path : process.env.SSH_AUTH_SOCK;
  if (!chosen) throw new AgentError('no agent: SSH_AUTH_SOCK is not set', 'unavailable');
  return expandHome(chosen);
}

export class AgentClient implements AsyncDisposable {
  private constructor(private readonly socket: AgentSocket) {}

  /** Connects to the agent at `path` (default `$SSH_AUTH_SOCK`). */
  static async connect(path?: string, options: AgentClientOptions = {}): Promise<AgentClient> {
    return new AgentClient(await AgentSocket.connect(agentSocketPath(path), options));
  }

  /** An agent reached over an already-open stream (a forwarded agent channel, a test double). */
  static over(stream: Duplex, options: AgentClientOptions = {}): AgentClient {
    return new AgentClient(AgentSocket.over(stream, options));
  }

  /** The keys and certificates the agent holds, in its order. */
  async list(): Promise<AgentKey[]> {
    const keys = identitiesFromReply(await this.socket.call(AgentRequestIdentities.encode({})));
    return keys.map(({ key, comment }) => {
      let keyType: string;
      try {
        keyType = blobKeyType(key);
      } catch (err) {
        throw new AgentError(`the agent listed a malformed key blob`, 'protocol', { cause: err });
      }
      return { publicBlob: key, keyType, comment, fingerprint: fingerprintSha256(key) };
    });
  }

  /**
   * Signs `data` with the agent's key `publicBlob` using `algorithm`
   * (default: the key's own type; `rsa-sha2-256`/`-512` and their
   * certificate forms set the RSA SHA-2 flags); the signature blob.
   */
  async sign(publicBlob: Uint8Array, data: Uint8Array, algorithm?: string): Promise<Uint8Array> {
    const alg = algorithm ?? blobKeyType(publicBlob);
    const reply = await this.socket.call(AgentSignRequest.encode({ key: publicBlob, data, flags: signFlagsFor(alg) }));
    return signatureFromReply(reply, alg);
  }

  /** An AuthSigner whose signatures the agent makes with `key`. */
  signer(key: Pick<AgentKey, 'publicBlob' | 'keyType'>): AuthSigner {
    return Object.freeze({
      keyType: key.keyType,
      publicBlob: key.publicBlob,
      sign: (algorithm: string, data: Uint8Array) => this.sign(key.publicBlob, data, algorithm),
    });
  }

  /** Adds a private key (ssh-add), with its certificate and constraints when given. */
  async add(key: KeyObject, options: AgentAddOptions = {}): Promise<void> {
    const certificate = options.certificate === undefined ? undefined : toCertificate(options.certificate).blob;
    const { keyType, fields } = agentKeyFields(key, certificate);
    const constraints: KeyConstraint[] = [];
    if (options.lifetime !== undefined) constraints.push({ type: 'lifetime', seconds: options.lifetime });
    if (options.confirm) constraints.push({ type: 'confirm' });
    constraints.push(...(options.constraints ?? []));
    const payload = encodeAddIdentity({ keyType, fields, comment: options.comment ?? '', constraints });
    expectSuccess(await this.socket.call(payload), `to add the ${keyType} key`);
  }

  /** Removes one key (its public or certificate blob). */
  async remove(publicBlob: Uint8Array): Promise<void> {
    expectSuccess(await this.socket.call(AgentRemoveIdentity.encode({ key: publicBlob })), `to remove ${fingerprintSha256(publicBlob)}`);
  }

  /** Removes every key (ssh-add -D). */
  async removeAll(): Promise<void> {
    expectSuccess(await this.socket.call(AgentRemoveAllIdentities.encode({})), 'to remove all keys');
  }

  /** Locks the agent with a passphrase (ssh-add -x): it then lists no keys and signs nothing. */
  async lock(passphrase: string | Uint8Array): Promise<void> {
    expectSuccess(await this.socket.call(AgentLock.encode({ passphrase: bytesOf(passphrase) })), 'to lock');
  }

  async unlock(passphrase: string | Uint8Array): Promise<void> {
    expectSuccess(await this.socket.call(AgentUnlock.encode({ passphrase: bytesOf(passphrase) })), 'to unlock');
  }

  /** Sends the extension request `name` with its `data`; the reply's bytes (empty for a plain success). */
  async extension(name: string, data: Uint8Array = new Uint8Array(0)): Promise<Uint8Array> {
    return extensionReply(await this.socket.call(AgentExtension.encode({ name, data })), name);
  }

  /**
   * Binds this agent connection to an SSH session (`session-bind@openssh.com`):
   * an agent that keeps destination restrictions then knows which host it is
   * signing for. `connect()` does this itself.
   */
  async bindSession(binding: SessionBindValue): Promise<void> {
    await this.extension(SESSION_BIND_EXTENSION, SessionBind.encode(binding));
  }

  /** Closes the connection to the agent; requests still waiting fail. */
  close(): void {
    this.socket.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }
}

function bytesOf(s: string | Uint8Array): Uint8Array {
  return typeof s === 'string' ? new TextEncoder().encode(s) : s;
}
