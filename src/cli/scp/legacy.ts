// `scp -O`: the client side of the legacy SCP protocol (rcp's), for servers
// without SFTP. The remote end is `scp -t target` (we send) or `scp -f
// source` (we receive), run through the remote user's shell, and the two
// ends speak in lines: `C0644 <size> <name>` before a file's bytes, `D0755 0
// <name>` ... `E` around a directory, `T<mtime> 0 <atime> 0` before either
// with -p, each answered by one byte (0 ok, 1 an error message follows, 2 a
// fatal one). As OpenSSH's source() and sink(): every length and name from
// the far end is checked (a name with a '/' or that is '.' or '..' ends the
// run; one that does not match what was asked for, unless -r or -T, too).
// Names are bytes both ways, as scp's: a name that is not UTF-8 is carried
// with its bytes escaped (pathFromBytes), sent and written as those bytes, and
// shown as scp shows it (`x\377`).
import { PassThrough, Writable, type Readable } from 'node:stream';
import { ByteReader } from './byte-reader.js';
import { open, mkdir, opendir, stat, chmod, utimes } from 'node:fs/promises';
import { constants, type Dir, type OpenDirOptions, type Stats } from 'node:fs';
import { fsPath, hasEscapedBytes, pathFromBytes, pathToBytes, showPath } from '../../sftp-entry.js';
import { CliExit, strerror } from '../common/exit.js';
import type { ProgressReporter } from '../common/progress.js';
import { baseName } from './paths.js';
import { expandBraces, matchComponent } from '../common/glob.js';

/** The remote scp: its standard streams and exit. */
export interface LegacyProcess {
  readonly stdin: Writable;
  readonly stdout: Readable;
  readonly stderr: Readable;
  readonly exit: Promise<{ code: number | null; signal?: string | null }>;
  /** Ends it at once (the channel closed), when the exchange broke off. */
  close(): void;
}

/**
 * A remote scp that could not be started (the server refused the exec
 * request, the channel failed): `message` on its stderr, nothing on its
 * stdout, exit 255, as ssh leaves scp when it fails so. The run then goes as
 * scp's does: `lost connection` for an upload, status 1 for a download.
 */
export function failedProcess(message: string): LegacyProcess {
  const stdout = new PassThrough();
  stdout.end();
  const stderr = new PassThrough();
  stderr.end(message.endsWith('\n') ? message : message + '\n');
  const stdin = new Writable({ write: (_chunk, _encoding, done) => done() });
  return { stdin, stdout, stderr, exit: Promise.resolve({ code: 255, signal: null }), close: () => undefined };
}

/** Bytes read or written at a time. */
const BLOCK = 256 * 1024;

/** `text` as the bytes it names (escaped bytes as themselves). */
function textBytes(text: string): string | Buffer {
  if (!hasEscapedBytes(text)) return text;
  const b = pathToBytes(text);
  return Buffer.from(b.buffer, b.byteOffset, b.length);
}

/** Writes to the far end (text as the bytes it names), waiting when its window is full. */
async function send(w: Writable, data: string | Buffer): Promise<void> {
  if (typeof data === 'string') data = textBytes(data);
  if (!w.write(data)) await new Promise<void>((resolve, reject) => {
    const onDrain = (): void => {
      w.off('error', onError);
      resolve();
    };
    const onError = (err: Error): void => {
      w.off('drain', onDrain);
      reject(err);
    };
    w.once('drain', onDrain);
    w.once('error', onError);
  });
}

export interface LegacyContext {
  readonly recursive: boolean;
  readonly preserve: boolean;
  /** -T: no check of the names the far end sends against what was asked. */
  readonly trustNames: boolean;
  readonly progress: ProgressReporter;
  /** Our stderr, a line at a time (newline included by the caller's text). */
  readonly stderr: (text: string) => void;
  /** Counts an error (scp's errs++). */
  readonly countError: () => void;
  /** -l: for each file, a function given its bytes so far that resolves when more may move. */
  readonly pace?: () => (bytesSoFar: number) => Promise<void>;
}

/** One end of a legacy exchange. */
class Peer {
  readonly reader: ByteReader;

  constructor(
    readonly proc: LegacyProcess,
    private readonly ctx: LegacyContext,
  ) {
    this.reader = new ByteReader(proc.stdout);
  }

  write(data: string | Buffer): Promise<void> {
    return send(this.proc.stdin, data);
  }

