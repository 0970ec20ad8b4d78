// Public-key authentication with an SSH agent, in OpenSSH's order (ssh's
// pubkey_prepare): the agent's keys come first, in the agent's order, a key
// also given by `privateKey`/`privateKeyFile` being signed by the agent;
// then the given keys the agent does not hold. With `identitiesOnly` only
// the agent keys matching a given key are used (and agent certificates of a
// given key). The agent connection is bound to the session
// (`session-bind@openssh.com`) before its first signature, and with
// `addKeysToAgent` a key read from a file is added to the agent once used.
import { AgentError } from '../agent/errors.js';
import { parseCertificate } from '../keys/certificate.js';
import type { AuthSigner } from '../keys/signer.js';
import { loadPrivateKeyFile } from '../io/node/key-files.js';
import { expandHome } from '../io/node/files.js';
import type { NodeEndpoint } from '../io/node/node-endpoint.js';
import type { AgentClient, AgentKey } from './agent-client.js';
import type { ConnectOptions } from './options.js';

/** What proves the session to an agent: the first key exchange's host key, exchange hash and the server's signature of it. */
export interface SessionBinding {
  readonly hostKey: Uint8Array;
  readonly sessionId: Uint8Array;
  readonly signature: Uint8Array;
}

/** The binding of `node`'s session, once its first key exchange is done. */
export function sessionBinding(node: NodeEndpoint): SessionBinding | null {
  const t = node.endpoint.transport;
  const hostKey = t.hostKey;
  const sessionId = t.sessionId;
  const signature = t.sessionSignature;
  return hostKey && sessionId && signature ? { hostKey, sessionId, signature } : null;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
}

/** The key a certificate blob certifies, or null when `blob` is no certificate Nacre reads. */
function certifiedKey(blob: Uint8Array): Uint8Array | null {
  try {
    return parseCertificate(blob).publicKey;
  } catch {
    return null;
  }
}

type Debug = ConnectOptions['debug'];

/** The agent side of connect(): its keys, the binding and AddKeysToAgent. */
export class AgentAuth {
  private bound: Promise<void> | null = null;
  private binding: (() => SessionBinding | null) | null = null;
  private readonly added = new Set<string>();

  private constructor(
    private readonly options: ConnectOptions,
    /** The agent used for signing (null when only keys are added). */
    private readonly agent: AgentClient | null,
    private readonly agentKeys: readonly AgentKey[],
  ) {}

  /**
   * Connects to the agent `options.agent` names and lists its keys; null when
   * neither `agent` nor `addKeysToAgent` is set. An agent that cannot be
   * reached is no error (ssh goes on without one): `debug` says so.
   */
  static async open(options: ConnectOptions): Promise<AgentAuth | null> {
    if (!options.agent && !options.addKeysToAgent) return null;
    if (!options.agent) return new AgentAuth(options, null, []);
    let agent: AgentClient | null = null;
    try {
      // The agent client loads only when an agent is to be used.
      const { AgentClient, agentSocketPath } = await import('./agent-client.js');
      agent = await AgentClient.connect(agentSocketPath(options.agent));
      const keys = await agent.list();
      options.debug?.(1, `agent: ${keys.length} key${keys.length === 1 ? '' : 's'}`);
      return new AgentAuth(options, agent, keys);
    } catch (err) {
      agent?.close();
      if (!(err instanceof AgentError)) throw err;
      options.debug?.(1, `agent: not used: ${err.message}`);
      return new AgentAuth(options, null, []);
    }
  }

  /** Where session bindings come from; connect() attaches its connection. */
  attach(binding: () => SessionBinding | null): void {
    this.binding = binding;
  }

  /**
   * Binds the agent connection now (the first key exchange is done), as ssh
   * does before it uses the agent; signatures wait for it. Its failure is the
   * first signature's.
   */
  bindNow(): void {
    if (this.agent) this.bind(this.agent).catch(() => undefined);
  }

