// sftp's get and put (process_get and process_put in sftp.c, the checks of
// sftp_download and sftp_upload): a remote or local glob, each match's
// destination named as sftp names it, "Fetching"/"Uploading" lines, the
// checks sftp makes before moving a byte (regular file, resume sizes), the
// per-directory lines of a tree, the transfer itself through the library
// with a progress bar per file, and its failure in sftp's words.
import { showPath } from '../../sftp-entry.js';
import type { CommandContext } from './context.js';
import { escapeGlob } from './command-line.js';
import { glob } from '../common/glob.js';
import type { LsAttrs } from './ls-format.js';
import { baseName, fxText, makeAbsolute, pathAppend, remoteReason, sftpStatus, type RemoteAttrs, type RemoteTransferOptions } from './remote.js';
import { strerror } from '../common/exit.js';

const S_IFMT = 0o170000;
const isDir = (a: LsAttrs | null | undefined): boolean => a?.mode !== undefined && (a.mode & S_IFMT) === 0o040000;
const isRegular = (a: LsAttrs | null | undefined): boolean => a?.mode !== undefined && (a.mode & S_IFMT) === 0o100000;
/** The statuses the client gives when the channel is gone (FX.NO_CONNECTION, FX.CONNECTION_LOST). */
const FX_NO_CONNECTION = 6;
const FX_CONNECTION_LOST = 7;

/** realpath's failure as sftp words it: the server's own message when it sent one. */
export function serverWords(err: unknown): string {
  const m = (err as { serverMessage?: unknown })?.serverMessage;
  return typeof m === 'string' && m !== '' ? m : remoteReason(err);
}

/** sftp's MAX_DIR_DEPTH for recursive transfers. */
const MAX_DIR_DEPTH = 64;

function transferOptions(ctx: CommandContext, preserve: boolean, resume: boolean, recursive: boolean): RemoteTransferOptions {
  const o = ctx.options;
  return {
    preserve: preserve || o.preserve,
    resume,
    recursive,
    // As sftp, which writes in place: what arrived stays for reget/reput.
    keepPartial: true,
    ...(o.concurrency !== undefined ? { concurrency: o.concurrency } : {}),
    ...(o.chunkSize !== undefined ? { chunkSize: o.chunkSize } : {}),
    ...(o.bandwidthLimit !== undefined ? { bandwidthLimit: o.bandwidthLimit } : {}),
    ...(ctx.signal ? { signal: ctx.signal } : {}),
  };
}

/** Runs one transfer with a progress bar per file (when on); false after printing why it failed. */
async function withProgress(
  ctx: CommandContext,
  run: (o: Pick<RemoteTransferOptions, 'onFile' | 'onProgress' | 'parallelFiles'>) => Promise<void>,
  describe: (err: unknown) => string,
  /** Where a resumed single file starts, so the bar's rate counts only what moves. */
  startPos = 0,
): Promise<boolean> {
  const meter = ctx.options.progress ? ctx.deps.progressMeter() : undefined;
  try {
    // With a bar on the terminal, a tree's files go one after another (as
    // sftp moves them), each with its own bar; the bar follows its own file only.
    let current: string | undefined;
    await run(
      meter
        ? {
            parallelFiles: 1,
            onFile: (path, size) => {
              current = path;
              if (size > 0) meter.start(showPath(baseName(path)), size, startPos);
              else if (meter.active) meter.stop();
            },
            onProgress: (p) => {
              if (p.path === current) meter.update(p.transferred);
            },
          }
        : {},
    );
    return true;
  } catch (err) {
    if (meter?.active) meter.stop();
    if (ctx.interrupted || (err as { name?: unknown })?.name === 'AbortError') {
      return false;
    }
    const message = describe(err);
    if (message !== '') ctx.error(message);
    return false;
  } finally {
    if (meter?.active) meter.stop();
  }
}

async function localIsDir(ctx: CommandContext, path: string): Promise<boolean> {
  return isDir(await ctx.deps.local.stat(path));
}

