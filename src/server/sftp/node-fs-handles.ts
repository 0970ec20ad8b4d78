// The open file and directory handles of NodeFileSystem. A file handle is a
// plain descriptor driven with node:fs's callback calls: one promise per
// operation (the FileSystem interface's), none inside it, and no FileHandle
// object with its finalizer per open file (the session closes every handle
// it opened, at CLOSE or when it ends).
import { close, closeSync, fchmod, fchown, fstat, fstatSync, fsync, ftruncate, futimes, lstat, read, readSync, write, writeSync, writev, writevSync, type Dir, type Dirent, type Stats } from 'node:fs';
import { statfs } from 'node:fs/promises';
import type { FileAttributes } from '../../sftp/attrs.js';
import type { DirectoryEntry, DirectoryHandle, FileHandle, FileStats } from '../../sftp/filesystem.js';
import type { Statvfs } from '../../sftp/extensions.js';
import { direntName } from '../../io/node/byte-paths.js';
import { clientPathErrors, fsError, restate, toFileStats, toFileStatsWith, toStatvfs } from './node-fs-convert.js';
import type { AccountNames } from './node-fs-users.js';
import { INLINE, INLINE_BYTES } from './node-fs-inline.js';
import { piecesFrom } from '../../sftp/server-pieces.js';
import { DATA_HEAD, withHeadRoom } from '../../sftp/server-headroom.js';

/**
 * The most one read returns. SFTP's READ length is the client's uint32; a
 * server caps it (sftp-server at 256 KiB), and this keeps a FileSystem used
 * without such a server from allocating gigabytes for one request.
 */
export const MAX_READ = 16 * 1024 * 1024;

/**
 * What a read at or past the end the handle last saw asks the kernel for:
 * small enough to come from Node's buffer pool, so the read that finds the
 * end (every download ends with one) allocates nothing of its own.
 */
const PROBE = 1024;

/**
 * A buffer of `size` bytes for a read, with DATA_HEAD bytes of room before
 * it in its memory (server-headroom.ts); small ones from Node's pool.
 */
function readBuffer(size: number): Buffer {
  return Buffer.allocUnsafe(DATA_HEAD + size).subarray(DATA_HEAD);
}

/** Entries per READDIR reply, as sftp-server sends. */
const DIRECTORY_BATCH = 100;

const EMPTY = new Uint8Array(0);

/** WRITEs in a row that go as one writev(2): 256 KiB of sftp's 32 KiB WRITEs (more measured no better). */
const WRITE_BATCH = 8;

interface PendingRead {
  offset: number;
  want: number;
  resolve(data: Uint8Array): void;
  reject(err: unknown): void;
}

interface PendingWrite {
  offset: number;
  /** The data, in order (one buffer, or a WRITE's pieces). */
  pieces: readonly Uint8Array[];
  length: number;
  resolve(): void;
  reject(err: unknown): void;
}

type Callback<T> = (err: NodeJS.ErrnoException | null, value?: T) => void;

/** What the open learned of the file with an fstat (only taken when calls may run inline). */
export interface OpenedFile {
  /** A regular file: its calls may run inline (see node-fs-inline.ts). */
  readonly regular: boolean;
  /** Its size at the open: the end reads are sized by until they find another. */
  readonly size: number;
}

/** Runs a synchronous node:fs call the way a callback one reports: `done(err, value)`. */
function inline<T>(call: () => T, done: (err: NodeJS.ErrnoException | null, value: T) => void): void {
  let value: T;
  try {
    value = INLINE.run(call);
  } catch (err) {
    return done(err as NodeJS.ErrnoException, undefined as T);
  }
  done(null, value);
}

export class NodeFileHandle implements FileHandle {
  /**
   * Where the file ended when this handle last found out (a read that
   * reached the end, or its own writes past it); -1 when unknown. Reads are
   * sized by it (a 4 KiB file read with a 32 KiB request gets a 4 KiB
   * buffer); it is a guess, never trusted for more than a buffer's size: a
   * file that grew since is read on (see read()).
   */
  private end = -1;
  private closed = false;