  /** scp's response(): 0 ok; an error line is printed and counted (-1); a fatal one ends the run (status 1). */
  async response(): Promise<0 | -1> {
    const b = await this.reader.byte();
    if (b === null) throw new CliExit(1, 'lost connection');
    if (b === 0) return 0;
    const rest = (await this.reader.line()) ?? '';
    // Any other first byte is the message's first, decoded with the rest (bytes that are not UTF-8 kept escaped, as names are).
    const text = b === 1 || b === 2 ? rest : pathFromBytes(Buffer.concat([Buffer.from([b]), pathToBytes(rest)]));
    this.ctx.stderr(text.endsWith('\n') ? text : text + '\n');
    this.ctx.countError();
    if (b === 2) throw new CliExit(1);
    return -1;
  }

  /** scp's run_err() as the sending or receiving side: the message to the far end (\x01) and on our stderr. */
  async runError(message: string): Promise<void> {
    this.ctx.countError();
    await this.write(`\x01scp: ${message}\n`);
    this.ctx.stderr(message + '\n');
  }
}

/** The remote command scp runs for the legacy protocol: `scp [-v] [-r] [-p] [-d] -t|-f [--] path`. */
export function legacyCommand(direction: 't' | 'f', path: string, o: { verbose: boolean; recursive: boolean; preserve: boolean; targetShouldBeDirectory: boolean }): string {
  const cmd = `scp${o.verbose ? ' -v' : ''}${o.recursive ? ' -r' : ''}${o.preserve ? ' -p' : ''}${o.targetShouldBeDirectory ? ' -d' : ''}`;
  return `${cmd} -${direction} ${path.startsWith('-') ? '-- ' : ''}${path}`;
}

// ---- sending (source) ----

/** The sending side of a `scp -t` session: started once, then one call per local source. */
export class LegacySender {
  private constructor(private readonly peer: Peer, private readonly ctx: LegacyContext) {}

  /** Waits for `scp -t`'s first answer; null when it refused (reported). */
  static async start(proc: LegacyProcess, ctx: LegacyContext): Promise<LegacySender | null> {
    const peer = new Peer(proc, ctx);
    return (await peer.response()) < 0 ? null : new LegacySender(peer, ctx);
  }

  /** Sends one local file or tree (trailing slashes ignored). */
  send(name: string): Promise<void> {
    return sendOne(this.peer, name.length > 1 ? name.replace(/\/+$/, '') || '/' : name, this.ctx);
  }
}

function timesLine(st: Stats): string {
  const secs = (ms: number): number => Math.max(0, Math.floor(ms / 1000));
  return `T${secs(st.mtimeMs)} 0 ${secs(st.atimeMs)} 0\n`;
}

async function sendOne(peer: Peer, name: string, ctx: LegacyContext): Promise<void> {
  let st: Stats;
  try {
    st = await stat(fsPath(name));
  } catch (err) {
    await peer.runError(`${name}: ${strerror(err)}`);
    return;
  }
  if (st.isDirectory()) {
    if (ctx.recursive) await sendDirectory(peer, name, st, ctx);
    else await peer.runError(`${name}: not a regular file`);
    return;
  }
  if (!st.isFile()) {
    await peer.runError(`${name}: not a regular file`);
    return;
  }
  const last = baseName(name);
  if (ctx.preserve && (await peer.write(timesLine(st)), await peer.response()) < 0) return;
  let fh;
  try {
    fh = await open(fsPath(name), 'r');
  } catch (err) {
    await peer.runError(`${name}: ${strerror(err)}`);
    return;
  }
  try {
    await peer.write(`C${(st.mode & 0o7777).toString(8).padStart(4, '0')} ${st.size} ${last}\n`);
    if ((await peer.response()) < 0) return;
    ctx.progress.start(last, st.size);
    const pace = ctx.pace?.();
    // As scp: once the size is announced that many bytes are sent, zeros after a read error, to stay in step.
    let sent = 0;
    let readError: unknown;
    while (sent < st.size) {
      const want = Math.min(BLOCK, st.size - sent);
      // A fresh buffer per block: it is handed to the channel as is, not copied.
      const chunk = Buffer.allocUnsafe(want);
      let got = 0;
      while (readError === undefined && got < want) {
        try {
          const n = (await fh.read(chunk, got, want - got, sent + got)).bytesRead;
          // The file got shorter while being sent.
          if (n === 0) readError = Object.assign(new Error('file truncated'), { code: 'EIO' });
          got += n;
        } catch (err) {
          readError = err;
        }
      }
      if (got < want) chunk.fill(0, got);
      await peer.write(chunk);
      sent += want;
      ctx.progress.update(sent);
      await pace?.(sent);
    }
    if (readError === undefined) await peer.write(Buffer.from([0]));
    else await peer.runError(`${name}: ${strerror(readError)}`);
    await peer.response();
  } finally {
    await fh.close();
    ctx.progress.stop();
  }
}