/** process_get(): a remote glob, each match fetched (trees with -r) to `dst` or the local working directory. */
export async function processGet(ctx: CommandContext, src: string, dst: string | undefined, pflag: boolean, rflag: boolean, resumeFlag: boolean, fflag = false): Promise<boolean> {
  const abs = makeAbsolute(src, escapeGlob(ctx.pwd));
  const g = await ctx.remoteGlob(abs, { mark: true });
  if (g === 'too-many') {
    ctx.error(`Too many matches for "${abs}".`);
    return false;
  }
  if (g.matched === 0) {
    ctx.error(`File "${abs}" not found.`);
    return false;
  }
  if (g.matched > 1 && dst !== undefined && !(await localIsDir(ctx, dst))) {
    ctx.error(`Multiple source paths, but destination "${dst}" is not a directory`);
    return false;
  }
  let ok = true;
  for (const m of g.matches) {
    if (ctx.interrupted) break;
    let filename = baseName(m.path);
    if (filename === '..') filename = '.';
    let target: string;
    if (g.matched === 1 && dst !== undefined) target = (await localIsDir(ctx, dst)) ? pathAppend(dst, filename) : dst;
    else if (dst !== undefined) target = pathAppend(dst, filename);
    else target = filename;
    const resume = resumeFlag || ctx.options.resume;
    if (!ctx.options.quiet) ctx.out(resume ? `Resuming ${m.path} to ${target}\n` : `Fetching ${m.path} to ${target}\n`);
    const remotePath = m.path.length > 1 ? m.path.replace(/\/+$/, '') : m.path;
    if (m.isDir && (rflag || ctx.options.recursive)) {
      await announceTree(ctx, 'Retrieving', await canonical(ctx, remotePath), (dir) => remoteSubdirectories(ctx, dir));
      const done = await withProgress(
        ctx,
        (cb) => ctx.deps.remote.get(remotePath, target, { ...transferOptions(ctx, pflag, resume, true), ...cb }),
        (err) => describeTransferError(ctx, err, 'download', remotePath, target),
      );
      if (!done) ok = false;
    } else if (!(await downloadFile(ctx, m.path, remotePath, target, pflag, resume, fflag || ctx.options.fsync))) {
      ok = false;
    }
  }
  return ok;
}

async function downloadFile(ctx: CommandContext, shownPath: string, remotePath: string, target: string, pflag: boolean, resume: boolean, fsync: boolean): Promise<boolean> {
  let attrs: RemoteAttrs;
  try {
    attrs = await ctx.deps.remote.stat(remotePath);
  } catch (err) {
    ctx.error(`stat remote: ${ctx.reason(err)}`);
    return false;
  }
  if (attrs.mode !== undefined && !isRegular(attrs)) {
    ctx.error(`download ${shownPath}: not a regular file`);
    return false;
  }
  let startPos = 0;
  if (resume) {
    const local = await ctx.deps.local.stat(target);
    const size = attrs.size ?? 0;
    if (local && local.size !== undefined) {
      startPos = local.size;
      if (local.size > size) {
        ctx.error(`Unable to resume download of "${target}": local file is larger than remote`);
        return false;
      }
      if (local.size === size) {
        ctx.error(`File "${target}" was not modified`);
        return true;
      }
    }
  }
  const done = await withProgress(
    ctx,
    (cb) => ctx.deps.remote.get(remotePath, target, { ...transferOptions(ctx, pflag, resume, false), ...cb }),
    (err) => describeTransferError(ctx, err, 'download', remotePath, target),
    startPos,
  );
  if (!done || !fsync) return done;
  // -f: the local copy is on disk before the next command.
  try {
    await ctx.deps.local.fsync(target);
    return true;
  } catch (err) {
    ctx.error(`local sync "${target}": ${strerror(err)}`);
    return false;
  }
}

/** process_put(): a local glob, each match uploaded (trees with -r) to `dst` or the remote working directory. */
export async function processPut(ctx: CommandContext, src: string, dst: string | undefined, pflag: boolean, rflag: boolean, resumeFlag: boolean, fflag = false): Promise<boolean> {
  const r = ctx.deps.remote;
  const tmpDst = dst !== undefined ? makeAbsolute(dst, ctx.pwd) : undefined;
  const g = await glob(src, ctx.deps.local.globFs, { mark: true, nocheck: true });
  let dstIsDir = true;
  if (tmpDst !== undefined) {
    try {
      dstIsDir = isDir(await r.stat(tmpDst));
    } catch {
      dstIsDir = false;
    }
  }
  if (g.matches.length > 1 && tmpDst !== undefined && !dstIsDir) {
    ctx.error(`Multiple paths match, but destination "${tmpDst}" is not a directory`);
    return false;
  }
  let ok = true;
  for (const m of g.matches) {
    if (ctx.interrupted) break;
    const localPath = m.path.length > 1 ? m.path.replace(/\/+$/, '') : m.path;
    const st = await ctx.deps.local.stat(localPath);
    if (!st) {
      ctx.error(`stat ${m.path}: No such file or directory`);
      ok = false;
      continue;
    }
    let filename = baseName(m.path);
    if (filename === '..') filename = '.';
    let target: string;
    if (g.matches.length === 1 && tmpDst !== undefined) target = dstIsDir ? pathAppend(tmpDst, filename) : tmpDst;
    else if (tmpDst !== undefined) target = pathAppend(tmpDst, filename);
    else target = makeAbsolute(filename, ctx.pwd);
    const resume = resumeFlag || ctx.options.resume;
    if (!ctx.options.quiet) ctx.out(resume ? `Resuming upload of ${m.path} to ${target}\n` : `Uploading ${m.path} to ${target}\n`);
    const recursive = isDir(st) && (rflag || ctx.options.recursive);
    let startPos = 0;
    if (!recursive) {
      if (!isRegular(st)) {
        ctx.error(`local "${localPath}" is not a regular file`);
        ok = false;
        continue;
      }
      if (resume) {
        let remoteSize: number;
        try {
          remoteSize = (await r.stat(target)).size ?? 0;
        } catch (err) {
          ctx.error(`stat remote: ${ctx.reason(err)}`);
          ok = false;
          continue;
        }
        if (remoteSize >= (st.size ?? 0)) {
          ctx.error(`resume "${localPath}": destination file same size or larger`);
          ok = false;
          continue;
        }
        startPos = remoteSize;
      }
    }
    if (recursive) {
      // sftp canonicalizes the destination of a tree first (its parent must exist).
      try {
        await r.realpath(target);
      } catch (err) {
        ctx.error(`realpath ${target}: ${serverWords(err)}`);
        ctx.error(`upload "${target}": path canonicalization failed`);
        ok = false;
        continue;
      }
      await announceTree(ctx, 'Entering', m.path, (dir) => localSubdirectories(ctx, dir));
    }
    const done = await withProgress(
      ctx,
      (cb) => r.put(localPath, target, { ...transferOptions(ctx, pflag, resume, recursive), ...cb }),
      (err) => describeTransferError(ctx, err, 'upload', localPath, target),
      startPos,
    );
    if (!done) ok = false;
    else if (!recursive && (fflag || ctx.options.fsync) && !(await remoteFsync(ctx, target))) ok = false;
  }
  return ok;
}