  constructor(
    private readonly fd: number,
    /** The client's path, for messages. */
    private readonly path: string,
    private readonly names: AccountNames,
    /** Opened to append: where writes land is the kernel's to say. */
    private readonly append = false,
    opened?: OpenedFile,
  ) {
    this.regular = opened?.regular === true;
    if (opened && opened.regular) this.end = opened.size;
  }

  /** A regular file (known from an fstat at the open): small calls may run inline. */
  private readonly regular: boolean;

  /** Runs one callback call on the descriptor, its error restated for the client's path. */
  private call<T>(syscall: string, start: (done: Callback<T>) => void): Promise<T> {
    if (this.closed) return Promise.reject(fsError('EBADF', 'bad file descriptor', syscall, this.path));
    return new Promise<T>((resolve, reject) => start((err, value) => (err ? reject(restate(err, syscall, this.path)) : resolve(value as T))));
  }

  /**
   * Up to `length` bytes at `offset`, in a Buffer allocated for this read
   * (allocUnsafe: filled before anyone sees it) and returned as a view,
   * never copied, with room for the DATA reply's header before it
   * (server-headroom.ts). It is sized to what is left before the end last
   * seen, and the read stops there; at or past that end a small read finds
   * out whether the file has grown. Short reads of the kernel are read on, so fewer bytes
   * than asked mean the end of the file (as this handle last saw it).
   * Reads run at once, each its own call (gathering them into one readv(2)
   * a call at a time measured slower on a quiet machine); on a regular file
   * one of up to INLINE_BYTES runs inline when the gate allows
   * (node-fs-inline.ts).
   */
  read(offset: number, length: number): Promise<Uint8Array> {
    if (this.closed) return Promise.reject(fsError('EBADF', 'bad file descriptor', 'read', this.path));
    const want = Math.min(length, MAX_READ);
    if (want <= 0) return Promise.resolve(EMPTY);
    return new Promise<Uint8Array>((resolve, reject) => this.readOne({ offset, want, resolve, reject }));
  }

  /** One read (see read()). */
  private readOne(r: PendingRead): void {
    const { offset, want } = r;
    const left = this.end < 0 ? want : this.end - offset;
    /** Bytes to the end last seen: the read ends there (when under `want`). */
    const toEnd = left > 0 && left < want;
    let buf = readBuffer(toEnd ? left : left <= 0 ? Math.min(want, PROBE) : want);
    let got = 0;
    const finish = (result: Uint8Array | Error): void => {
      if (result instanceof Error) r.reject(result);
      else r.resolve(result);
    };
    const step = (): void => {
      if (this.regular && buf.length - got <= INLINE_BYTES && INLINE.open) inline(() => readSync(this.fd, buf, got, buf.length - got, offset + got), done);
      else read(this.fd, buf, got, buf.length - got, offset + got, done);
    };
    const done = (err: NodeJS.ErrnoException | null, n: number): void => {
      if (err) return finish(restate(err, 'read', this.path) as Error);
      if (n === 0) {
        // Data then nothing: the end is here. Nothing at all only bounds
        // it (at or before `offset`): kept if it agrees, else forgotten.
        if (got > 0) {
          this.end = offset + got;
          return finish(withHeadRoom(buf.subarray(0, got)));
        }
        if (this.end > offset) this.end = -1;
        return finish(EMPTY);
      }
      got += n;
      if (got < buf.length) return step();
      if (buf.length === want || toEnd) {
        if (this.end >= 0 && offset + got > this.end) this.end = -1;
        return finish(withHeadRoom(buf));
      }
      // A read past the end last seen found data: the file grew. Read on
      // into a buffer of the full size asked.
      this.end = -1;
      const grown = readBuffer(want);
      buf.copy(grown, 0, 0, got);
      buf = grown;
      step();
    };
    step();
  }

  /**
   * Writes all of `data` at `offset`. One write runs on the descriptor at a
   * time; those that come meanwhile wait, and when it is done the waiting
   * ones that continue each other go as one writev(2) (a client's WRITEs of
   * 32 KiB in a row, up to WRITE_BATCH of them). Writes to one file at once
   * would only queue on the file's lock in the kernel, each with a thread
   * of the pool; the session starts only writes to ranges that do not
   * overlap together, so the waiting ones may go in any order. On a
   * regular file, a call of up to INLINE_BYTES runs inline when the gate
   * allows (node-fs-inline.ts): it is done before the next write comes.
   */
  write(offset: number, data: Uint8Array): Promise<void> {
    return this.writePieces(offset, [data], data.length);
  }

