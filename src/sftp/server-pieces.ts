// A WRITE that spans channel chunks, taken from the framer as the list of its
// pieces (SftpFramer.nextPieces) and read without joining them: its header
// from a copy of its first bytes, its data as views of the pieces after it.
// Used by the server session when its `writePieces` option is set.
import { FXP, MAX_HANDLE } from './constants.js';

/** A WRITE read from its pieces. */
export interface PieceWrite {
  readonly id: number;
  readonly handle: Uint8Array;
  readonly offset: number;
  /** The data: views of the pieces, in order. */
  readonly data: Uint8Array[];
}

/**
 * The WRITE in `pieces`, or null for anything else, or for a WRITE this
 * does not read the way decodeRequest would (a handle over MAX_HANDLE, an
 * offset past 2^53, a data length that does not end the packet, more than
 * MAX_PIECES pieces): the session joins those and decodes them as any
 * packet, so they get the same reply.
 */
export function pieceWrite(pieces: readonly Uint8Array[]): PieceWrite | null {
  const first = pieces[0];
  if (first === undefined || first[0] !== FXP.WRITE || pieces.length > MAX_PIECES) return null;
  const total = byteLength(pieces);
  const head = copyHead(pieces, Math.min(total, 1 + 4 + 4 + MAX_HANDLE + 8 + 4));
  if (head.length < 9) return null;
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const handleLength = view.getUint32(5);
  const dataAt = 9 + handleLength + 12;
  if (handleLength > MAX_HANDLE || dataAt > head.length) return null;
  const high = view.getUint32(9 + handleLength);
  if (high > 0x1fffff) return null;
  const offset = high * 0x1_0000_0000 + view.getUint32(13 + handleLength);
  if (view.getUint32(17 + handleLength) !== total - dataAt) return null;
  return { id: view.getUint32(1), handle: head.slice(9, 9 + handleLength), offset, data: piecesFrom(pieces, dataAt) };
}

/** Packets at least this long that span channel chunks come from the framer in pieces when `writePieces` is set (a 32 KiB WRITE always spans two). */
export const PIECES_FROM = 1024;
/** A WRITE in more pieces than this (a peer sending tiny channel packets) is joined: writev(2) takes at most 1024. */
const MAX_PIECES = 64;

export function byteLength(data: Uint8Array | readonly Uint8Array[]): number {
  if (!Array.isArray(data)) return (data as Uint8Array).length;
  let n = 0;
  for (const p of data as readonly Uint8Array[]) n += p.length;
  return n;
}

/** The pieces as one buffer from `allocate`. */
export function joined(pieces: readonly Uint8Array[], allocate: (size: number) => Uint8Array): Uint8Array {
  const out = allocate(byteLength(pieces));
  let at = 0;
  for (const p of pieces) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A copy of the first `n` bytes of the pieces (n at most their total). */
function copyHead(pieces: readonly Uint8Array[], n: number): Uint8Array {
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of pieces) {
    if (at >= n) break;
    const part = Math.min(p.length, n - at);
    out.set(p.subarray(0, part), at);
    at += part;
  }
  return out;
}

/** The pieces from byte `skip` of the whole on, as views. */
export function piecesFrom(pieces: readonly Uint8Array[], skip: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const p of pieces) {
    if (skip >= p.length) {
      skip -= p.length;
      continue;
    }
    out.push(skip > 0 ? p.subarray(skip) : p);
    skip = 0;
  }
  return out;
}
