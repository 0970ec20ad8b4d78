// The requests every transfer is made of (READ, WRITE, CLOSE, FSTAT), read
// straight from their bytes, and the replies most requests get (STATUS with
// its standard text, HANDLE) written straight into their frame. The general
// codec (messages.ts: the schemas, a BigInt per uint64, a Writer and then a
// copy into the frame) cost about as much as the rest of such a request's handling
// in the session. Anything these do not read exactly as decodeRequest would
// is left to it (null), so every request gets the reply it got before.
import { FXP, MAX_HANDLE, STATUS_TEXT } from './constants.js';
import { frame } from './framing.js';
import { encodeResponse, type SftpRequest } from './messages.js';

type HotRequest = Extract<SftpRequest, { type: 'read' | 'write' | 'close' | 'fstat' }>;

/**
 * READ, WRITE, CLOSE or FSTAT from `payload`, or null for any other packet
 * and for one of these with a handle over MAX_HANDLE, an offset past 2^53,
 * a short packet or bytes after its last field (decodeRequest then gives
 * the error it gives). The handle and WRITE's data are views of `payload`,
 * as decodeRequest's are.
 */
export function hotRequest(payload: Uint8Array): HotRequest | null {
  const type = payload[0];
  if (type !== FXP.READ && type !== FXP.WRITE && type !== FXP.CLOSE && type !== FXP.FSTAT) return null;
  const n = payload.length;
  if (n < 9) return null;
  const id = u32(payload, 1);
  const handleLength = u32(payload, 5);
  if (handleLength > MAX_HANDLE) return null;
  const at = 9 + handleLength;
  if (at > n) return null;
  const handle = payload.subarray(9, at);
  if (type === FXP.CLOSE || type === FXP.FSTAT) {
    if (at !== n) return null;
    return type === FXP.CLOSE ? { type: 'close', id, handle } : { type: 'fstat', id, handle };
  }
  if (at + 8 > n) return null;
  const high = u32(payload, at);
  if (high > 0x1fffff) return null;
  const offset = high * 0x1_0000_0000 + u32(payload, at + 4);
  if (type === FXP.READ) {
    if (at + 12 !== n) return null;
    return { type: 'read', id, handle, offset, length: u32(payload, at + 8) };
  }
  if (at + 12 > n || u32(payload, at + 8) !== n - at - 12) return null;
  return { type: 'write', id, handle, offset, data: payload.subarray(at + 12) };
}

function u32(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}

function putU32(b: Uint8Array, at: number, v: number): void {
  b[at] = v >>> 24;
  b[at + 1] = (v >>> 16) & 0xff;
  b[at + 2] = (v >>> 8) & 0xff;
  b[at + 3] = v & 0xff;
}

/** Framed STATUS replies with their standard text, id 0, by code: a reply is a copy with its id set. */
const STATUS_FRAMES = new Map<number, Uint8Array>();

/** The framed STATUS reply (length word first) for `id`. */
export function statusFrame(id: number, code: number, message: string): Uint8Array {
  if (message !== STATUS_TEXT[code]) return frame(encodeResponse({ type: 'status', id, code, text: { message, lang: '' } }));
  let template = STATUS_FRAMES.get(code);
  if (template === undefined) {
    template = frame(encodeResponse({ type: 'status', id: 0, code, text: { message, lang: '' } }));
    STATUS_FRAMES.set(code, template);
  }
  const out = template.slice();
  putU32(out, 5, id);
  return out;
}

/** The framed HANDLE reply for `id`. */
export function handleFrame(id: number, handle: Uint8Array): Uint8Array {
  const out = new Uint8Array(13 + handle.length);
  putU32(out, 0, 9 + handle.length);
  out[4] = FXP.HANDLE;
  putU32(out, 5, id);
  putU32(out, 9, handle.length);
  out.set(handle, 13);
  return out;
}
