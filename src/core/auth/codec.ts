// Wire pieces both sides of user authentication share: the publickey request
// and the data its signature covers (RFC 4252 §7, OpenSSH PROTOCOL §2.5 for
// the host-bound variant), and the counted lists of keyboard-interactive
// (RFC 4256 §3.2, §3.4) that the message schemas leave to `rest`.
import { ProtocolError } from '../../errors.js';
import {
  UserauthHostboundQuery,
  UserauthInfoRequestHead,
  UserauthInfoResponseHead,
  UserauthPublickeyQuery,
} from '../../messages/userauth.js';
import { Reader } from '../../wire/reader.js';
import { Writer, concat } from '../../wire/writer.js';

export const SSH_CONNECTION = 'ssh-connection';
export const HOSTBOUND_METHOD = 'publickey-hostbound-v00@openssh.com';
/** EXT_INFO name a server uses to announce the host-bound method (value "0"). */
export const HOSTBOUND_EXTENSION = 'publickey-hostbound@openssh.com';
export const SERVER_SIG_ALGS = 'server-sig-algs';

/**
 * sshd refuses more than 100 keyboard-interactive replies; the same bound
 * keeps both our sides from building huge prompt lists.
 */
export const MAX_PROMPTS = 100;
const MAX_PROMPT_TEXT = 64 * 1024;

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
  const w = new Writer(64).uint32(req.prompts.length);
  for (const p of req.prompts) w.string(p.prompt).boolean(p.echo);
  return UserauthInfoRequestHead.encode({ name: req.name, instruction: req.instruction, language: '', rest: w.finish() });
}

export function decodeInfoRequest(payload: Uint8Array): InfoRequest {
  const head = UserauthInfoRequestHead.decode(payload);
  const r = new Reader(head.rest, 0, 'USERAUTH_INFO_REQUEST');
  const count = r.uint32('num-prompts');
  // each prompt takes at least a length word and the echo byte
  if (count > r.remaining / 5) throw new ProtocolError(`USERAUTH_INFO_REQUEST: ${count} prompts cannot fit in ${r.remaining} bytes`);
  if (count > MAX_PROMPTS) throw new ProtocolError(`USERAUTH_INFO_REQUEST: ${count} prompts is over the limit of ${MAX_PROMPTS}`);
  const prompts: Prompt[] = [];
  for (let i = 0; i < count; i++) {
    const prompt = r.text('prompt', MAX_PROMPT_TEXT);
    const echo = r.boolean('echo');
    prompts.push({ prompt, echo });
  }
  r.end();
  return { name: head.name, instruction: head.instruction, prompts };
}

export function encodeInfoResponse(responses: readonly string[]): Uint8Array {
  const w = new Writer(64).uint32(responses.length);
  for (const s of responses) w.string(s);
  return UserauthInfoResponseHead.encode({ rest: w.finish() });
}

/** Parses an INFO_RESPONSE that must answer exactly `expected` prompts. */
export function decodeInfoResponse(payload: Uint8Array, expected: number): string[] {
  const head = UserauthInfoResponseHead.decode(payload);
  const r = new Reader(head.rest, 0, 'USERAUTH_INFO_RESPONSE');
  const count = r.uint32('num-responses');
  if (count !== expected) throw new ProtocolError(`USERAUTH_INFO_RESPONSE: ${count} responses to ${expected} prompts`);
  if (count > r.remaining / 4) throw new ProtocolError(`USERAUTH_INFO_RESPONSE: ${count} responses cannot fit in ${r.remaining} bytes`);
  const out: string[] = [];
  for (let i = 0; i < count; i++) out.push(r.text('response', MAX_PROMPT_TEXT));
  r.end();
  return out;
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