async function sendDirectory(peer: Peer, name: string, st: Stats, ctx: LegacyContext): Promise<void> {
  let dir: Dir;
  try {
    // Names as the kernel's bytes (node:fs's typings know only string names).
    dir = await opendir(fsPath(name), { encoding: 'buffer' } as unknown as OpenDirOptions);
  } catch (err) {
    await peer.runError(`${name}: ${strerror(err)}`);
    return;
  }
  try {
    if (ctx.preserve && (await peer.write(timesLine(st)), await peer.response()) < 0) return;
    await peer.write(`D${(st.mode & 0o7777).toString(8).padStart(4, '0')} 0 ${baseName(name)}\n`);
    if ((await peer.response()) < 0) return;
    for await (const entry of dir) {
      const entryName = pathFromBytes(entry.name as unknown as Buffer);
      await sendOne(peer, `${name === '/' ? '' : name}/${entryName}`, ctx);
    }
  } finally {
    await dir.close().catch(() => undefined);
  }
  await peer.write('E\n');
  await peer.response();
}

// ---- receiving (sink) ----

/**
 * `{a,b}c` → `ac`, `bc` (nested braces too), as scp expands what was asked
 * for before checking names: nacre-sftp's expansion, bounded in how many
 * patterns it makes.
 */
export function braceExpand(pattern: string): string[] {
  return expandBraces(pattern);
}

interface Times {
  atime: number;
  mtime: number;
}

/** Parses `T<mtime> <usec> <atime> <usec>`; the message of scp's protocol error otherwise. */
export function parseTimes(line: string): Times | string {
  const m = /^T(\d+) (\d+) (\d+) (\d+)$/.exec(line);
  if (!m) return 'mtime.sec not present';
  if (Number(m[2]) > 999999 || Number(m[4]) > 999999) return 'mtime.usec not delimited';
  return { mtime: Number(m[1]), atime: Number(m[3]) };
}

/** Parses `C0644 <size> <name>` or `D0755 0 <name>`; the message of scp's protocol error otherwise. */
export function parseEntry(line: string): { kind: 'C' | 'D'; mode: number; size: number; name: string } | string {
  const kind = line[0];
  if (kind !== 'C' && kind !== 'D') return 'expected control record';
  const mode = line.slice(1, 5);
  if (!/^[0-7]{4}$/.test(mode)) return 'bad mode';
  if (line[5] !== ' ') return 'mode not delimited';
  const m = /^(\d+) ([\s\S]*)$/.exec(line.slice(6));
  if (!m) return /^\d/.test(line.slice(6)) ? 'size not delimited' : 'size not present';
  const size = Number(m[1]);
  if (!Number.isSafeInteger(size)) return 'size out of range';
  return { kind, mode: parseInt(mode, 8), size, name: m[2]! };
}

/**
 * Receives from `scp -f` into `target` (a directory, or the file's name).
 * `requested` is the source as asked for, whose last component the names
 * that arrive must match (unless -r or -T).
 */
export async function receiveFiles(proc: LegacyProcess, target: string, requested: string, ctx: LegacyContext): Promise<void> {
  const peer = new Peer(proc, ctx);
  const patterns = !ctx.recursive && !ctx.trustNames ? braceExpand(baseName(requested)) : [];
  const mask = process.umask();
  await peer.write(Buffer.from([0]));
  await sink(peer, target, patterns, mask, ctx, true);
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(fsPath(path))).isDirectory();
  } catch {
    return false;
  }
}

