// ADD_IDENTITY carries a private key as its type name, the type's fields (as
// in the private section of an openssh-key-v1 file; PROTOCOL.agent), then a
// comment and, for ADD_ID_CONSTRAINED, constraints. Where the fields end
// depends on the type, so each type's layout is listed here: a request from
// the wire is split into type, raw fields, comment and constraints without
// any cryptography (src/keys turns the fields into a key).
import { ProtocolError } from '../errors.js';
import { Reader } from '../wire/reader.js';
import { Writer } from '../wire/writer.js';
import { AgentAddConstrainedHead, AgentAddIdentityHead, MAX_AGENT_KEY_BLOB, MSG_AGENT } from './messages.js';
import { decodeConstraints, encodeConstraints, type KeyConstraint } from './constraints.js';

/** s: string, m: mpint, b: byte. */
type Layout = readonly ('s' | 'm' | 'b')[];

const ECDSA = ['ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521'];
const LAYOUTS = new Map<string, Layout>([
  ['ssh-ed25519', ['s', 's']],
  ['ssh-rsa', ['m', 'm', 'm', 'm', 'm', 'm']],
  ['ssh-dss', ['m', 'm', 'm', 'm', 'm']],
  ...ECDSA.map((t): [string, Layout] => [t, ['s', 's', 'm']]),
  ['sk-ecdsa-sha2-nistp256@openssh.com', ['s', 's', 's', 'b', 's', 's']],
  ['sk-ssh-ed25519@openssh.com', ['s', 's', 'b', 's', 's']],
  // Certificates: the certificate blob, then the private parts it does not hold.
  ['ssh-ed25519-cert-v01@openssh.com', ['s', 's', 's']],
  ['ssh-rsa-cert-v01@openssh.com', ['s', 'm', 'm', 'm', 'm']],
  ['ssh-dss-cert-v01@openssh.com', ['s', 'm']],
  ...ECDSA.map((t): [string, Layout] => [`${t}-cert-v01@openssh.com`, ['s', 'm']]),
  ['sk-ecdsa-sha2-nistp256-cert-v01@openssh.com', ['s', 's', 'b', 's', 's']],
  ['sk-ssh-ed25519-cert-v01@openssh.com', ['s', 's', 's', 'b', 's', 's']],
]);

/** Whether the agent codec knows where `keyType`'s private fields end. */
export function isAgentKeyType(keyType: string): boolean {
  return LAYOUTS.has(keyType);
}

export interface AddIdentity {
  readonly keyType: string;
  /** The private fields after the type name, encoded (see src/keys/agent-key.ts). */
  readonly fields: Uint8Array;
  readonly comment: string;
  readonly constraints: readonly KeyConstraint[];
}

/** ADD_IDENTITY, or ADD_ID_CONSTRAINED when there are constraints. */
export function encodeAddIdentity(add: AddIdentity): Uint8Array {
  // The layout is checked so that an agent can split what is sent.
  if (fieldsEnd(add.fields, 0, add.keyType) !== add.fields.length) throw new RangeError(`${add.keyType} private fields: bytes after the last field`);
  const w = new Writer(add.fields.length + 64);
  w.byte(add.constraints.length > 0 ? MSG_AGENT.ADD_ID_CONSTRAINED : MSG_AGENT.ADD_IDENTITY);
  w.string(add.keyType).raw(add.fields).string(add.comment);
  if (add.constraints.length > 0) w.raw(encodeConstraints(add.constraints));
  return w.finish();
}

/** An ADD_IDENTITY or ADD_ID_CONSTRAINED request; ProtocolError when malformed or of an unknown key type. */
export function decodeAddIdentity(payload: Uint8Array): AddIdentity {
  const constrained = payload[0] === MSG_AGENT.ADD_ID_CONSTRAINED;
  const head = (constrained ? AgentAddConstrainedHead : AgentAddIdentityHead).decode(payload);
  const end = fieldsEnd(head.rest, 0, head.keyType);
  const fields = head.rest.slice(0, end);
  const r = new Reader(head.rest, end, 'SSH_AGENTC_ADD_IDENTITY');
  const comment = r.text('comment', 64 * 1024);
  const constraints = constrained ? decodeConstraints(r.rest()) : [];
  r.end();
  return { keyType: head.keyType, fields, comment, constraints };
}

/** Where `keyType`'s private fields starting at `start` of `bytes` end. */
function fieldsEnd(bytes: Uint8Array, start: number, keyType: string): number {
  const r = new Reader(bytes, start, 'SSH_AGENTC_ADD_IDENTITY');
  const layout = LAYOUTS.get(keyType);
  if (!layout) throw new ProtocolError(`SSH_AGENTC_ADD_IDENTITY: unknown key type ${JSON.stringify(keyType.slice(0, 64))}`);
  for (const [i, kind] of layout.entries()) {
    const what = `${keyType} private field ${i + 1}`;
    if (kind === 's') r.string(what, MAX_AGENT_KEY_BLOB);
    else if (kind === 'm') r.mpintBytes(what, 2049);
    else r.byte(what);
  }
  return r.position;
}
