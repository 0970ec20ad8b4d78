// `-s ca_key.pub -U`: the CA's private key is in ssh-agent, which signs the
// certificate. signCertificate signs synchronously, so the certificate is
// built twice with the same nonce: first to learn the bytes to be signed,
// then with the agent's signature of exactly those bytes. The package's full
// entry point (the agent client) is loaded only for -U, so the other
// commands start as fast as before.
import {
  blobKeyType,
  parseOpenSshPublicKeyLine,
  readBounded,
  signatureAlgorithmsFor,
  signCertificate,
  type CertificateRequest,
  type KeySigner,
  type OpenSshCertificate,
} from '../../keys-entry.js';
import { fatal } from '../common/exit.js';
import { keyFileReason } from './keys.js';

/** A CA whose private half is in the agent; `sign` is done by signAsCa. */
export interface AgentCa {
  readonly publicBlob: Uint8Array;
  readonly keyType: string;
  readonly algorithms: readonly string[];
  readonly agent: { sign(publicBlob: Uint8Array, data: Uint8Array, algorithm?: string): Promise<Uint8Array>; close(): void };
}

/** The CA public key `caPath` names, checked to be in the agent at $SSH_AUTH_SOCK (ssh-keygen's words on failure). */
export async function agentCa(caPath: string): Promise<AgentCa> {
  let publicBlob: Uint8Array;
  try {
    const text = readBounded(caPath, 64 * 1024, 'public key').toString('utf8');
    publicBlob = parseOpenSshPublicKeyLine(text.split('\n')[0] ?? '').blob;
  } catch (err) {
    return fatal(`Cannot load CA public key ${caPath}: ${keyFileReason(err)}`);
  }
  const { AgentClient } = await import('../../index.js');
  let agent;
  try {
    agent = await AgentClient.connect();
  } catch {
    // ssh-keygen's words for a missing or unreachable agent
    return fatal('Cannot use public key for CA signature: agent not present');
  }
  let keys;
  try {
    keys = await agent.list();
  } catch (err) {
    agent.close();
    return fatal(`Retrieve agent key list: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (keys.length === 0 || !keys.some((k) => Buffer.from(k.publicBlob).equals(publicBlob))) {
    agent.close();
    return fatal(keys.length === 0 ? 'Retrieve agent key list: agent contains no identities' : `CA key ${caPath} not found in agent`);
  }
  const keyType = blobKeyType(publicBlob);
  return { publicBlob, keyType, algorithms: signatureAlgorithmsFor(keyType), agent };
}

/** A signature blob of the right shape, standing in while the bytes to be signed are found. */
function placeholderSignature(algorithm: string): Uint8Array {
  const name = Buffer.from(algorithm, 'utf8');
  const out = Buffer.alloc(8 + name.length + 64);
  out.writeUInt32BE(name.length, 0);
  name.copy(out, 4);
  out.writeUInt32BE(64, 4 + name.length);
  return out;
}

/** Signs `request` as ssh-keygen -U does: the agent makes the CA's signature. */
export async function signAsCa(request: CertificateRequest, ca: AgentCa): Promise<OpenSshCertificate> {
  const nonce = request.random(32);
  const fixed = { ...request, random: () => nonce };
  let toBeSigned: Uint8Array | null = null;
  let algorithm = '';
  const capture: KeySigner = {
    keyType: ca.keyType as KeySigner['keyType'],
    publicBlob: ca.publicBlob,
    algorithms: ca.algorithms,
    sign(alg: string, data: Uint8Array): Uint8Array {
      toBeSigned = data.slice();
      algorithm = alg;
      return placeholderSignature(alg);
    },
  };
  signCertificate(fixed, capture);
  const signature = await ca.agent.sign(ca.publicBlob, toBeSigned!, algorithm);
  const cert = signCertificate(fixed, { ...capture, sign: () => signature });
  return cert;
}