async function sink(peer: Peer, target: string, patterns: readonly string[], mask: number, ctx: LegacyContext, top: boolean): Promise<void> {
  const fail = (why: string): never => {
    throw new CliExit(1, `protocol error: ${why}`);
  };
  const targetIsDir = await isDirectory(target);
  let times: Times | undefined;
  for (let first = true; ; first = false) {
    const raw = await peer.reader.line();
    if (raw === null) return;
    if (raw === '\n') fail('unexpected <newline>');
    if (raw[0] === '\x01' || raw[0] === '\x02') {
      ctx.stderr(raw.slice(1).endsWith('\n') ? raw.slice(1) : raw.slice(1) + '\n');
      if (raw[0] === '\x02') throw new CliExit(1);
      ctx.countError();
      continue;
    }
    if (!raw.endsWith('\n')) fail('lost connection');
    const line = raw.slice(0, -1);
    if (line[0] === 'E') {
      await peer.write(Buffer.from([0]));
      return;
    }
    if (line[0] === 'T') {
      const t = parseTimes(line);
      if (typeof t === 'string') fail(t);
      times = t as Times;
      await peer.write(Buffer.from([0]));
      continue;
    }
    if (line[0] !== 'C' && line[0] !== 'D') {
      // A shell's "No match." before scp ran: its words, then stop.
      if (first && top) throw new CliExit(1, showPath(line));
      fail('expected control record');
    }
    const entry = parseEntry(line);
    if (typeof entry === 'string') return fail(entry);
    const { name } = entry;
    if (name === '' || name.includes('/') || name === '.' || name === '..') {
      throw new CliExit(1, showPath(`error: unexpected filename: ${name}`));
    }
    if (patterns.length > 0 && !patterns.some((p) => p === name || matchComponent(p, name))) fail('filename does not match request');
    const path = targetIsDir ? `${target}${target === '/' ? '' : '/'}${name}` : target;
    const mode = ctx.preserve ? entry.mode : entry.mode & ~(mask | 0o7000);
    let existing: Stats | undefined;
    try {
      existing = await stat(fsPath(path));
    } catch {
      existing = undefined;
    }
    if (entry.kind === 'D') {
      if (!ctx.recursive) fail('received directory without -r');
      if (existing && !existing.isDirectory()) {
        await peer.runError(`${path}: Not a directory`);
        continue;
      }
      if (existing) {
        if (ctx.preserve) await chmod(fsPath(path), mode).catch(() => undefined);
      } else {
        try {
          await mkdir(fsPath(path), { mode: mode | 0o700 });
        } catch (err) {
          await peer.runError(`${path}: ${strerror(err)}`);
          continue;
        }
      }
      const dirTimes = times;
      times = undefined;
      await peer.write(Buffer.from([0]));
      await sink(peer, path, patterns, mask, ctx, false);
      if (dirTimes) await utimes(fsPath(path), dirTimes.atime, dirTimes.mtime).catch(() => undefined);
      if (ctx.preserve || !existing) await chmod(fsPath(path), mode).catch(() => undefined);
      continue;
    }
    await receiveFile(peer, path, entry.size, mode, existing, times, ctx);
    times = undefined;
  }
}

async function receiveFile(peer: Peer, path: string, size: number, mode: number, existing: Stats | undefined, times: Times | undefined, ctx: LegacyContext): Promise<void> {
  let fh;
  try {
    // As scp: opened without truncating, and cut to the size once written.
    fh = await open(fsPath(path), constants.O_WRONLY | constants.O_CREAT, mode | 0o200);
  } catch (err) {
    await peer.runError(`${path}: ${strerror(err)}`);
    return;
  }
  // The first error is kept and sent after the bytes, to stay in step with the sender.
  let noted: string | undefined;
  const note = (m: string): void => {
    noted ??= m;
  };
  await peer.write(Buffer.from([0]));
  ctx.progress.start(baseName(path), size);
  const pace = ctx.pace?.();
  try {
    let got = 0;
    while (got < size) {
      const chunk = await peer.reader.some(Math.min(BLOCK, size - got));
      if (!chunk) throw new CliExit(1, 'lost connection');
      if (noted === undefined) {
        try {
          await fh.write(chunk, 0, chunk.length, got);
        } catch (err) {
          note(`${path}: ${strerror(err)}`);
        }
      }
      got += chunk.length;
      ctx.progress.update(got);
      await pace?.(got);
    }
    if (noted === undefined && (!existing || existing.isFile())) await fh.truncate(size).catch((err: unknown) => note(`${path}: truncate: ${strerror(err)}`));
    if (ctx.preserve || (!existing && (mode | 0o200) !== mode)) await fh.chmod(mode).catch((err: unknown) => note(`${path}: set mode: ${strerror(err)}`));
  } finally {
    await fh.close().catch((err: unknown) => note(`${path}: close: ${strerror(err)}`));
    ctx.progress.stop();
  }
  await peer.response();
  if (times && noted === undefined) await utimes(fsPath(path), times.atime, times.mtime).catch((err: unknown) => note(`${path}: set times: ${strerror(err)}`));
  if (noted !== undefined) await peer.runError(noted);
  else await peer.write(Buffer.from([0]));
}

/** `-3 -O`: the origin's `scp -f` talks straight to the destination's `scp -t`, through this host. */
export async function relay(from: LegacyProcess, to: LegacyProcess): Promise<void> {
  from.stdout.pipe(to.stdin);
  to.stdout.pipe(from.stdin);
  await Promise.all([from.exit, to.exit]);
}
