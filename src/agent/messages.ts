// The agent protocol's messages (draft-ietf-sshm-ssh-agent, OpenSSH's
// PROTOCOL.agent), declared once with the message schemas: each has its
// encoder and its decoder, so a client (here) and an agent (a server, later)
// share them. A message travels as `uint32 length || byte type || fields`;
// framing is in frame.ts. Key constraints are in constraints.ts, the private
// key fields of ADD_IDENTITY in private-fields.ts.
import { f, message, type MessageOf } from '../messages/schema.js';

export const MSG_AGENT = {
  // replies
  FAILURE: 5,
  SUCCESS: 6,
  IDENTITIES_ANSWER: 12,
  SIGN_RESPONSE: 14,
  EXTENSION_FAILURE: 28,
  EXTENSION_RESPONSE: 29,
  // requests
  REQUEST_IDENTITIES: 11,
  SIGN_REQUEST: 13,
  ADD_IDENTITY: 17,
  REMOVE_IDENTITY: 18,
  REMOVE_ALL_IDENTITIES: 19,
  ADD_SMARTCARD_KEY: 20,
  REMOVE_SMARTCARD_KEY: 21,
  LOCK: 22,
  UNLOCK: 23,
  ADD_ID_CONSTRAINED: 25,
  ADD_SMARTCARD_KEY_CONSTRAINED: 26,
  EXTENSION: 27,
} as const;

/** SIGN_REQUEST flags: which signature algorithm an `ssh-rsa` key signs with. */
export const SIGN_FLAGS = {
  /** SSH_AGENT_RSA_SHA2_256: `rsa-sha2-256`. */
  RSA_SHA2_256: 2,
  /** SSH_AGENT_RSA_SHA2_512: `rsa-sha2-512`. */
  RSA_SHA2_512: 4,
} as const;

/** The biggest key blob or signature the codec accepts (an RSA-16384 certificate is far below). */
export const MAX_AGENT_KEY_BLOB = 16 * 1024;
/** The most identities one IDENTITIES_ANSWER may list (OpenSSH's agent caps at 2048). */
export const MAX_AGENT_IDENTITIES = 2048;
/** Data an agent is asked to sign (a USERAUTH request's signed data, an SSHSIG hash, a certificate's TBS). */
export const MAX_AGENT_SIGN_DATA = 256 * 1024;

const keyBlob = () => f.bytes(MAX_AGENT_KEY_BLOB);

export const AgentFailure = message(MSG_AGENT.FAILURE, 'SSH_AGENT_FAILURE', {});
export const AgentSuccess = message(MSG_AGENT.SUCCESS, 'SSH_AGENT_SUCCESS', {});
export const AgentIdentitiesAnswer = message(MSG_AGENT.IDENTITIES_ANSWER, 'SSH_AGENT_IDENTITIES_ANSWER', {
  keys: f.list(f.struct({ key: keyBlob(), comment: f.text(64 * 1024) }), MAX_AGENT_IDENTITIES),
});
export const AgentSignResponse = message(MSG_AGENT.SIGN_RESPONSE, 'SSH_AGENT_SIGN_RESPONSE', { signature: keyBlob() });
export const AgentExtensionFailure = message(MSG_AGENT.EXTENSION_FAILURE, 'SSH_AGENT_EXTENSION_FAILURE', {});
/** The draft's EXTENSION_RESPONSE: the extension's own reply bytes. (OpenSSH answers its extensions with SUCCESS.) */
export const AgentExtensionResponse = message(MSG_AGENT.EXTENSION_RESPONSE, 'SSH_AGENT_EXTENSION_RESPONSE', { data: f.rest() });

export const AgentRequestIdentities = message(MSG_AGENT.REQUEST_IDENTITIES, 'SSH_AGENTC_REQUEST_IDENTITIES', {});
export const AgentSignRequest = message(MSG_AGENT.SIGN_REQUEST, 'SSH_AGENTC_SIGN_REQUEST', {
  key: keyBlob(),
  data: f.bytes(MAX_AGENT_SIGN_DATA),
  flags: f.uint32(),
});
/**
 * ADD_IDENTITY and ADD_ID_CONSTRAINED: `keyType` then the key's private
 * fields, the comment and (constrained) the constraints. Where the fields end
 * depends on the key type: decode with decodeAddIdentity (private-fields.ts).
 */
export const AgentAddIdentityHead = message(MSG_AGENT.ADD_IDENTITY, 'SSH_AGENTC_ADD_IDENTITY', { keyType: f.text(256), rest: f.rest() });
export const AgentAddConstrainedHead = message(MSG_AGENT.ADD_ID_CONSTRAINED, 'SSH_AGENTC_ADD_ID_CONSTRAINED', { keyType: f.text(256), rest: f.rest() });
export const AgentRemoveIdentity = message(MSG_AGENT.REMOVE_IDENTITY, 'SSH_AGENTC_REMOVE_IDENTITY', { key: keyBlob() });
export const AgentRemoveAllIdentities = message(MSG_AGENT.REMOVE_ALL_IDENTITIES, 'SSH_AGENTC_REMOVE_ALL_IDENTITIES', {});
export const AgentAddSmartcardKey = message(MSG_AGENT.ADD_SMARTCARD_KEY, 'SSH_AGENTC_ADD_SMARTCARD_KEY', { id: f.text(4096), pin: f.text(1024) });
export const AgentAddSmartcardKeyConstrained = message(MSG_AGENT.ADD_SMARTCARD_KEY_CONSTRAINED, 'SSH_AGENTC_ADD_SMARTCARD_KEY_CONSTRAINED', {
  id: f.text(4096),
  pin: f.text(1024),
  constraints: f.rest(),
});
export const AgentRemoveSmartcardKey = message(MSG_AGENT.REMOVE_SMARTCARD_KEY, 'SSH_AGENTC_REMOVE_SMARTCARD_KEY', { id: f.text(4096), pin: f.text(1024) });
export const AgentLock = message(MSG_AGENT.LOCK, 'SSH_AGENTC_LOCK', { passphrase: f.bytes(1024) });
export const AgentUnlock = message(MSG_AGENT.UNLOCK, 'SSH_AGENTC_UNLOCK', { passphrase: f.bytes(1024) });
export const AgentExtension = message(MSG_AGENT.EXTENSION, 'SSH_AGENTC_EXTENSION', { name: f.text(1024), data: f.rest() });

/**
 * The content of `session-bind@openssh.com` (PROTOCOL.agent): the server's
 * host key, the session identifier, the server's signature of it from the
 * first key exchange, and whether the binding is for a forwarded agent.
 */
export const SessionBind = f.struct(
  {
    hostKey: keyBlob(),
    sessionId: f.bytes(1024),
    signature: keyBlob(),
    forwarding: f.boolean(),
  },
  'session-bind@openssh.com',
);
export type SessionBindValue = MessageOf<typeof SessionBind>;
export const SESSION_BIND_EXTENSION = 'session-bind@openssh.com';

export type AgentIdentity = MessageOf<typeof AgentIdentitiesAnswer>['keys'][number];
