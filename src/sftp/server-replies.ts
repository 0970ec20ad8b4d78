// What an SFTP server session says: the replies it owes (STATUS, HANDLE,
// DATA, ATTRS, NAME, EXTENDED_REPLY), each counted off the requests waiting
// for one as it goes to the sink, and the log lines it writes as
// sftp-server writes them. server-handle-requests.ts and server-session.ts
// build on it with what each request does.
import type { FileAttributes } from './attrs.js';
import { FX, STATUS_TEXT } from './constants.js';
import type { DirectoryEntry } from './filesystem.js';
import { frame } from './framing.js';
import { dataReplyHeader, encodeResponse, type NameEntry } from './messages.js';
import type { SftpServerSink } from './server-options.js';
import { handleFrame, statusFrame } from './server-hot-requests.js';
import { replyInPlace } from './server-headroom.js';
import { closeLogLine, longName, setLogLines, statsToAttributes, type ServerClock } from './server-format.js';
import type { Entry } from './server-handles.js';
import { OperationScheduler } from './server-scheduler.js';

export abstract class SessionReplies extends OperationScheduler {
  /** Requests received and not yet answered. */
  protected outstanding = 0;
  /** Whether the sink keeps `info` lines (the lines of OPEN, CLOSE and every change): not formatted when not. */
  protected readonly logsInfo: boolean;

  constructor(
    protected override readonly sink: SftpServerSink,
    protected readonly clock: ServerClock,
  ) {
    super(sink);
    this.logsInfo = sink.logs?.('info') ?? true;
  }

  private send(payload: Uint8Array): void {
    this.sendFrame(frame(payload));
  }

  private sendFrame(framed: Uint8Array): void {
    this.outstanding--;
    this.sink.output([framed]);
  }

  protected status(id: number, code: number, message = STATUS_TEXT[code] ?? ''): void {
    this.sendFrame(statusFrame(id, code, message));
  }

  protected ok(id: number): void {
    this.status(id, FX.OK);
  }

  protected attrs(id: number, attrs: FileAttributes): void {
    this.send(encodeResponse({ type: 'attrs', id, attrs }));
  }

  protected handleReply(id: number, handle: Uint8Array): void {
    this.sendFrame(handleFrame(id, handle));
  }

  /**
   * A DATA reply: its header, then the file system's buffer as it is; one
   * piece when the buffer has room for the header before the data
   * (server-headroom.ts).
   */
  protected data(id: number, body: Uint8Array): void {
    this.outstanding--;
    const whole = replyInPlace(id, body);
    this.sink.output(whole ? [whole] : [dataReplyHeader(id, body.length), body]);
  }

  protected reply(id: number, data: Uint8Array): void {
    this.send(encodeResponse({ type: 'extended-reply', id, data }));
  }

  /** A NAME with one path (REALPATH, READLINK, expand-path, home-directory), its long name the path, no attributes. */
  protected onePath(id: number, path: string): void {
    this.names(id, [{ filename: path, longname: path, attrs: {} }]);
  }

  protected names(id: number, names: NameEntry[]): void {
    this.send(encodeResponse({ type: 'name', id, names }));
  }

  protected nameEntry(d: DirectoryEntry): NameEntry {
    return { filename: d.name, longname: longName(d.name, d.stats, this.clock), attrs: statsToAttributes(d.stats) };
  }

  protected logClose(e: Entry, forced: boolean): void {
    if (this.logsInfo) this.sink.log('info', closeLogLine(e.kind, e.path, e.kind === 'file' ? e.bytesRead : 0, e.kind === 'file' ? e.bytesWritten : 0, forced));
  }

  protected logSet(path: string, a: FileAttributes): void {
    if (this.logsInfo) for (const line of setLogLines(path, a, this.clock)) this.sink.log('info', line);
  }
}
