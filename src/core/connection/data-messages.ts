// The send side's limits on channel data, and CHANNEL_DATA /
// CHANNEL_EXTENDED_DATA heads built directly: these are the hot path.
import { MSG_CONNECTION as M } from '../../messages/connection.js';
import { putUint32 } from '../../wire/bytes.js';

/**
 * The smallest maximum packet size we accept from a peer. Every packet costs a
 * fixed amount of work (framing, a cipher context, a MAC), so a peer that
 * allows 1-byte packets makes each byte we send cost that much; below this
 * floor a channel is refused (incoming) or closed at once (outgoing).
 * Implementations in use allow 16-32 KiB (OpenSSH, PuTTY, Go, libssh2, ssh2).
 */
export const MIN_PEER_MAX_PACKET = 1024;
/**
 * Data bytes one `write` call sends at most, however large the peer's window:
 * the work one call does (and so one turn of the caller's event loop) stays
 * bounded, and other channels and connections get their turn in between.
 */
export const WRITE_CALL_LIMIT = 256 * 1024;
/**
 * Data bytes per message never exceed this, whatever the peer's max packet:
 * implementations refuse packets much over 256 KiB (OpenSSH's PACKET_MAX_SIZE),
 * and a peer advertising a larger max packet does not lift that.
 */
export const SEND_CHUNK_CAP = 128 * 1024;

const EMPTY = new Uint8Array(0);

/**
 * CHANNEL_DATA / CHANNEL_EXTENDED_DATA up to the data's length field; the
 * data follows as the payload's tail. `prefix`: the first bytes of the data,
 * carried in the head (small; the rest follows as the tail).
 */
export function encodeDataHead(recipient: number, length: number, dataType: number | undefined, prefix: Uint8Array = EMPTY): Uint8Array {
  const extended = dataType !== undefined;
  const headLength = extended ? 13 : 9;
  const out = new Uint8Array(headLength + prefix.length);
  out[0] = extended ? M.CHANNEL_EXTENDED_DATA : M.CHANNEL_DATA;
  putUint32(out, 1, recipient);
  if (extended) putUint32(out, 5, dataType);
  putUint32(out, headLength - 4, length);
  if (prefix.length > 0) out.set(prefix, headLength);
  return out;
}
