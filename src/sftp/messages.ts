// Every SFTP v3 packet declared once with the message schemas, so a client
// and a server share one codec. A packet on the channel is `uint32 length`
// then the payload these schemas read and write (`byte type`, `uint32 id`
// for all but INIT and VERSION, then the fields); framing is framing.ts.
// Requests and replies are tagged unions (`SftpRequest`, `SftpResponse`);
// the hot path (READ, WRITE, DATA) also has header-only encoders so a large
// buffer is never copied into a packet.
import { ProtocolError } from '../errors.js';
import { f, message, type Field, type MessageOf, type MessageSchema, type Fields } from '../messages/schema.js';
import { Reader } from '../wire/reader.js';
import { attrsField, u64 } from './attrs.js';
import { FXP, MAX_HANDLE, MAX_PATH, MAX_RECEIVE_PACKET } from './constants.js';
import { pathFromBytes, pathToBytes } from '../wire/path-bytes.js';

const lenientUtf8 = new TextDecoder('utf-8');

/**
 * A path or file name. SFTP v3 paths are bytes; OpenSSH's are whatever the
 * file system holds, nearly always UTF-8 but not always. They are read and
 * written with src/wire/path-bytes.ts: well-formed UTF-8 is the string it spells, and
 * each other byte is carried as a lone surrogate U+DC80..U+DCFF, so a name
 * read from a NAME reply goes back in the next request byte for byte.
 */
export function pathField(limit = MAX_PATH): Field<string> {
  return {
    kind: 'path',
    minBytes: 4,
    toEnd: false,
    read: (r, p) => pathFromBytes(r.string(p, limit)),
    write: (w, v) => {
      if (typeof v !== 'string') throw new TypeError(`path field: expected a string, got ${v === null ? 'null' : typeof v}`);
      w.string(pathToBytes(v));
    },
  };
}

const id = () => f.uint32();
const handle = () => f.bytes(MAX_HANDLE);
const path = () => pathField();
/** Extension pairs of INIT and VERSION, to the end of the packet. */
const extensionPairs = () => f.repeated(f.tuple(f.text(1024), f.bytes(64 * 1024)), 256);

// INIT / VERSION
export const FxpInit = message(FXP.INIT, 'SSH_FXP_INIT', { version: f.uint32(), extensions: extensionPairs() });
export const FxpVersion = message(FXP.VERSION, 'SSH_FXP_VERSION', { version: f.uint32(), extensions: extensionPairs() });

// requests
export const FxpOpen = message(FXP.OPEN, 'SSH_FXP_OPEN', { id: id(), path: path(), pflags: f.uint32(), attrs: attrsField });
export const FxpClose = message(FXP.CLOSE, 'SSH_FXP_CLOSE', { id: id(), handle: handle() });
export const FxpRead = message(FXP.READ, 'SSH_FXP_READ', { id: id(), handle: handle(), offset: u64(), length: f.uint32() });
export const FxpWrite = message(FXP.WRITE, 'SSH_FXP_WRITE', { id: id(), handle: handle(), offset: u64(), data: f.bytes(MAX_RECEIVE_PACKET) });
export const FxpLstat = message(FXP.LSTAT, 'SSH_FXP_LSTAT', { id: id(), path: path() });
export const FxpFstat = message(FXP.FSTAT, 'SSH_FXP_FSTAT', { id: id(), handle: handle() });
export const FxpSetstat = message(FXP.SETSTAT, 'SSH_FXP_SETSTAT', { id: id(), path: path(), attrs: attrsField });
export const FxpFsetstat = message(FXP.FSETSTAT, 'SSH_FXP_FSETSTAT', { id: id(), handle: handle(), attrs: attrsField });
export const FxpOpendir = message(FXP.OPENDIR, 'SSH_FXP_OPENDIR', { id: id(), path: path() });
export const FxpReaddir = message(FXP.READDIR, 'SSH_FXP_READDIR', { id: id(), handle: handle() });
export const FxpRemove = message(FXP.REMOVE, 'SSH_FXP_REMOVE', { id: id(), path: path() });
export const FxpMkdir = message(FXP.MKDIR, 'SSH_FXP_MKDIR', { id: id(), path: path(), attrs: attrsField });
export const FxpRmdir = message(FXP.RMDIR, 'SSH_FXP_RMDIR', { id: id(), path: path() });
export const FxpRealpath = message(FXP.REALPATH, 'SSH_FXP_REALPATH', { id: id(), path: path() });
export const FxpStat = message(FXP.STAT, 'SSH_FXP_STAT', { id: id(), path: path() });
export const FxpRename = message(FXP.RENAME, 'SSH_FXP_RENAME', { id: id(), oldPath: path(), newPath: path() });
export const FxpReadlink = message(FXP.READLINK, 'SSH_FXP_READLINK', { id: id(), path: path() });
/**
 * SYMLINK in OpenSSH's argument order (PROTOCOL 4.1): the link's target
 * first, then the path of the link to create (the draft has them reversed;
 * OpenSSH's order is what every server and client in use speaks).
 */
