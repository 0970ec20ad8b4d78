// How an SFTP server session runs its file system work: each operation
// handed to the driver (the sink) with a continuation for its result, the
// operations on one handle counted so a CLOSE waits for them, changes to
// one file applied in the order they came (disjoint writes together), and
// what is left when the session ends closed. server-session.ts builds on it
// with what each request does.
import { FX } from './constants.js';
import { statusForError } from './server-format.js';
import { canStart, type Entry, type FileEntry, type QueuedChange, type WriteRange } from './server-handles.js';
import type { OperationKind, OperationOf, OperationResult, ServerOperation } from './server-operations.js';
import type { DirectoryHandle, FileHandle } from './filesystem.js';

/** Where file system work goes (the part of SftpServerSink this needs). */
export interface OperationSink {
  operation(op: ServerOperation): void;
}

interface Continuation {
  ok(result: unknown): void;
  err(error: unknown): void;
}

export abstract class OperationScheduler {
  private readonly pending = new Map<ServerOperation, Continuation>();
  /** The session is over: results are not answered, handles opened late are closed. */
  protected ended = false;

  constructor(protected readonly sink: OperationSink) {}

  /** The STATUS reply for a failed operation. */
  protected abstract status(id: number, code: number, message?: string): void;
  /** The log line for a handle closed. */
  protected abstract logClose(e: Entry, forced: boolean): void;
  /** After each result: more input may be taken. */
  protected abstract settled(): void;

  /** Hands back an operation's result. */
  complete<O extends ServerOperation>(op: O, result: OperationResult<O>): void {
    const c = this.pending.get(op);
    if (!c) return;
    this.pending.delete(op);
    this.settle(() => c.ok(result));
  }

  /** Hands back an operation's failure (an Error with an errno `code`, as node:fs gives). */
  fail(op: ServerOperation, error: unknown): void {
    const c = this.pending.get(op);
    if (!c) return;
    this.pending.delete(op);
    this.settle(() => c.err(error));
  }

  private settle(fn: () => void): void {
    try {
      fn();
    } finally {
      this.settled();
    }
  }

  /**
   * Emits `op`; `ok` gets its result, an error becomes the STATUS for it.
   * `after` runs either way, once the reply is out (so a CLOSE waiting for
   * the operation logs its bytes), told whether it succeeded.
   */
  protected run<K extends OperationKind>(op: OperationOf<K>, ok: (result: OperationResult<OperationOf<K>>) => void, after?: (succeeded: boolean) => void): void {
    this.pending.set(op, {
      ok: (r) => {
        if (this.ended) this.orphan(op, r);
        else {
          try {
            ok(r as OperationResult<OperationOf<K>>);
          } catch {
            // A result the reply cannot carry (a size that is not a whole
            // number, from a FileSystem of the application's): the request
            // fails, the session goes on. Replies are encoded before they
            // count as sent, so this one is still owed.
            if (op.id >= 0) this.status(op.id, FX.FAILURE, 'Failure');
          }
        }
        after?.(true);
      },
      err: (error) => {
        if (!this.ended && op.id >= 0) {
          const s = statusForError(error);
          this.status(op.id, s.code, s.message);
        }
        after?.(false);
      },
    });
    this.sink.operation(op);
  }

  /** A handle opened after the session ended: nobody will close it, so close it now. */
  private orphan(op: ServerOperation, result: unknown): void {
    if (op.kind === 'open' || op.kind === 'opendir') {
      const close: ServerOperation = { kind: 'close', id: -1, target: result as FileHandle | DirectoryHandle, file: op.kind === 'open' };
      this.pending.set(close, { ok: () => undefined, err: () => undefined });
      this.sink.operation(close);
    }
  }

  /** An operation on an open handle: counted, so CLOSE waits for it. */
  protected onHandle<K extends OperationKind>(e: Entry, op: OperationOf<K>, ok: (result: OperationResult<OperationOf<K>>) => void, after?: (succeeded: boolean) => void): void {
    e.inflight++;
    this.run(op, ok, (succeeded) => {
      e.inflight--;
      after?.(succeeded);
      if (e.inflight === 0 && e.closing) this.runClosing(e);
    });
  }

  /** Writes (and fsetstat, fsync) on one handle run one at a time, in the order they came. */
  /**
   * Changes to one file handle, applied in the order they came: a WRITE
   * (`range`, on a handle not opened to append) runs alongside other writes
   * to ranges it does not overlap, up to WRITES_AT_ONCE (positional writes of
   * disjoint ranges commute); anything else (fsetstat, fsync, copy-data, an
   * appending write) runs alone. Nothing overtakes a change waiting before it.
   */
  protected ordered<K extends OperationKind>(
    e: FileEntry,
    op: OperationOf<K>,
    ok: (result: OperationResult<OperationOf<K>>) => void,
    after?: () => void,
    range: WriteRange | null = null,
  ): void {
    const change: QueuedChange = {
      range: e.append ? null : range,
      start: () => {
        if (change.range) e.writing.push(change.range);
        else e.exclusive = true;
        this.onHandle(e, op, ok, () => {
          if (change.range) e.writing.splice(e.writing.indexOf(change.range), 1);
          else e.exclusive = false;
          after?.();
          this.nextChanges(e);
        });
      },
    };
    if (e.queued.length === 0 && canStart(e, change.range)) return change.start();
    // counted now, so a CLOSE behind it waits for it too
    e.inflight++;
    e.queued.push(change);
  }

  private nextChanges(e: FileEntry): void {
    while (e.queued.length > 0 && canStart(e, e.queued[0]!.range)) {
      const next = e.queued.shift()!;
      e.inflight--;
      next.start();
    }
  }

  protected runClosing(e: Entry): void {
    const c = e.closing;
    e.closing = null;
    c?.();
  }

  protected closeOnEnd(e: Entry): void {
    const closeNow = () => {
      const op: ServerOperation = { kind: 'close', id: -1, target: e.object, file: e.kind === 'file' };
      this.pending.set(op, { ok: () => undefined, err: () => undefined });
      this.sink.operation(op);
      this.logClose(e, true);
    };
    if (e.closing) return; // a CLOSE is already waiting for its operations
    e.closing = closeNow;
    if (e.inflight === 0) this.runClosing(e);
  }
}