  /** The signers to offer, in OpenSSH's order, from the keys given in the options. */
  identities(given: readonly AuthSigner[]): AuthSigner[] {
    const rest = [...given];
    const out: AuthSigner[] = [];
    for (const key of this.agentKeys) {
      const match = rest.findIndex((s) => sameBytes(s.publicBlob, key.publicBlob));
      if (match >= 0) rest.splice(match, 1);
      const certified = certifiedKey(key.publicBlob);
      const ofGivenKey = match >= 0 || (certified !== null && given.some((s) => sameBytes(s.publicBlob, certified)));
      if (this.options.identitiesOnly && !ofGivenKey) continue;
      out.push(this.agentSigner(key));
    }
    return [...out, ...rest.map((s) => this.withAddToAgent(s))];
  }

  /** Ends the agent connection (authentication is over). */
  close(): void {
    this.agent?.close();
  }

  private agentSigner(key: AgentKey): AuthSigner {
    const agent = this.agent!;
    return Object.freeze({
      keyType: key.keyType,
      publicBlob: key.publicBlob,
      sign: async (algorithm: string, data: Uint8Array) => {
        await this.bind(agent);
        return agent.sign(key.publicBlob, data, algorithm);
      },
    });
  }

  /** Binds the agent connection to the session once; an agent without the extension is used unbound, as ssh does. */
  private bind(agent: AgentClient): Promise<void> {
    this.bound ??= (async () => {
      const binding = this.binding?.();
      if (!binding) return;
      try {
        await agent.bindSession({ ...binding, forwarding: false });
        this.options.debug?.(2, 'agent: bound to the session');
      } catch (err) {
        if (!(err instanceof AgentError) || err.problem !== 'refused') throw err;
        this.options.debug?.(2, `agent: not bound: ${err.message}`);
      }
    })();
    return this.bound;
  }

  /** With addKeysToAgent, `signer` adds its key (read again from its file) to the agent once it has signed. */
  private withAddToAgent(signer: AuthSigner): AuthSigner {
    if (!this.options.addKeysToAgent) return signer;
    return Object.freeze({
      keyType: signer.keyType,
      publicBlob: signer.publicBlob,
      sign: async (algorithm: string, data: Uint8Array) => {
        const signature = await signer.sign(algorithm, data);
        await this.addToAgent(signer.publicBlob);
        return signature;
      },
    });
  }

  /** Adds the file key whose public (or certificate) blob is `blob`; failures only go to `debug`, as in ssh. */
  private async addToAgent(blob: Uint8Array): Promise<void> {
    const id = Buffer.from(blob).toString('base64');
    if (this.added.has(id)) return;
    this.added.add(id);
    const certified = certifiedKey(blob);
    const plain = certified ?? blob;
    const files = this.options.privateKeyFile === undefined ? [] : typeof this.options.privateKeyFile === 'string' ? [this.options.privateKeyFile] : this.options.privateKeyFile;
    const setting = this.options.addKeysToAgent;
    const constraints = typeof setting === 'object' ? setting : {};
    let agent: AgentClient | null = null;
    try {
      for (const file of files) {
        const path = expandHome(file);
        const loaded = loadPrivateKeyFile(path, this.options.passphrase);
        if (!sameBytes(loaded.publicBlob, plain)) continue;
        const { AgentClient, agentSocketPath } = await import('./agent-client.js');
        agent = await AgentClient.connect(agentSocketPath(typeof this.options.agent === 'string' ? this.options.agent : undefined));
        await agent.add(loaded.keyObject, {
          comment: loaded.comment || path,
          ...(certified ? { certificate: blob } : {}),
          ...(constraints.confirm ? { confirm: true } : {}),
          ...(constraints.lifetime !== undefined ? { lifetime: constraints.lifetime } : {}),
        });
        this.options.debug?.(1, `agent: added ${path}`);
        return;
      }
    } catch (err) {
      this.options.debug?.(1, `agent: could not add the key: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      agent?.close();
    }
  }
}
