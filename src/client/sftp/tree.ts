// get and put of a path: one file, or with `recursive` a whole tree, the way
// OpenSSH's sftp walks one: directories are created (kept when empty),
// regular files copied, and symbolic links inside the tree skipped with a
// notice ("not a regular file") unless `followSymlinks`, when what they
// point at is copied. A name a server lists that is not a plain name ("..",
// one with a slash) is refused, so a hostile server cannot steer a download
// out of its directory.
import type { Dirent, Stats } from 'node:fs';
import { lstat, mkdir, readdir, stat, utimes, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { direntName, fsPath } from '../../io/node/byte-paths.js';
import { AbortError } from '../../errors.js';
import { isDirectory, isRegularFile, isSymbolicLink, type FileAttributes } from '../../sftp/attrs.js';
import { FX } from '../../sftp/constants.js';
import { SftpError } from '../../sftp/errors.js';
import type { SftpEntry, TransferOptions } from './api.js';
import type { SftpOps } from './ops.js';
import { Pacer } from './pacer.js';
import { getFile, putFile, remoteJoin, type TransferContext } from './transfer.js';

type TreeContext = TransferContext & { readonly files: FileSlots };

/**
 * Bytes per READ or WRITE unless `chunkSize` says (capped by the server's
 * limits). sftp asks for 32 KiB; sftp-server takes up to its max-read-length
 * (255 KiB), and fewer, larger requests cost less on both sides.
 */
export const DEFAULT_TRANSFER_CHUNK = 255 * 1024;
/**
 * Data in flight per file unless `concurrency` says: requests of the chunk
 * size to make this much, from 4 to 64 of them (16 of 255 KiB; sftp's 64 of
 * 32 KiB when asked for that size). Half the channel's 8 MiB window.
 */
export const DEFAULT_BYTES_IN_FLIGHT = 4 * 1024 * 1024;
/** Files of a recursive transfer under way at once unless `parallelFiles` says. */
export const DEFAULT_PARALLEL_FILES = 16;
/** Directories deeper than this are refused (a loop of followed links ends here). */
const MAX_DEPTH = 128;

function context(c: SftpOps, o: TransferOptions, put: boolean): TreeContext {
  const max = put ? c.maxWrite : c.maxRead;
  const chunkSize = Math.min(o.chunkSize ?? DEFAULT_TRANSFER_CHUNK, max);
  if (!Number.isSafeInteger(chunkSize) || chunkSize <= 0) throw new RangeError(`chunkSize: ${o.chunkSize} is not a positive integer`);
  const concurrency = o.concurrency ?? Math.min(64, Math.max(4, Math.ceil(DEFAULT_BYTES_IN_FLIGHT / chunkSize)));
  if (!Number.isSafeInteger(concurrency) || concurrency <= 0) throw new RangeError(`concurrency: ${o.concurrency} is not a positive integer`);
  const parallel = o.parallelFiles ?? DEFAULT_PARALLEL_FILES;
  if (!Number.isSafeInteger(parallel) || parallel <= 0) throw new RangeError(`parallelFiles: ${o.parallelFiles} is not a positive integer`);
  return { o, chunkSize, concurrency, pacer: o.bandwidthLimit === undefined ? undefined : new Pacer(o.bandwidthLimit), totalTransferred: 0, filesDone: 0, buffers: [], files: new FileSlots(parallel) };
}

/**
 * The files of a tree under way at once. Many small files cost round trips
 * more than bytes, and several at once share them. The first failure stops
 * new files from starting; the ones under way finish, then it is thrown.
 */
class FileSlots {
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  failure: unknown = null;
  constructor(private readonly limit: number) {}

  /** Starts `job` when a slot is free; the promise of the job itself is added to `batch`. */
  async start(job: () => Promise<void>, batch: Promise<void>[]): Promise<void> {
    if (this.failure !== null) throw this.failure;
    // A slot freed while waiting is handed over still counted in `running`.
    if (this.running >= this.limit) await new Promise<void>((r) => this.waiting.push(r));
    else this.running++;
    if (this.failure !== null) {
      this.release();
      throw this.failure;
    }
    batch.push(
      job().then(
        () => this.release(),
        (err: unknown) => {
          this.failure ??= err;
          this.release();
        },
      ),
    );
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.running--;
  }

  /** Waits for the batch, then throws the first failure of the transfer, if any. */
  async settle(batch: Promise<void>[]): Promise<void> {
    await Promise.all(batch);
    if (this.failure !== null) throw this.failure;
  }
}

function plainName(name: string): boolean {
  return name !== '' && name !== '.' && name !== '..' && !name.includes('/') && !name.includes('\0');
}

export async function getPath(c: SftpOps, remote: string, local: string, o: TransferOptions): Promise<void> {
  const ctx = context(c, o, false);
  if (o.signal?.aborted) throw new AbortError();
  let attrs: FileAttributes;
  try {
    attrs = await c.stat(remote);
  } catch (err) {
    if (err instanceof SftpError) throw new SftpError(err.code, err.serverMessage, 'get', remote, { cause: err });
    throw err;
  }
  if (isDirectory(attrs)) {
    if (!o.recursive) throw new SftpError(FX.FAILURE, 'is a directory (use recursive)', 'get', remote);
    await getTree(c, remote, local, attrs, ctx, 0);
  } else {
    await getFile(c, remote, local, ctx, isRegularFile(attrs) ? attrs : undefined);
  }
}

async function getTree(c: SftpOps, remote: string, local: string, attrs: FileAttributes, ctx: TreeContext, depth: number): Promise<void> {
  const o = ctx.o;
  if (depth > MAX_DEPTH) throw new SftpError(FX.FAILURE, `deeper than ${MAX_DEPTH} directories`, 'get', remote);
  if (o.signal?.aborted) throw new AbortError();
  const mode = attrs.mode !== undefined ? attrs.mode & 0o777 : 0o777;
  try {
    await mkdir(fsPath(local), { mode: mode | 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || !(await stat(fsPath(local))).isDirectory()) throw err;
  }
  const entries = await c.list(remote);
  entries.sort((a, b) => (a.filename < b.filename ? -1 : a.filename > b.filename ? 1 : 0));
  const batch: Promise<void>[] = [];
  try {
    await getEntries(c, remote, local, entries, ctx, depth, batch);
  } finally {
    await Promise.all(batch);
  }
  await ctx.files.settle(batch);
  if (o.preserve) {
    if (attrs.mode !== undefined) await chmod(fsPath(local), attrs.mode & 0o777);
    if (attrs.mtime !== undefined) await utimes(fsPath(local), attrs.atime ?? attrs.mtime, attrs.mtime);
  }
}

async function getEntries(c: SftpOps, remote: string, local: string, entries: SftpEntry[], ctx: TreeContext, depth: number, batch: Promise<void>[]): Promise<void> {
  const o = ctx.o;
  for (const e of entries) {
    if (!plainName(e.filename)) throw new SftpError(FX.BAD_MESSAGE, `the server listed ${JSON.stringify(e.filename)}, which is not a file name`, 'get', remote);
    const from = remoteJoin(remote, e.filename);
    const to = join(local, e.filename);
    let a = e.attrs;
    if (isSymbolicLink(a)) {
      if (!o.followSymlinks) {
        o.onSkip?.(from, 'not a regular file');
        continue;
      }
      try {
        a = await c.stat(from);
      } catch (err) {
        o.onSkip?.(from, err instanceof Error ? err.message : String(err));
        continue;
      }
    }
    if (isDirectory(a)) await getTree(c, from, to, a, ctx, depth + 1);
    else if (isRegularFile(a)) {
      const fileAttrs = a;
      await ctx.files.start(() => getFile(c, from, to, ctx, fileAttrs), batch);
    } else o.onSkip?.(from, 'not a regular file');
  }
}

export async function putPath(c: SftpOps, local: string, remote: string, o: TransferOptions): Promise<void> {
  const ctx = context(c, o, true);
  if (o.signal?.aborted) throw new AbortError();
  const st = await stat(fsPath(local));
  if (st.isDirectory()) {
    if (!o.recursive) throw new SftpError(FX.FAILURE, `${local} is a directory (use recursive)`, 'put', remote);
    await putTree(c, local, remote, ctx, 0);
  } else {
    await putFile(c, local, remote, ctx, st.isFile());
  }
}

async function putTree(c: SftpOps, local: string, remote: string, ctx: TreeContext, depth: number): Promise<void> {
  const o = ctx.o;
  if (depth > MAX_DEPTH) throw new SftpError(FX.FAILURE, `deeper than ${MAX_DEPTH} directories`, 'put', remote);
  if (o.signal?.aborted) throw new AbortError();
  const st = await stat(fsPath(local));
  const mode = st.mode & 0o777;
  /** Made by this transfer just now: empty, so its files need no look at what is there. */
  let made = true;
  try {
    await c.mkdir(remote, { mode: mode | 0o700 });
  } catch (err) {
    made = false;
    // An existing directory is fine (sftp -r into one that is there).
    let there: FileAttributes | null = null;
    try {
      there = await c.stat(remote);
    } catch {
      // not there: the mkdir error stands
    }
    if (there === null || !isDirectory(there)) throw err instanceof SftpError ? new SftpError(err.code, err.serverMessage, 'put', remote, { cause: err }) : err;
  }
  // Names as bytes, escaped where not UTF-8 (io/node/byte-paths.ts): every file is sent under its own name.
  const names = (await readdir(fsPath(local), { withFileTypes: true, encoding: 'buffer' })).map((d) => ({ entry: d, name: direntName(d as unknown as Dirent) }));
  names.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const batch: Promise<void>[] = [];
  try {
    await putEntries(c, local, remote, names, ctx, depth, batch, made);
  } finally {
    await Promise.all(batch);
  }
  await ctx.files.settle(batch);
  if (o.preserve) await c.setstat(remote, { mode, atime: Math.floor(st.atimeMs / 1000), mtime: Math.floor(st.mtimeMs / 1000) });
}

async function putEntries(c: SftpOps, local: string, remote: string, entries: { entry: Pick<Stats, 'isDirectory' | 'isFile' | 'isSymbolicLink'>; name: string }[], ctx: TreeContext, depth: number, batch: Promise<void>[], made: boolean): Promise<void> {
  const o = ctx.o;
  for (const { entry, name } of entries) {
    const from = join(local, name);
    const to = remoteJoin(remote, name);
    // The listing's types spare a stat of each file; anything else is looked at closer.
    let s: Pick<Stats, 'isDirectory' | 'isFile' | 'isSymbolicLink'> = entry;
    if (!entry.isFile() && !entry.isDirectory()) s = await lstat(fsPath(from));
    if (s.isSymbolicLink()) {
      if (!o.followSymlinks) {
        o.onSkip?.(from, 'not a regular file');
        continue;
      }
      try {
        s = await stat(fsPath(from));
      } catch (err) {
        o.onSkip?.(from, err instanceof Error ? err.message : String(err));
        continue;
      }
    }
    if (s.isDirectory()) await putTree(c, from, to, ctx, depth + 1);
    else if (s.isFile()) await ctx.files.start(() => putFile(c, from, to, ctx, true, made), batch);
    else o.onSkip?.(from, 'not a regular file');
  }
}