export const FxpSymlink = message(FXP.SYMLINK, 'SSH_FXP_SYMLINK', { id: id(), targetPath: path(), linkPath: path() });
/** An extension request: its name, then the data of that extension (extensions.ts). */
export const FxpExtended = message(FXP.EXTENDED, 'SSH_FXP_EXTENDED', { id: id(), request: f.text(1024), data: f.rest() });

// replies
/**
 * STATUS. The draft has the message and language tag; a few old servers end
 * the packet after the code, so both are optional when reading (written
 * always, as OpenSSH does).
 */
const statusTail: Field<{ message: string; lang: string }> = {
  kind: 'status-tail',
  minBytes: 0,
  toEnd: true,
  read(r, p) {
    if (r.remaining === 0) return { message: '', lang: '' };
    const msg = lenientUtf8.decode(r.string(`${p}.message`, MAX_PATH));
    const lang = r.remaining === 0 ? '' : r.text(`${p}.lang`, 1024);
    return { message: msg, lang };
  },
  write(w, v) {
    w.string(v.message);
    w.string(v.lang);
  },
};
export const FxpStatus = message(FXP.STATUS, 'SSH_FXP_STATUS', { id: id(), code: f.uint32(), text: statusTail });
export const FxpHandle = message(FXP.HANDLE, 'SSH_FXP_HANDLE', { id: id(), handle: handle() });
export const FxpData = message(FXP.DATA, 'SSH_FXP_DATA', { id: id(), data: f.bytes(MAX_RECEIVE_PACKET) });
/** One entry of NAME: the name, `ls -l`'s line for it (longname), its attributes. */
export const nameEntry = f.struct({ filename: path(), longname: pathField(), attrs: attrsField });
export type NameEntry = MessageOf<typeof nameEntry>;
export const FxpName = message(FXP.NAME, 'SSH_FXP_NAME', { id: id(), names: f.list(nameEntry) });
export const FxpAttrs = message(FXP.ATTRS, 'SSH_FXP_ATTRS', { id: id(), attrs: attrsField });
export const FxpExtendedReply = message(FXP.EXTENDED_REPLY, 'SSH_FXP_EXTENDED_REPLY', { id: id(), data: f.rest() });

type Tagged<T extends string, S> = { type: T } & MessageOf<S>;

/** A request a client sends (everything but INIT, which opens the session). */
export type SftpRequest =
  | Tagged<'open', typeof FxpOpen>
  | Tagged<'close', typeof FxpClose>
  | Tagged<'read', typeof FxpRead>
  | Tagged<'write', typeof FxpWrite>
  | Tagged<'lstat', typeof FxpLstat>
  | Tagged<'fstat', typeof FxpFstat>
  | Tagged<'setstat', typeof FxpSetstat>
  | Tagged<'fsetstat', typeof FxpFsetstat>
  | Tagged<'opendir', typeof FxpOpendir>
  | Tagged<'readdir', typeof FxpReaddir>
  | Tagged<'remove', typeof FxpRemove>
  | Tagged<'mkdir', typeof FxpMkdir>
  | Tagged<'rmdir', typeof FxpRmdir>
  | Tagged<'realpath', typeof FxpRealpath>
  | Tagged<'stat', typeof FxpStat>
  | Tagged<'rename', typeof FxpRename>
  | Tagged<'readlink', typeof FxpReadlink>
  | Tagged<'symlink', typeof FxpSymlink>
  | Tagged<'extended', typeof FxpExtended>;

/** A reply a server sends (everything but VERSION). */
export type SftpResponse =
  | Tagged<'status', typeof FxpStatus>
  | Tagged<'handle', typeof FxpHandle>
  | Tagged<'data', typeof FxpData>
  | Tagged<'name', typeof FxpName>
  | Tagged<'attrs', typeof FxpAttrs>
  | Tagged<'extended-reply', typeof FxpExtendedReply>;

