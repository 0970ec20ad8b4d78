// Wire pieces both sides of user authentication share: the publickey request
// and the data its signature covers (RFC 4252 §7, OpenSSH PROTOCOL §2.5 for
// the host-bound variant), and keyboard-interactive's prompts and answers
// (RFC 4256 §3.2, §3.4) as the auth machines use them.
import { ProtocolError } from '../../errors.js';
import {
  UserauthHostboundQuery,
  UserauthInfoRequest,
  UserauthInfoResponse,
  MAX_PROMPTS,
  UserauthPublickeyQuery,
} from '../../messages/userauth.js';
import { Writer, concat } from '../../wire/writer.js';

export const SSH_CONNECTION = 'ssh-connection';
export const HOSTBOUND_METHOD = 'publickey-hostbound-v00@openssh.com';
/** EXT_INFO name a server uses to announce the host-bound method (value "0"). */
export const HOSTBOUND_EXTENSION = 'publickey-hostbound@openssh.com';
export const SERVER_SIG_ALGS = 'server-sig-algs';

export { MAX_PROMPTS };

export interface PublickeyFields {
  readonly username: string;
  readonly service: string;
  readonly algorithm: string;
  readonly publicKey: Uint8Array;
  /** Present for the host-bound method only. */
  readonly hostKey?: Uint8Array;
}

/**
 * A publickey USERAUTH_REQUEST up to and excluding the signature. With
 * `signed` true these are exactly the bytes that follow the session id in the
 * signed data, so client and server derive both from one encoder.
 */
export function publickeyRequestHead(fields: PublickeyFields, signed: boolean): Uint8Array {
  const common = {
    username: fields.username,
    service: fields.service,
    signed,
    algorithm: fields.algorithm,
    publicKey: fields.publicKey,
  };
  if (fields.hostKey) return UserauthHostboundQuery.encode({ ...common, method: HOSTBOUND_METHOD, hostKey: fields.hostKey });
  return UserauthPublickeyQuery.encode({ ...common, method: 'publickey' });
}

/** Appends the signature field to a signed request head. */
export function withSignature(head: Uint8Array, signature: Uint8Array): Uint8Array {
  return concat([head, new Writer(signature.length + 4).string(signature).finish()]);
}

/** `string session_id || request-without-signature`: what the user key signs. */
export function signedData(sessionId: Uint8Array, head: Uint8Array): Uint8Array {
  return concat([new Writer(sessionId.length + 4).string(sessionId).finish(), head]);
}

export interface Prompt {
  readonly prompt: string;
  readonly echo: boolean;
}

export interface InfoRequest {
  readonly name: string;
  readonly instruction: string;
  readonly prompts: readonly Prompt[];
}

export function encodeInfoRequest(req: InfoRequest): Uint8Array {
  return UserauthInfoRequest.encode({ name: req.name, instruction: req.instruction, language: '', prompts: [...req.prompts] });
}

export function decodeInfoRequest(payload: Uint8Array): InfoRequest {
  const { name, instruction, prompts } = UserauthInfoRequest.decode(payload);
  return { name, instruction, prompts };
}

export function encodeInfoResponse(responses: readonly string[]): Uint8Array {
  return UserauthInfoResponse.encode({ responses: [...responses] });
}

/** Parses an INFO_RESPONSE that must answer exactly `expected` prompts. */
export function decodeInfoResponse(payload: Uint8Array, expected: number): string[] {
  const { responses } = UserauthInfoResponse.decode(payload);
  if (responses.length !== expected) throw new ProtocolError(`USERAUTH_INFO_RESPONSE: ${responses.length} responses to ${expected} prompts`);
  return responses;
}

/** An EXT_INFO value as text; undefined when absent or not UTF-8. */
export function extensionText(extensions: ReadonlyMap<string, Uint8Array>, name: string): string | undefined {
  const v = extensions.get(name);
  if (!v) return undefined;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(v);
  } catch {
    return undefined;
  }
}
