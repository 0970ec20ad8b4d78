// The SFTP server's handle table: the opaque handles it gives clients (four
// bytes, never reused while open) and what each stands for, a file or a
// directory of the driver's, with the state the session keeps per handle
// (operations in flight, a CLOSE waiting for them, ordered writes, a
// directory's entries not yet sent).
import { MAX_PACKET } from './constants.js';
import type { DirectoryHandle, FileHandle } from './filesystem.js';
import type { NameEntry } from './messages.js';

/** Entries in one NAME reply at most (sftp-server sends 100). */
const NAME_ENTRIES = 100;
/** Bytes of names in one NAME reply at most, well under the packet limit. */
const NAME_BYTES = MAX_PACKET - 16 * 1024;

export interface HandleBase {
  readonly handle: Uint8Array;
  readonly path: string;
  /** Operations running on it; a CLOSE waits for them. */
  inflight: number;
  /** Set by CLOSE: runs once nothing is in flight. */
  closing: (() => void) | null;
}
export interface FileEntry extends HandleBase {
  readonly kind: 'file';
  readonly object: FileHandle;
  bytesRead: number;
  bytesWritten: number;
  /** Opened to append: every write runs alone, in order. */
  readonly append: boolean;
  /** Byte ranges of the writes in flight. */
  readonly writing: WriteRange[];
  /** A change that runs alone (fsetstat, fsync, copy-data, an appending write) is in flight. */
  exclusive: boolean;
  /** Changes waiting for their turn, in arrival order. */
  readonly queued: QueuedChange[];
}
export interface DirEntry extends HandleBase {
  readonly kind: 'dir';
  readonly object: DirectoryHandle;
  backlog: NameEntry[];
  done: boolean;
  reading: boolean;
  readonly waiting: number[];
}
export type Entry = FileEntry | DirEntry;

/** The bytes [start, end) a WRITE changes. */
export interface WriteRange {
  readonly start: number;
  readonly end: number;
}

/** A change to a file waiting for its turn: `range` for a write that may run alongside others, null to run alone. */
export interface QueuedChange {
  readonly range: WriteRange | null;
  start(): void;
}

/** Writes to one handle in flight at once at most. */
export const WRITES_AT_ONCE = 16;

/** Whether a change may start now on `e`. */
export function canStart(e: FileEntry, range: WriteRange | null): boolean {
  if (e.exclusive) return false;
  if (range === null) return e.writing.length === 0;
  return e.writing.length < WRITES_AT_ONCE && e.writing.every((w) => range.end <= w.start || w.end <= range.start);
}

/** Open handles by their bytes. */
export class HandleTable {
  private readonly entries = new Map<number | string, Entry>();
  private next = 1;

  get size(): number {
    return this.entries.size;
  }

  get(handle: Uint8Array): Entry | undefined {
    return this.entries.get(key(handle));
  }

  /** A handle no open entry has. */
  newHandle(): Uint8Array {
    for (;;) {
      const n = this.next;
      this.next = (this.next + 1) >>> 0 || 1;
      const h = new Uint8Array([n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]);
      if (!this.entries.has(key(h))) return h;
    }
  }

  add(e: Entry): void {
    this.entries.set(key(e.handle), e);
  }

  delete(e: Entry): void {
    this.entries.delete(key(e.handle));
  }

  /** Removes and returns every entry. */
  drain(): Entry[] {
    const all = [...this.entries.values()];
    this.entries.clear();
    return all;
  }
}

/** Entries for one NAME reply from a directory's backlog: at most 100, and well under the packet limit. */
export function takeNames(e: DirEntry): NameEntry[] {
  let bytes = 0;
  let n = 0;
  while (n < e.backlog.length && n < NAME_ENTRIES) {
    const x = e.backlog[n]!;
    // lengths in UTF-16 units bound the UTF-8 bytes within 3x; attributes are under 64 bytes
    const size = 3 * (x.filename.length + x.longname.length) + 80;
    if (n > 0 && bytes + size > NAME_BYTES) break;
    bytes += size;
    n++;
  }
  const out = e.backlog.slice(0, n);
  e.backlog = e.backlog.slice(n);
  return out;
}

/**
 * A handle's key in the table: the number its 4 bytes spell (every handle
 * this server gives out is 4 bytes; no string to build and hash for each
 * request), else a string of its bytes (a client's handle of another
 * length, which matches none of ours).
 */
function key(handle: Uint8Array): number | string {
  if (handle.length === 4) return ((handle[0]! << 24) | (handle[1]! << 16) | (handle[2]! << 8) | handle[3]!) >>> 0;
  let s = '';
  for (const b of handle) s += String.fromCharCode(b);
  return s;
}