  /** Writes the pieces one after another at `offset` (a WRITE that came in several channel chunks), as write() their concatenation. */
  writev(offset: number, pieces: readonly Uint8Array[]): Promise<void> {
    let length = 0;
    for (const p of pieces) length += p.length;
    return this.writePieces(offset, pieces, length);
  }

  private writePieces(offset: number, pieces: readonly Uint8Array[], length: number): Promise<void> {
    if (this.closed) return Promise.reject(fsError('EBADF', 'bad file descriptor', 'write', this.path));
    if (length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.writes.push({ offset, pieces, length, resolve, reject });
      if (!this.writing) this.nextWrite();
    });
  }

  private writes: PendingWrite[] = [];
  private writing = false;

  /** Starts the next batch of waiting writes: the first, and those that continue it. */
  private nextWrite(): void {
    const first = this.writes.shift();
    if (first === undefined) {
      this.writing = false;
      return;
    }
    if (this.closed) {
      // Closed with writes waiting (the session never does this): never on a number another file may have now.
      first.reject(fsError('EBADF', 'bad file descriptor', 'write', this.path));
      return this.nextWrite();
    }
    this.writing = true;
    const batch = [first];
    let end = first.offset + first.length;
    while (!this.append && batch.length < WRITE_BATCH) {
      const i = this.writes.findIndex((w) => w.offset === end);
      if (i < 0) break;
      const w = this.writes.splice(i, 1)[0]!;
      batch.push(w);
      end += w.length;
    }
    const total = end - first.offset;
    let done = 0;
    /** The requests wholly written (of `done` bytes) are settled; the rest get `err`. */
    const settle = (err: unknown): void => {
      let at = 0;
      for (const w of batch) {
        at += w.length;
        if (at <= done) w.resolve();
        else w.reject(err);
      }
      this.nextWrite();
    };
    const written = (err: NodeJS.ErrnoException | null, n: number): void => {
      if (err) return settle(restate(err, 'write', this.path));
      done += n;
      if (done < total) return step();
      if (this.append) this.end = -1;
      else if (this.end >= 0 && end > this.end) this.end = end;
      settle(null);
    };
    const step = (): void => {
      const inlined = this.regular && total - done <= INLINE_BYTES && INLINE.open;
      if (batch.length === 1 && first.pieces.length === 1) {
        const data = first.pieces[0]!;
        if (inlined) return inline(() => writeSync(this.fd, data, done, total - done, first.offset + done), written);
        return void write(this.fd, data, done, total - done, first.offset + done, written);
      }
      const pieces = piecesFrom(batch.length === 1 ? batch[0]!.pieces : batch.flatMap((w) => w.pieces), done);
      if (inlined) return inline(() => writevSync(this.fd, pieces, first.offset + done), written);
      writev(this.fd, pieces, first.offset + done, written);
    };
    step();
  }

  stat(): Promise<FileStats> {
    const run = INLINE.open ? (cb: Callback<Stats>) => inline(() => fstatSync(this.fd), cb) : (cb: Callback<Stats>) => fstat(this.fd, cb);
    return this.call<Stats>('fstat', run).then((s) => toFileStats(s, this.names));
  }

  setstat(attrs: FileAttributes): Promise<void> {
    return clientPathErrors('fsetstat', this.path, async () => {
      // sftp-server's order: size, mode, times, owner.
      if (attrs.size !== undefined) {
        this.end = -1;
        const size = attrs.size;
        await this.call<void>('ftruncate', (cb) => ftruncate(this.fd, size, cb as (err: NodeJS.ErrnoException | null) => void));
      }
      const mode = attrs.mode;
      if (mode !== undefined) await this.call<void>('fchmod', (cb) => fchmod(this.fd, mode & 0o7777, cb));
      const { atime, mtime, uid, gid } = attrs;
      if (atime !== undefined && mtime !== undefined) await this.call<void>('futimes', (cb) => futimes(this.fd, atime, mtime, cb));
      if (uid !== undefined && gid !== undefined) await this.call<void>('fchown', (cb) => fchown(this.fd, uid, gid, cb));
    });
  }

  sync(): Promise<void> {
    return this.call<void>('fsync', (cb) => fsync(this.fd, cb));
  }

  statvfs(): Promise<Statvfs> {
    if (this.closed) return Promise.reject(fsError('EBADF', 'bad file descriptor', 'fstatvfs', this.path));
    // The open file's own file system, through its descriptor (not its name, which may have moved).
    return clientPathErrors('fstatvfs', this.path, async () => toStatvfs(await statfs(`/proc/self/fd/${this.fd}`)));
  }

  /** Closes the descriptor; once only (its number may be another file's after). */
  close(): Promise<void> {
    const p = this.call<void>('close', (cb) => (this.regular && INLINE.open ? inline(() => closeSync(this.fd), cb) : close(this.fd, cb)));
    this.closed = true;
    return p;
  }
}

