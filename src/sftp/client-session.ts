// The client side of an SFTP session, sans-I/O: it writes INIT, reads
// VERSION, hands out request ids, keeps the table of requests awaiting a
// reply, and matches each reply to its request. Bytes go out through the
// `output` function given to it and come in through `receive`; what to do
// with a reply is the caller's callback. A reply to an id nobody asked
// about, or of a type its request cannot have, or a packet that does not
// parse, is a ProtocolError that fails the whole session: every request
// still waiting gets it, and nothing more is sent.
import { ProtocolError } from '../errors.js';
import { FXP, MAX_HANDLE, MAX_PATH, MAX_RECEIVE_PACKET, SFTP_VERSION } from './constants.js';
import { FxpInit, FxpVersion, decodeResponse, encodeRequest, writeRequestHeader, type SftpRequest, type SftpResponse } from './messages.js';
import { frame } from './framing.js';
import { SftpReplyReader, type ReceivedPacket } from './client-receiver.js';

/** A request without its id: the session numbers it. */
export type SftpRequestBody = SftpRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

/** The reply types a request accepts besides STATUS (which every request may get). */
export type SftpReplyKind = Exclude<SftpResponse['type'], 'status'> | 'status';

/** Called with a request's reply, or with the error that ended the session before one came. */
export type SftpReplyHandler = (reply: SftpResponse | null, error?: Error) => void;

/**
 * A READ's DATA reply as the pieces of received chunks it lies in (not
 * copied together), with their total length.
 */
export type SftpDataHandler = (pieces: Uint8Array[], length: number) => void;

/** What a request's reply may be, by request type; `extended` depends on the extension (the caller says). */
const DEFAULT_REPLY: Readonly<Record<Exclude<SftpRequestBody['type'], 'extended'>, SftpReplyKind>> = {
  open: 'handle',
  opendir: 'handle',
  close: 'status',
  write: 'status',
  setstat: 'status',
  fsetstat: 'status',
  remove: 'status',
  mkdir: 'status',
  rmdir: 'status',
  rename: 'status',
  symlink: 'status',
  read: 'data',
  readdir: 'name',
  realpath: 'name',
  readlink: 'name',
  stat: 'attrs',
  lstat: 'attrs',
  fstat: 'attrs',
};

interface Pending {
  readonly expect: SftpReplyKind;
  readonly type: string;
  /** Every reply but a DATA that `onData` takes. */
  readonly handler: SftpReplyHandler;
  readonly onData: SftpDataHandler | undefined;
}

export interface SftpServerHello {
  readonly version: number;
  /** Extension name → its data, in the order the server announced them. */
  readonly extensions: ReadonlyMap<string, Uint8Array>;
}

export class SftpClientSession {
  private readonly reader = new SftpReplyReader(MAX_RECEIVE_PACKET);
  private readonly onPacket = (p: ReceivedPacket): void => this.packet(p);
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private helloSeen = false;
  private failure: Error | null = null;
  /** Called once with the server's VERSION. */
  onHello: (hello: SftpServerHello) => void = () => undefined;
  /** Called once when the session fails (a protocol error, or `close`). */
  onFailure: (error: Error) => void = () => undefined;

  /** `output` takes framed bytes to send, in order; it must not keep a buffer it is given past sending it. */
  constructor(private readonly output: (bytes: Uint8Array) => void) {}

  /** The error that ended the session, or null while it works. */
  get error(): Error | null {
    return this.failure;
  }

  /** Requests awaiting a reply. */
  get outstanding(): number {
    return this.pending.size;
  }

  /** Sends INIT (version 3, no extensions: OpenSSH's client sends none). */
  start(): void {
    this.output(frame(FxpInit.encode({ version: SFTP_VERSION, extensions: [] })));
  }

  /**
   * Sends a request; `handler` gets its reply (a STATUS, or the type
   * `expect` names — by default the one the request's type has). Returns
   * the request id. After a failure, `handler` is called at once with it.
   */
  request(body: SftpRequestBody, handler: SftpReplyHandler, expect?: SftpReplyKind): number {
    const id = this.register(body.type, expect ?? (body.type === 'extended' ? 'status' : DEFAULT_REPLY[body.type]), handler);
    if (id < 0) return id;
    this.output(frame(encodeRequest({ ...body, id } as SftpRequest)));
    return id;
  }

  /**
   * Sends a WRITE without copying `data`: the framed header, then `data`
   * itself as a second piece of output.
   */
  write(handle: Uint8Array, offset: number, data: Uint8Array, handler: SftpReplyHandler): number {
    const id = this.register('write', 'status', handler);
    if (id < 0) return id;
    this.output(writeRequestHeader(id, handle, offset, data.length));
    if (data.length > 0) this.output(data);
    return id;
  }

  /**
   * Sends a READ, framed directly (the request of the download loop: no
   * intermediate object or copy).
   */
  read(handle: Uint8Array, offset: number, length: number, handler: SftpReplyHandler, onData?: SftpDataHandler): number {
    const id = this.register('read', 'data', handler, onData);
    if (id < 0) return id;
    const b = new Uint8Array(4 + 1 + 4 + 4 + handle.length + 8 + 4);
    const v = new DataView(b.buffer);
    v.setUint32(0, b.length - 4);
    b[4] = FXP.READ;
    v.setUint32(5, id);
    v.setUint32(9, handle.length);
    b.set(handle, 13);
    const at = 13 + handle.length;
    // offset < 2^53: high and low words without a BigInt
    v.setUint32(at, Math.floor(offset / 0x1_0000_0000));
    v.setUint32(at + 4, offset >>> 0);
    v.setUint32(at + 8, length);
    this.output(b);
    return id;
  }