/** -f on put: fsync@openssh.com on the uploaded file (when the server offers it, as sftp skips it otherwise). */
async function remoteFsync(ctx: CommandContext, path: string): Promise<boolean> {
  const r = ctx.deps.remote;
  if (!r.extensions.has('fsync@openssh.com')) return true;
  try {
    const h = await r.open(path, 'r+');
    try {
      await r.fsync(h);
    } finally {
      await r.close(h).catch(() => undefined);
    }
    return true;
  } catch (err) {
    ctx.error(`remote fsync: ${ctx.reason(err)}`);
    return false;
  }
}

/**
 * The lines sftp prints for each directory of a recursive transfer
 * ("Retrieving dir", "Entering dir"), in its depth-first order, printed
 * before the transfer since the library moves a tree's files itself.
 */
async function announceTree(ctx: CommandContext, verb: string, top: string, subdirectories: (dir: string) => Promise<string[]>): Promise<void> {
  const visit = async (dir: string, depth: number): Promise<void> => {
    if (depth > MAX_DIR_DEPTH || ctx.interrupted) return;
    ctx.out(`${verb} ${dir}\n`);
    for (const sub of await subdirectories(dir)) await visit(pathAppend(dir, sub), depth + 1);
  };
  await visit(top, 0);
}

async function canonical(ctx: CommandContext, path: string): Promise<string> {
  try {
    return await ctx.deps.remote.realpath(path);
  } catch {
    return path;
  }
}

async function remoteSubdirectories(ctx: CommandContext, dir: string): Promise<string[]> {
  try {
    return (await ctx.readDirectory(dir)).filter((e) => e.filename !== '.' && e.filename !== '..' && isDir(e.attrs)).map((e) => e.filename);
  } catch {
    return [];
  }
}

async function localSubdirectories(ctx: CommandContext, dir: string): Promise<string[]> {
  const entries = await ctx.deps.local.globFs.readdir(dir);
  return (entries ?? []).filter((e) => e.name !== '.' && e.name !== '..' && isDir(e.attrs)).map((e) => e.name);
}

/** A failed get/put in sftp's words: the remote status with the operation, or the local error. */
function describeTransferError(ctx: CommandContext, err: unknown, direction: 'download' | 'upload', from: string, to: string): string {
  const status = sftpStatus(err);
  const lost = status === FX_NO_CONNECTION || status === FX_CONNECTION_LOST;
  if (lost) ctx.connectionLost = true;
  const e = err as { operation?: unknown; path?: unknown; syscall?: unknown; code?: unknown };
  if (status !== undefined) {
    // The connection went mid-transfer: nothing here; sftp's "Connection
    // closed" follows as the session ends (sftp's own read of the reply
    // fails before any message about the file).
    if (lost) return '';
    const op = typeof e.operation === 'string' ? e.operation : '';
    const path = typeof e.path === 'string' ? e.path : direction === 'download' ? from : to;
    const words = fxText(status);
    if (op === 'read') return `read remote "${path}" : ${words}`;
    if (op === 'write') return `write remote "${path}": ${words}`;
    if (op === 'stat' || op === 'lstat') return `stat remote: ${words}`;
    if (op === 'mkdir') return `remote mkdir "${path}": ${words}`;
    if (op === 'opendir' || op === 'readdir') return `remote readdir("${path}"): ${words}`;
    // Opening the file (or the library's whole-file step failing on it): sftp's send_open tags.
    if (direction === 'upload') return `dest open "${path}": ${words}`;
    return `remote open("${path}"): ${words}`;
  }
  if (typeof e.code === 'string' && e.code.startsWith('E')) {
    // The name the user gave, not the library's temporary one.
    const local = direction === 'download' ? to : from;
    if (e.syscall === 'mkdir') return `mkdir ${typeof e.path === 'string' && !e.path.includes('.nacre-part') ? e.path : local}: ${strerror(err)}`;
    return `open local "${local}": ${strerror(err)}`;
  }
  return err instanceof Error ? err.message : String(err);
}
