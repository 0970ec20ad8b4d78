// What each request expects back, pure: the reply payloads of AgentConnection
// turned into identities, signatures and successes, anything else an
// AgentError naming the request.
import { ProtocolError } from '../errors.js';
import { Reader } from '../wire/reader.js';
import { AgentError } from './errors.js';
import { AgentExtensionResponse, AgentIdentitiesAnswer, AgentSignResponse, MSG_AGENT, SIGN_FLAGS, type AgentIdentity } from './messages.js';

/** The SIGN_REQUEST flags that ask for `algorithm` (RSA's SHA-2 variants, certificate ones included); 0 for every other. */
export function signFlagsFor(algorithm: string): number {
  if (algorithm === 'rsa-sha2-256' || algorithm === 'rsa-sha2-256-cert-v01@openssh.com') return SIGN_FLAGS.RSA_SHA2_256;
  if (algorithm === 'rsa-sha2-512' || algorithm === 'rsa-sha2-512-cert-v01@openssh.com') return SIGN_FLAGS.RSA_SHA2_512;
  return 0;
}

function unexpected(what: string, reply: Uint8Array): AgentError {
  const type = reply[0];
  if (type === MSG_AGENT.FAILURE || type === MSG_AGENT.EXTENSION_FAILURE) return new AgentError(`the agent refused ${what}`, 'refused');
  return new AgentError(`the agent answered ${what} with message ${type}`, 'protocol');
}

function decoded<T>(what: string, decode: () => T): T {
  try {
    return decode();
  } catch (err) {
    if (err instanceof ProtocolError) throw new AgentError(`the agent's answer to ${what} is malformed: ${err.message}`, 'protocol', { cause: err });
    throw err;
  }
}

export function identitiesFromReply(reply: Uint8Array): AgentIdentity[] {
  if (reply[0] !== MSG_AGENT.IDENTITIES_ANSWER) throw unexpected('the list of keys', reply);
  return decoded('the list of keys', () => AgentIdentitiesAnswer.decode(reply).keys);
}

/**
 * The signature blob of a SIGN_RESPONSE, checked to be `string algorithm ||
 * string signature` made with `algorithm`'s signature scheme (for a
 * certificate algorithm, its plain one), as ssh checks what agents return.
 */
export function signatureFromReply(reply: Uint8Array, algorithm: string): Uint8Array {
  if (reply[0] !== MSG_AGENT.SIGN_RESPONSE) throw unexpected(`a ${algorithm} signature`, reply);
  const signature = decoded('a signature request', () => AgentSignResponse.decode(reply).signature);
  const made = decoded('a signature request', () => {
    const r = new Reader(signature, 0, 'signature');
    const name = r.text('algorithm', 256);
    r.string('signature');
    // a security key's signature goes on with flags and counter
    if (!name.startsWith('sk-')) r.end();
    return name;
  });
  const expected = algorithm.replace(/-cert-v01@openssh\.com$/, '');
  if (made !== expected) throw new AgentError(`the agent signed with ${made} when asked for ${expected}`, 'protocol');
  return signature;
}

/** A request answered with SUCCESS; `what` names it in the error. */
export function expectSuccess(reply: Uint8Array, what: string): void {
  if (reply[0] !== MSG_AGENT.SUCCESS || reply.length !== 1) throw unexpected(what, reply);
}

/**
 * An EXTENSION's answer: the bytes of EXTENSION_RESPONSE, or empty for
 * SUCCESS (what OpenSSH's agent answers its own extensions with).
 */
export function extensionReply(reply: Uint8Array, name: string): Uint8Array {
  if (reply[0] === MSG_AGENT.SUCCESS && reply.length === 1) return new Uint8Array(0);
  if (reply[0] === MSG_AGENT.EXTENSION_RESPONSE) return decoded(`extension ${name}`, () => AgentExtensionResponse.decode(reply).data);
  throw unexpected(`extension ${name}`, reply);
}
