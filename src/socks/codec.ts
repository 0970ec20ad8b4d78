// The server side of SOCKS 4, 4a and 5 (RFC 1928; CONNECT only, no
// authentication), as `ssh -D` speaks it: a sans-I/O state machine fed the
// bytes a SOCKS client sent, answering with the bytes to write back and, once
// the client has said where it wants to go, that destination. Domain names
// are kept as names: the SSH server resolves them, not us.
import { ProtocolError } from '../errors.js';

/** A SOCKS client sent something we do not accept; `reply` is what to write to it before closing. */
export class SocksError extends ProtocolError {
  readonly reply: Uint8Array;
  constructor(message: string, reply: Uint8Array = new Uint8Array(0)) {
    super(`SOCKS: ${message}`);
    this.reply = reply;
  }
}

export type SocksVersion = 4 | 5;

/** Where a SOCKS client asked to connect. */
export interface SocksRequest {
  readonly version: SocksVersion;
  /** SOCKS 4a and 5 may send a name: `domain`; the others are literals. */
  readonly addressType: 'ipv4' | 'ipv6' | 'domain';
  /** A dotted IPv4, an IPv6 in its full colon form, or the name as sent. */
  readonly host: string;
  readonly port: number;
}

/** Why a connection could not be made, in SOCKS 5 terms (SOCKS 4 has one code for all). */
export type SocksFailure = 'general' | 'not-allowed' | 'network-unreachable' | 'host-unreachable' | 'refused' | 'ttl-expired';

const SOCKS5_REPLY: Record<SocksFailure, number> = {
  general: 0x01,
  'not-allowed': 0x02,
  'network-unreachable': 0x03,
  'host-unreachable': 0x04,
  refused: 0x05,
  'ttl-expired': 0x06,
};
const SOCKS5_COMMAND_NOT_SUPPORTED = 0x07;
const SOCKS5_ADDRESS_TYPE_NOT_SUPPORTED = 0x08;
const SOCKS4_GRANTED = 0x5a;
const SOCKS4_REJECTED = 0x5b;
const SOCKS5_NO_AUTH = 0x00;
const SOCKS5_NO_ACCEPTABLE_METHOD = 0xff;
const CMD_CONNECT = 1;

/** SOCKS 4 user ids and 4a names are NUL-terminated; longer ones are refused. */
const MAX_SOCKS4_STRING = 255;
/** No greeting plus request is longer than this (5: 2+255 then 4+1+255+2). */
export const MAX_SOCKS_HANDSHAKE = 1024;

/** The reply that grants a request (bound address 0.0.0.0:0, as ssh sends). */
export function socksSuccessReply(version: SocksVersion): Uint8Array {
  return version === 4 ? Uint8Array.of(0, SOCKS4_GRANTED, 0, 0, 0, 0, 0, 0) : Uint8Array.of(5, 0, 0, 1, 0, 0, 0, 0, 0, 0);
}

/** The reply that refuses a request for `why`. */
export function socksFailureReply(version: SocksVersion, why: SocksFailure): Uint8Array {
  return version === 4 ? socks4Reply(SOCKS4_REJECTED) : socks5Reply(SOCKS5_REPLY[why]);
}

function socks4Reply(code: number): Uint8Array {
  return Uint8Array.of(0, code, 0, 0, 0, 0, 0, 0);
}

function socks5Reply(code: number): Uint8Array {
  return Uint8Array.of(5, code, 0, 1, 0, 0, 0, 0, 0, 0);
}

/** What one `push` produced: bytes to write, and the request once complete (with any bytes the client sent after it). */
export interface SocksStep {
  readonly send: Uint8Array | null;
  readonly request: SocksRequest | null;
  readonly rest: Uint8Array;
}

type Phase = 'start' | 'socks5-request' | 'done';

/**
 * Reads one SOCKS handshake. `push` the client's bytes as they come; it
 * returns the bytes to send and, when the request is complete, the request.
 * Anything malformed, unsupported or too long throws SocksError carrying the
 * error reply to send (possibly empty) before closing.
 */
export class SocksHandshake {
  private buf = new Uint8Array(0);
  private phase: Phase = 'start';

  push(data: Uint8Array): SocksStep {
    if (this.phase === 'done') throw new SocksError('data after the handshake belongs to the connection');
    if (this.buf.length + data.length > MAX_SOCKS_HANDSHAKE) {
      this.phase = 'done';
      throw new SocksError(`handshake longer than ${MAX_SOCKS_HANDSHAKE} bytes`);
    }
    const joined = new Uint8Array(this.buf.length + data.length);
    joined.set(this.buf);
    joined.set(data, this.buf.length);
    this.buf = joined;
    let send: Uint8Array | null = null;
    try {
      if (this.phase === 'start') {
        if (this.buf.length < 1) return { send, request: null, rest: new Uint8Array(0) };
        const version = this.buf[0];
        if (version === 4) return this.socks4();
        if (version !== 5) throw new SocksError(`unknown version ${version}`);
        const greeting = this.socks5Greeting();
        if (!greeting) return { send, request: null, rest: new Uint8Array(0) };
        send = greeting;
        this.phase = 'socks5-request';
      }
      const step = this.socks5Request();
      return { ...step, send: send ?? step.send };
    } catch (err) {
      this.phase = 'done';
      // A greeting and a bad request in one chunk: the client reads the method reply first.
      if (send && err instanceof SocksError) throw new SocksError(err.message.replace(/^SOCKS: /, ''), concat(send, err.reply));
      throw err;
    }
  }