type AnySchema = MessageSchema<Fields>;
const REQUESTS: Readonly<Record<SftpRequest['type'], AnySchema>> = {
  open: FxpOpen as unknown as AnySchema,
  close: FxpClose as unknown as AnySchema,
  read: FxpRead as unknown as AnySchema,
  write: FxpWrite as unknown as AnySchema,
  lstat: FxpLstat as unknown as AnySchema,
  fstat: FxpFstat as unknown as AnySchema,
  setstat: FxpSetstat as unknown as AnySchema,
  fsetstat: FxpFsetstat as unknown as AnySchema,
  opendir: FxpOpendir as unknown as AnySchema,
  readdir: FxpReaddir as unknown as AnySchema,
  remove: FxpRemove as unknown as AnySchema,
  mkdir: FxpMkdir as unknown as AnySchema,
  rmdir: FxpRmdir as unknown as AnySchema,
  realpath: FxpRealpath as unknown as AnySchema,
  stat: FxpStat as unknown as AnySchema,
  rename: FxpRename as unknown as AnySchema,
  readlink: FxpReadlink as unknown as AnySchema,
  symlink: FxpSymlink as unknown as AnySchema,
  extended: FxpExtended as unknown as AnySchema,
};
const RESPONSES: Readonly<Record<SftpResponse['type'], AnySchema>> = {
  status: FxpStatus as unknown as AnySchema,
  handle: FxpHandle as unknown as AnySchema,
  data: FxpData as unknown as AnySchema,
  name: FxpName as unknown as AnySchema,
  attrs: FxpAttrs as unknown as AnySchema,
  'extended-reply': FxpExtendedReply as unknown as AnySchema,
};

function byNumber<T extends string>(table: Readonly<Record<T, AnySchema>>): Map<number, [T, AnySchema]> {
  return new Map((Object.entries(table) as [T, AnySchema][]).map(([t, s]) => [s.number, [t, s]]));
}
const REQUEST_BY_NUMBER = byNumber(REQUESTS);
const RESPONSE_BY_NUMBER = byNumber(RESPONSES);

function encodeTagged(table: Readonly<Record<string, AnySchema>>, value: { type: string }): Uint8Array {
  const schema = table[value.type];
  if (schema === undefined) throw new TypeError(`no SFTP packet type ${value.type}`);
  return schema.encode(value as never);
}

/** The payload of a request packet (without its length word). */
export function encodeRequest(req: SftpRequest): Uint8Array {
  return encodeTagged(REQUESTS, req);
}
export function encodeResponse(res: SftpResponse): Uint8Array {
  return encodeTagged(RESPONSES, res);
}

/**
 * A request packet a server does not know: its type and id (when the packet
 * is long enough to have one), so the server can answer OP_UNSUPPORTED as
 * sftp-server does instead of closing the session.
 */
export class UnknownSftpPacket extends ProtocolError {
  constructor(readonly packetType: number, readonly id: number | undefined) {
    super(`SFTP packet type ${packetType} is not known`);
  }
}

/** The request id of a payload, if it has one (for replying to a malformed request). */
export function peekRequestId(payload: Uint8Array): number | undefined {
  if (payload.length < 5) return undefined;
  return new Reader(payload, 1, 'SFTP packet').uint32('id');
}

function decodeTagged<T extends string>(table: Map<number, [T, AnySchema]>, payload: Uint8Array): { type: T } {
  const type = payload[0];
  if (type === undefined) throw new ProtocolError('SFTP packet: empty');
  const entry = table.get(type);
  if (entry === undefined) throw new UnknownSftpPacket(type, peekRequestId(payload));
  const [tag, schema] = entry;
  return { type: tag, ...(schema.decode(payload) as object) };
}

/** Throws ProtocolError (UnknownSftpPacket for an unknown type) when the payload is malformed. */
export function decodeRequest(payload: Uint8Array): SftpRequest {
  return decodeTagged(REQUEST_BY_NUMBER, payload) as SftpRequest;
}
export function decodeResponse(payload: Uint8Array): SftpResponse {
  return decodeTagged(RESPONSE_BY_NUMBER, payload) as SftpResponse;
}

/**
 * The framed start of a DATA reply, to be followed by `length` data bytes:
 * `uint32 packet-length, byte 103, uint32 id, uint32 length`.
 */
export function dataReplyHeader(id: number, length: number): Uint8Array {
  const b = new Uint8Array(13);
  writeDataReplyHeader(b, id, length);
  return b;
}

/** Writes a DATA reply's 13-byte header (length word, type, id, data length) at the start of `into`. */
export function writeDataReplyHeader(into: Uint8Array, id: number, length: number): void {
  const v = new DataView(into.buffer, into.byteOffset, 13);
  v.setUint32(0, 9 + length);
  into[4] = FXP.DATA;
  v.setUint32(5, id);
  v.setUint32(9, length);
}

/**
 * The framed start of a WRITE request, to be followed by `length` data
 * bytes: length word, type, id, handle, offset, data length.
 */
export function writeRequestHeader(id: number, handleBytes: Uint8Array, offset: number, length: number): Uint8Array {
  const b = new Uint8Array(4 + 1 + 4 + 4 + handleBytes.length + 8 + 4);
  const v = new DataView(b.buffer);
  v.setUint32(0, b.length - 4 + length);
  b[4] = FXP.WRITE;
  v.setUint32(5, id);
  v.setUint32(9, handleBytes.length);
  b.set(handleBytes, 13);
  const at = 13 + handleBytes.length;
  v.setBigUint64(at, BigInt(offset));
  v.setUint32(at + 8, length);
  return b;
}