export interface DirectorySource {
  dir: Dir;
  /** The path that names entry `name` without following it (a Buffer when the name is not UTF-8). */
  entryPath(name: string): string | Buffer;
  /** lstat of the directory and of its parent (`.` and `..`). */
  dots(): Promise<[Stats, Stats]>;
  /** Frees what the listing held besides `dir`. */
  release(): Promise<void>;
}

export class NodeDirectoryHandle implements DirectoryHandle {
  private first = true;
  private ended = false;

  constructor(
    private readonly source: DirectorySource,
    private readonly path: string,
    private readonly names: AccountNames,
  ) {}

  /**
   * Up to DIRECTORY_BATCH entries, each with its lstat. An entry removed
   * between the directory read and its lstat is left out, as sftp-server
   * leaves it. Names are read as bytes (the source's Dir is opened with
   * opendirBytes) and a name that is not UTF-8 is listed with its bytes
   * escaped (src/wire/path-bytes.ts), which reach the file when sent back.
   */
  read(): Promise<DirectoryEntry[] | null> {
    return clientPathErrors('readdir', this.path, async () => {
      const tables = await this.names.load();
      const out: DirectoryEntry[] = [];
      if (this.first) {
        this.first = false;
        const [self, parent] = await this.source.dots();
        out.push({ name: '.', stats: toFileStatsWith(self, tables) }, { name: '..', stats: toFileStatsWith(parent, tables) });
      }
      // Until something to send: a batch whose entries all vanished is no reply.
      do {
        const batch = await this.nextEntries(DIRECTORY_BATCH - out.length);
        const names = batch.map(direntName);
        const stats = await lstatAll(names.map((name) => this.source.entryPath(name)));
        for (let i = 0; i < batch.length; i++) {
          const s = stats[i];
          if (s !== undefined) out.push({ name: names[i]!, stats: toFileStatsWith(s, tables) });
        }
      } while (out.length === 0 && !this.ended);
      return out.length === 0 ? null : out;
    });
  }

  /** Up to `max` entries from the directory (callback reads: one promise for the batch, not one per entry). */
  private nextEntries(max: number): Promise<Dirent[]> {
    const batch: Dirent[] = [];
    if (this.ended || max <= 0) return Promise.resolve(batch);
    return new Promise((resolve, reject) => {
      const next = (): void =>
        this.source.dir.read((err, entry) => {
          if (err) return reject(err);
          if (entry === null) this.ended = true;
          else batch.push(entry);
          if (this.ended || batch.length >= max) resolve(batch);
          else next();
        });
      next();
    });
  }

  close(): Promise<void> {
    return clientPathErrors('closedir', this.path, async () => {
      try {
        await this.source.dir.close();
      } finally {
        await this.source.release();
      }
    });
  }
}

/** lstat of every path at once; undefined for one that fails (gone since it was listed). */
function lstatAll(paths: readonly (string | Buffer)[]): Promise<(Stats | undefined)[]> {
  const out = new Array<Stats | undefined>(paths.length);
  if (paths.length === 0) return Promise.resolve(out);
  let waiting = paths.length;
  return new Promise((resolve) => {
    paths.forEach((p, i) =>
      lstat(p, (err, s) => {
        out[i] = err ? undefined : s;
        if (--waiting === 0) resolve(out);
      }),
    );
  });
}
