// Reads with room for their DATA reply's header. A FileSystem may return a
// READ's data as a view with DATA_HEAD bytes free before it in its buffer
// (marked here with `withHeadRoom`): the server writes the reply's header
// into those bytes and sends header and data as one piece, with no copy to
// join them and one channel write instead of two. Views not marked get
// their header as a buffer of its own, as before.
import { writeDataReplyHeader } from './messages.js';

/** Bytes of a DATA reply before its data: length, type, request id, data length. */
export const DATA_HEAD = 13;

const ROOM = new WeakSet<Uint8Array>();

/**
 * Marks `data` (a read's result) as having DATA_HEAD bytes before it in its
 * buffer that nothing else uses or will read: the reply may overwrite them.
 */
export function withHeadRoom<T extends Uint8Array>(data: T): T {
  if (data.byteOffset >= DATA_HEAD) ROOM.add(data);
  return data;
}

/**
 * The whole DATA reply for `data`, header written into the room before it,
 * or null when `data` has no room marked.
 */
export function replyInPlace(id: number, data: Uint8Array): Uint8Array | null {
  if (!ROOM.has(data)) return null;
  ROOM.delete(data);
  const whole = new Uint8Array(data.buffer, data.byteOffset - DATA_HEAD, DATA_HEAD + data.length);
  writeDataReplyHeader(whole, id, data.length);
  return whole;
}
