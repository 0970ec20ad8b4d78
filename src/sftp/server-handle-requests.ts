// The SFTP server session's requests on handles: OPEN and OPENDIR (under
// the cap of open handles), CLOSE (once the handle's operations are done),
// READ, WRITE (in order per file, see server-scheduler.ts), READDIR (one
// listing read at a time, its entries sent in batches) and copy-data. The
// bytes of READ lengths and WRITE data not yet answered are counted here
// (`held`) for the session's cap. server-session.ts takes the input and
// dispatches to these.
import type { FileAttributes } from './attrs.js';
import { DEFAULT_MAX_READ, FX, FXF } from './constants.js';
import type { OpenMode } from './filesystem.js';
import type { SftpServerSink } from './server-options.js';
import { logPath as q, openFlagsText, type ServerClock } from './server-format.js';
import { HandleTable, takeNames, type DirEntry, type FileEntry } from './server-handles.js';
import { byteLength } from './server-pieces.js';
import { SessionReplies } from './server-replies.js';

export abstract class HandleRequests extends SessionReplies {
  protected readonly handles = new HandleTable();
  /** OPEN/OPENDIR running: they count against the handle cap. */
  private opening = 0;
  /** WRITE data and READ lengths of the requests not yet answered. */
  protected held = 0;

  constructor(
    sink: SftpServerSink,
    clock: ServerClock,
    protected readonly maxHandles: number,
    /** -R: OPEN for writing is refused. */
    private readonly readOnly: boolean,
    private readonly umask: number | null,
  ) {
    super(sink, clock);
  }

  protected open(id: number, path: string, pflags: number, attrs: FileAttributes): void {
    const mode: OpenMode = {
      read: (pflags & FXF.READ) !== 0 || (pflags & FXF.WRITE) === 0,
      write: (pflags & FXF.WRITE) !== 0,
      append: (pflags & FXF.APPEND) !== 0,
      create: (pflags & FXF.CREAT) !== 0,
      truncate: (pflags & FXF.TRUNC) !== 0,
      exclusive: (pflags & FXF.EXCL) !== 0,
    };
    const perm = this.createMode(attrs.mode, 0o666);
    if (this.logsInfo) this.sink.log('info', `open ${q(path)} flags ${openFlagsText(pflags)} mode 0${perm.toString(8)}`);
    if (this.readOnly && (mode.write || mode.create || mode.truncate)) {
      this.sink.log('verbose', 'Refusing open request in read-only mode');
      return this.status(id, FX.PERMISSION_DENIED);
    }
    if (!this.handleRoom(id)) return;
    this.opening++;
    this.run(
      { kind: 'open', id, path, mode, attrs: { mode: perm } },
      (object) => {
        const handle = this.handles.newHandle();
        this.handles.add({ kind: 'file', handle, path, object, append: mode.append, inflight: 0, closing: null, bytesRead: 0, bytesWritten: 0, writing: [], exclusive: false, queued: [] });
        this.handleReply(id, handle);
      },
      () => this.opening--,
    );
  }

  protected opendir(id: number, path: string): void {
    if (this.logsInfo) this.sink.log('info', `opendir ${q(path)}`);
    if (!this.handleRoom(id)) return;
    this.opening++;
    this.run(
      { kind: 'opendir', id, path },
      (object) => {
        const handle = this.handles.newHandle();
        this.handles.add({ kind: 'dir', handle, path, object, inflight: 0, closing: null, backlog: [], done: false, reading: false, waiting: [] });
        this.handleReply(id, handle);
      },
      () => this.opening--,
    );
  }

  private handleRoom(id: number): boolean {
    if (this.handles.size + this.opening < this.maxHandles) return true;
    this.sink.log('error', `Refusing open: ${this.maxHandles} handles are open`);
    this.status(id, FX.FAILURE, `too many open handles (at most ${this.maxHandles})`);
    return false;
  }

