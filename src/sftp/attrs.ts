// SFTP's ATTRS: a flags word, then the groups its bits announce. Declared
// with the schema's `flagged` combinator; the public shape is flat, with
// sizes and times as numbers.
import { ProtocolError } from '../errors.js';
import { f, type Field } from '../messages/schema.js';
import { ATTR } from './constants.js';

/** A file's attributes as SFTP v3 carries them; absent fields were not sent. */
export interface FileAttributes {
  size?: number;
  uid?: number;
  gid?: number;
  /** st_mode: type bits and permission bits (`0o100644` for a regular file). */
  mode?: number;
  /** Seconds since the epoch. */
  atime?: number;
  mtime?: number;
  /** Name/value pairs of the EXTENDED group. */
  extended?: [string, Uint8Array][];
}

/** A uint64 read as a number, refused past 2^53 (no file or offset is that large). */
export function u64(): Field<number> {
  return {
    kind: 'uint64',
    minBytes: 8,
    toEnd: false,
    read(r, path) {
      const v = r.uint64(path);
      if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ProtocolError(`${path}: ${v} is too large`);
      return Number(v);
    },
    write(w, v) {
      if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`uint64 field: ${v} is not a non-negative integer`);
      w.uint64(BigInt(v));
    },
  };
}

const MAX_EXTENDED_ATTRS = 1024;

const wireAttrs = f.flagged({
  size: f.ifSet(ATTR.SIZE, u64()),
  owner: f.ifSet(ATTR.UIDGID, f.struct({ uid: f.uint32(), gid: f.uint32() })),
  mode: f.ifSet(ATTR.PERMISSIONS, f.uint32()),
  times: f.ifSet(ATTR.ACMODTIME, f.struct({ atime: f.uint32(), mtime: f.uint32() })),
  extended: f.ifSet(ATTR.EXTENDED, f.list(f.tuple(f.text(1024), f.bytes(64 * 1024)), MAX_EXTENDED_ATTRS)),
});

/**
 * The ATTRS field. uid and gid travel together, as do atime and mtime: a
 * value with only one of a pair is written with the other as 0 is not what a
 * caller means, so encoding refuses it.
 */
export const attrsField: Field<FileAttributes> = {
  kind: 'attrs',
  minBytes: wireAttrs.minBytes,
  toEnd: false,
  read(r, path) {
    const w = wireAttrs.read(r, path);
    const out: FileAttributes = {};
    if (w.size !== undefined) out.size = w.size;
    if (w.owner !== undefined) {
      out.uid = w.owner.uid;
      out.gid = w.owner.gid;
    }
    if (w.mode !== undefined) out.mode = w.mode;
    if (w.times !== undefined) {
      out.atime = w.times.atime;
      out.mtime = w.times.mtime;
    }
    if (w.extended !== undefined) out.extended = w.extended;
    return out;
  },
  write(w, a) {
    if ((a.uid === undefined) !== (a.gid === undefined)) throw new RangeError('ATTRS: uid and gid must be given together');
    if ((a.atime === undefined) !== (a.mtime === undefined)) throw new RangeError('ATTRS: atime and mtime must be given together');
    wireAttrs.write(w, {
      size: a.size,
      owner: a.uid === undefined ? undefined : { uid: a.uid >>> 0, gid: a.gid! >>> 0 },
      mode: a.mode,
      times: a.atime === undefined ? undefined : { atime: Math.floor(a.atime) >>> 0, mtime: Math.floor(a.mtime!) >>> 0 },
      extended: a.extended,
    });
  },
};

/** st_mode's type bits. */
export const S_IFMT = 0o170000;
export const S_IFDIR = 0o040000;
export const S_IFREG = 0o100000;
export const S_IFLNK = 0o120000;

export function isDirectory(a: FileAttributes): boolean {
  return a.mode !== undefined && (a.mode & S_IFMT) === S_IFDIR;
}
export function isRegularFile(a: FileAttributes): boolean {
  return a.mode !== undefined && (a.mode & S_IFMT) === S_IFREG;
}
export function isSymbolicLink(a: FileAttributes): boolean {
  return a.mode !== undefined && (a.mode & S_IFMT) === S_IFLNK;
}
