// Decoding of the requests an authentication server receives. Everything the
// client can get wrong in the encoding is found here, on arrival, so that
// `AuthServer.handle()` is the only place a ProtocolError is thrown from.
import {
  UserauthHostboundQuery,
  UserauthHostboundSigned,
  UserauthKeyboardInteractive,
  UserauthNone,
  UserauthPassword,
  UserauthPasswordChange,
  UserauthPublickeyQuery,
  UserauthPublickeySigned,
  UserauthRequestHead,
} from '../../messages/userauth.js';
import { HOSTBOUND_METHOD } from './codec.js';

export type RequestBody =
  | { readonly method: 'none' }
  | { readonly method: 'password'; readonly password: string; readonly newPassword?: string }
  | { readonly method: 'keyboard-interactive'; readonly submethods: string }
  | {
      readonly method: 'publickey';
      readonly hostbound: boolean;
      readonly algorithm: string;
      readonly publicKey: Uint8Array;
      readonly hostKey?: Uint8Array;
      /** Present on signed requests, with the bytes the signature covers (after the session id). */
      readonly signature?: { readonly blob: Uint8Array; readonly head: Uint8Array };
    }
  /** A method Nacre does not implement (hostbased, gssapi-*): always refused. */
  | { readonly method: 'other'; readonly name: string };

export interface ParsedRequest {
  readonly username: string;
  readonly service: string;
  readonly body: RequestBody;
}

/** The flag byte after the method name (`change` or `has signature`); 0 when missing, so the strict decode reports it. */
function flag(rest: Uint8Array): boolean {
  return rest.length > 0 && rest[0] !== 0;
}

/** Decodes a USERAUTH_REQUEST; malformed input throws ProtocolError. */
export function parseRequest(payload: Uint8Array): ParsedRequest {
  const head = UserauthRequestHead.decode(payload);
  const { username, service, method } = head;
  const out = (body: RequestBody): ParsedRequest => ({ username, service, body });
  switch (method) {
    case 'none':
      UserauthNone.decode(payload);
      return out({ method: 'none' });
    case 'password': {
      if (flag(head.rest)) {
        const m = UserauthPasswordChange.decode(payload);
        return out({ method: 'password', password: m.oldPassword, newPassword: m.newPassword });
      }
      const m = UserauthPassword.decode(payload);
      return out({ method: 'password', password: m.password });
    }
    case 'keyboard-interactive': {
      const m = UserauthKeyboardInteractive.decode(payload);
      return out({ method: 'keyboard-interactive', submethods: m.submethods });
    }
    case 'publickey':
    case HOSTBOUND_METHOD: {
      const hostbound = method === HOSTBOUND_METHOD;
      if (!flag(head.rest)) {
        if (hostbound) {
          const m = UserauthHostboundQuery.decode(payload);
          return out({ method: 'publickey', hostbound, algorithm: m.algorithm, publicKey: m.publicKey, hostKey: m.hostKey });
        }
        const m = UserauthPublickeyQuery.decode(payload);
        return out({ method: 'publickey', hostbound, algorithm: m.algorithm, publicKey: m.publicKey });
      }
      // the signature is the last field, so what it covers is everything before its length word
      const covered = (sig: Uint8Array) => ({ blob: sig, head: payload.subarray(0, payload.length - 4 - sig.length) });
      if (hostbound) {
        const m = UserauthHostboundSigned.decode(payload);
        const signature = covered(m.signature);
        return out({ method: 'publickey', hostbound, algorithm: m.algorithm, publicKey: m.publicKey, hostKey: m.hostKey, signature });
      }
      const m = UserauthPublickeySigned.decode(payload);
      return out({ method: 'publickey', hostbound, algorithm: m.algorithm, publicKey: m.publicKey, signature: covered(m.signature) });
    }
    default:
      return out({ method: 'other', name: method });
  }
}