  private consume(n: number): Uint8Array {
    const rest = this.buf.subarray(n);
    this.buf = new Uint8Array(0);
    return rest;
  }

  private socks4(): SocksStep {
    const b = this.buf;
    const none = { send: null, request: null, rest: new Uint8Array(0) };
    if (b.length < 8) return none;
    const reject = socks4Reply(SOCKS4_REJECTED);
    if (b[1] !== CMD_CONNECT) throw new SocksError(`SOCKS 4 command ${b[1]} is not supported (only CONNECT)`, reject);
    const port = (b[2]! << 8) | b[3]!;
    const userEnd = nulAt(b, 8, reject, 'user id');
    if (userEnd < 0) return none;
    let end = userEnd + 1;
    let host = `${b[4]}.${b[5]}.${b[6]}.${b[7]}`;
    let addressType: SocksRequest['addressType'] = 'ipv4';
    // 4a: 0.0.0.x with x non-zero means "a name follows the user id".
    if (b[4] === 0 && b[5] === 0 && b[6] === 0 && b[7] !== 0) {
      const nameEnd = nulAt(b, end, reject, 'host name');
      if (nameEnd < 0) return none;
      if (nameEnd === end) throw new SocksError('SOCKS 4a with an empty host name', reject);
      host = latin1(b.subarray(end, nameEnd));
      addressType = 'domain';
      end = nameEnd + 1;
    }
    if (port === 0) throw new SocksError('destination port 0', reject);
    this.phase = 'done';
    return { send: null, request: { version: 4, addressType, host, port }, rest: this.consume(end) };
  }

  /** The method selection reply, or null until the whole greeting is here. */
  private socks5Greeting(): Uint8Array | null {
    const b = this.buf;
    if (b.length < 2) return null;
    const n = b[1]!;
    if (n === 0) throw new SocksError('SOCKS 5 greeting offers no method', Uint8Array.of(5, SOCKS5_NO_ACCEPTABLE_METHOD));
    if (b.length < 2 + n) return null;
    const methods = b.subarray(2, 2 + n);
    if (!methods.includes(SOCKS5_NO_AUTH)) throw new SocksError('SOCKS 5 client does not offer "no authentication"', Uint8Array.of(5, SOCKS5_NO_ACCEPTABLE_METHOD));
    this.buf = this.buf.slice(2 + n);
    return Uint8Array.of(5, SOCKS5_NO_AUTH);
  }

  private socks5Request(): SocksStep {
    const b = this.buf;
    const none = { send: null, request: null, rest: new Uint8Array(0) };
    if (b.length < 5) return none;
    if (b[0] !== 5) throw new SocksError(`SOCKS 5 request with version ${b[0]}`, socks5Reply(SOCKS5_REPLY.general));
    if (b[1] !== CMD_CONNECT) throw new SocksError(`SOCKS 5 command ${b[1]} is not supported (only CONNECT)`, socks5Reply(SOCKS5_COMMAND_NOT_SUPPORTED));
    if (b[2] !== 0) throw new SocksError('SOCKS 5 request with a non-zero reserved byte', socks5Reply(SOCKS5_REPLY.general));
    let addrEnd: number;
    let host: string;
    let addressType: SocksRequest['addressType'];
    switch (b[3]) {
      case 1:
        addrEnd = 8;
        if (b.length < addrEnd + 2) return none;
        host = `${b[4]}.${b[5]}.${b[6]}.${b[7]}`;
        addressType = 'ipv4';
        break;
      case 3: {
        const len = b[4]!;
        if (len === 0) throw new SocksError('SOCKS 5 request with an empty host name', socks5Reply(SOCKS5_REPLY.general));
        addrEnd = 5 + len;
        if (b.length < addrEnd + 2) return none;
        host = latin1(b.subarray(5, addrEnd));
        addressType = 'domain';
        break;
      }
      case 4:
        addrEnd = 20;
        if (b.length < addrEnd + 2) return none;
        host = ipv6Text(b.subarray(4, 20));
        addressType = 'ipv6';
        break;
      default:
        throw new SocksError(`SOCKS 5 address type ${b[3]} is not supported`, socks5Reply(SOCKS5_ADDRESS_TYPE_NOT_SUPPORTED));
    }
    const port = (b[addrEnd]! << 8) | b[addrEnd + 1]!;
    if (port === 0) throw new SocksError('destination port 0', socks5Reply(SOCKS5_REPLY.general));
    this.phase = 'done';
    return { send: null, request: { version: 5, addressType, host, port }, rest: this.consume(addrEnd + 2) };
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** Index of the NUL ending the string at `from`, -1 if not yet here; too long a string throws. */
function nulAt(b: Uint8Array, from: number, reject: Uint8Array, what: string): number {
  const end = b.indexOf(0, from);
  if ((end < 0 ? b.length : end) - from > MAX_SOCKS4_STRING) throw new SocksError(`SOCKS 4 ${what} longer than ${MAX_SOCKS4_STRING} bytes`, reject);
  return end;
}

/** Names travel as bytes; one char per byte keeps any byte the client sent, unchanged. */
function latin1(b: Uint8Array): string {
  let s = '';
  for (const c of b) s += String.fromCharCode(c);
  return s;
}

function ipv6Text(b: Uint8Array): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((b[i]! << 8) | b[i + 1]!).toString(16));
  return groups.join(':');
}