  protected close(id: number, handle: Uint8Array): void {
    const e = this.handles.get(handle);
    // sftp-server's handle_close fails with ENOENT for a handle it does not have
    if (!e) return this.status(id, FX.NO_SUCH_FILE);
    this.handles.delete(e);
    e.closing = () => {
      this.run({ kind: 'close', id, target: e.object, file: e.kind === 'file' }, () => this.ok(id));
      this.logClose(e, false);
    };
    if (e.inflight === 0) this.runClosing(e);
  }

  protected read(id: number, handle: Uint8Array, offset: number, length: number): void {
    const e = this.file(id, handle);
    if (!e) return;
    const len = Math.min(length, DEFAULT_MAX_READ);
    this.held += len;
    this.onHandle(
      e,
      { kind: 'read', id, file: e.object, offset, length: len },
      (data) => {
        if (data.length === 0) return this.status(id, FX.EOF);
        const body = data.length > len ? data.subarray(0, len) : data;
        e.bytesRead += body.length;
        this.data(id, body);
      },
      () => (this.held -= len),
    );
  }

  protected write(id: number, handle: Uint8Array, offset: number, data: Uint8Array | readonly Uint8Array[]): void {
    const e = this.file(id, handle);
    if (!e) return;
    const length = byteLength(data);
    this.held += length;
    this.ordered(
      e,
      { kind: 'write', id, file: e.object, offset, data },
      () => {
        e.bytesWritten += length;
        this.ok(id);
      },
      () => (this.held -= length),
      { start: offset, end: offset + length },
    );
  }

  protected readdir(id: number, handle: Uint8Array): void {
    const e = this.handles.get(handle);
    if (!e || e.kind !== 'dir') return this.status(id, FX.FAILURE);
    if (e.reading) {
      // one read of a directory at a time; a waiting READDIR holds the handle open like an operation
      e.inflight++;
      e.waiting.push(id);
    } else this.serveReaddir(e, id);
  }

  private serveReaddir(e: DirEntry, id: number): void {
    if (e.backlog.length > 0) return this.names(id, takeNames(e));
    if (e.done) return this.status(id, FX.EOF);
    e.reading = true;
    this.onHandle(
      e,
      { kind: 'readdir', id, dir: e.object },
      (entries) => {
        e.reading = false;
        if (entries === null || entries.length === 0) e.done = true;
        else e.backlog = entries.map((d) => this.nameEntry(d));
        this.serveReaddir(e, id);
        this.nextReaddir(e);
      },
      (succeeded) => {
        if (succeeded) return; // the result is used above
        e.reading = false;
        this.nextReaddir(e);
      },
    );
  }

  private nextReaddir(e: DirEntry): void {
    while (!e.reading && e.waiting.length > 0) {
      e.inflight--;
      this.serveReaddir(e, e.waiting.shift()!);
    }
    if (e.inflight === 0 && e.closing) this.runClosing(e);
  }

  protected copyData(id: number, d: { readHandle: Uint8Array; readOffset: number; length: number; writeHandle: Uint8Array; writeOffset: number }): void {
    const from = this.file(id, d.readHandle);
    if (!from) return;
    const to = this.file(id, d.writeHandle);
    if (!to) return;
    if (from === to) {
      const end = (x: number) => (d.length === 0 ? Infinity : x + d.length);
      if (d.readOffset < end(d.writeOffset) && d.writeOffset < end(d.readOffset)) {
        this.sink.log('error', 'copy-data: the read and write ranges of one file overlap');
        return this.status(id, FX.FAILURE);
      }
    }
    from.inflight++;
    this.ordered(to, { kind: 'copy-data', id, from: from.object, readOffset: d.readOffset, length: d.length, to: to.object, writeOffset: d.writeOffset }, () => this.ok(id), () => {
      from.inflight--;
      if (from.inflight === 0 && from.closing) this.runClosing(from);
    });
  }

  protected file(id: number, handle: Uint8Array): FileEntry | null {
    const e = this.handles.get(handle);
    if (e && e.kind === 'file') return e;
    this.status(id, FX.FAILURE);
    return null;
  }

  /** The mode a created file or directory gets: the client's (or the default) less the umask. */
  protected createMode(mode: number | undefined, fallback: number): number {
    const m = mode === undefined ? fallback : mode & 0o7777;
    return this.umask === null ? m : m & ~this.umask;
  }
}