  /** Takes bytes from the channel; replies are handed to their handlers before this returns. */
  receive(chunk: Uint8Array): void {
    if (this.failure) return;
    try {
      this.reader.push(chunk, this.onPacket);
    } catch (err) {
      this.fail(err instanceof Error ? err : new ProtocolError(String(err)));
    }
  }

  private packet(p: ReceivedPacket): void {
    // After a failure the rest of the chunk is not looked at.
    if (this.failure) return;
    if (p.kind === 'data') this.data(p.id, p.pieces, p.length);
    else if (!this.helloSeen) this.hello(p.payload);
    else this.dispatch(p.payload);
  }

  /** Ends the session: every waiting request gets `error`. */
  close(error: Error): void {
    this.fail(error);
  }

  private register(type: string, expect: SftpReplyKind, handler: SftpReplyHandler, onData?: SftpDataHandler): number {
    if (this.failure) {
      handler(null, this.failure);
      return -1;
    }
    // ids wrap at 2^32; one still waiting is skipped (never two requests with one id).
    let id = this.nextId;
    while (this.pending.has(id)) id = (id + 1) >>> 0;
    this.nextId = (id + 1) >>> 0;
    this.pending.set(id, { expect, type, handler, onData });
    return id;
  }

  private hello(payload: Uint8Array): void {
    if (payload[0] !== FXP.VERSION) throw new ProtocolError(`SFTP: expected VERSION, got packet type ${payload[0]}`);
    const v = FxpVersion.decode(payload);
    if (v.version < SFTP_VERSION) throw new ProtocolError(`SFTP: the server speaks version ${v.version}, not ${SFTP_VERSION}`);
    this.helloSeen = true;
    const extensions = new Map<string, Uint8Array>();
    for (const [name, data] of v.extensions) if (!extensions.has(name)) extensions.set(name, data);
    this.onHello({ version: Math.min(v.version, SFTP_VERSION), extensions });
  }

  /** A DATA reply, its body in pieces. */
  private data(id: number, pieces: Uint8Array[], length: number): void {
    if (!this.helloSeen) throw new ProtocolError('SFTP: expected VERSION, got packet type 103');
    const p = this.pending.get(id);
    if (p === undefined) throw new ProtocolError(`SFTP: a data reply to id ${id}, which no request has`);
    if (p.expect !== 'data') throw new ProtocolError(`SFTP: a data reply to ${p.type} request ${id} (expected ${p.expect} or status)`);
    this.pending.delete(id);
    if (p.onData) return p.onData(pieces, length);
    p.handler({ type: 'data', id, data: joined(pieces, length) });
  }

  private dispatch(payload: Uint8Array): void {
    if (payload[0] === FXP.VERSION) throw new ProtocolError('SFTP: a second VERSION');
    const reply = quickReply(payload) ?? decodeResponse(payload);
    const p = this.pending.get(reply.id);
    if (p === undefined) throw new ProtocolError(`SFTP: a ${reply.type} reply to id ${reply.id}, which no request has`);
    if (reply.type !== 'status' && reply.type !== p.expect) {
      throw new ProtocolError(`SFTP: a ${reply.type} reply to ${p.type} request ${reply.id} (expected ${p.expect} or status)`);
    }
    this.pending.delete(reply.id);
    p.handler(reply);
  }

  private fail(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    const waiting = [...this.pending.values()];
    this.pending.clear();
    for (const p of waiting) p.handler(null, error);
    this.onFailure(error);
  }
}

const lenientUtf8 = new TextDecoder('utf-8');

function u32(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}

/**
 * The replies every file gets, read without the schema decoder: a STATUS
 * with an empty language tag (what servers send) and a HANDLE, when the
 * packet is exactly that and nothing else. Returns null for anything else,
 * which `decodeResponse` then reads (and refuses, if it is malformed); what
 * this returns is what `decodeResponse` would (a test holds them equal).
 */
export function quickReply(p: Uint8Array): SftpResponse | null {
  const n = p.length;
  if (n < 9) return null;
  const id = u32(p, 1);
  if (p[0] === FXP.STATUS) {
    if (n < 17) return null;
    const length = u32(p, 9);
    if (length > MAX_PATH || n !== 17 + length || u32(p, 13 + length) !== 0) return null;
    return { type: 'status', id, code: u32(p, 5), text: { message: length === 0 ? '' : lenientUtf8.decode(p.subarray(13, 13 + length)), lang: '' } };
  }
  if (p[0] === FXP.HANDLE) {
    const length = u32(p, 5);
    if (length > MAX_HANDLE || n !== 9 + length) return null;
    return { type: 'handle', id, handle: p.subarray(9, 9 + length) };
  }
  return null;
}

/** Pieces as one array (a copy only when there are several). */
export function joined(pieces: readonly Uint8Array[], length: number): Uint8Array {
  if (pieces.length === 1) return pieces[0]!;
  const out = new Uint8Array(length);
  let at = 0;
  for (const p of pieces) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
