// Changing the user's known_hosts file without ever leaving it half-written:
// the new content goes to a temporary file in the same directory, is synced to
// disk, and replaces the old file by rename(2), which is atomic. On any error
// the temporary file is removed and the user's file is as it was.
import { promises as fsp } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { KeyFileError } from '../keys/index.js';

/** The file operations an update uses; tests pass failing ones. */
export interface KnownHostsFileOps {
  /** The file's text, or undefined when it does not exist. */
  read(path: string): Promise<string | undefined>;
  /** The path a symbolic link leads to (the path itself otherwise), or undefined when nothing is there. */
  resolve(path: string): Promise<string | undefined>;
  /** Permission bits of an existing file, or undefined. */
  mode(path: string): Promise<number | undefined>;
  makeDirectory(path: string, mode: number): Promise<void>;
  /** Creates `path` (which must not exist) with `mode`, writes `text` and syncs it to disk. */
  writeNew(path: string, text: string, mode: number): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  remove(path: string): Promise<void>;
  /** Syncs a directory, so a rename in it survives a crash; best effort. */
  syncDirectory(path: string): Promise<void>;
}

/** Nothing at the path: it does not exist, or a part of it before the end is a file. */
function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

export const nodeKnownHostsFileOps: KnownHostsFileOps = {
  async read(path) {
    try {
      return await fsp.readFile(path, 'utf8');
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  },
  async resolve(path) {
    try {
      return await fsp.realpath(path);
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  },
  async mode(path) {
    try {
      return (await fsp.stat(path)).mode & 0o777;
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  },
  async makeDirectory(path, mode) {
    await fsp.mkdir(path, { recursive: true, mode });
  },
  async writeNew(path, text, mode) {
    const file = await fsp.open(path, 'wx', mode);
    try {
      await file.writeFile(text, 'utf8');
      await file.sync();
    } finally {
      await file.close();
    }
  },
  rename: (from, to) => fsp.rename(from, to),
  remove: (path) => fsp.rm(path, { force: true }),
  async syncDirectory(path) {
    let dir: fsp.FileHandle | undefined;
    try {
      dir = await fsp.open(path, 'r');
      await dir.sync();
    } catch {
      // Some file systems cannot sync a directory; the rename is still atomic.
    } finally {
      await dir?.close().catch(() => undefined);
    }
  },
};

/** Mode of a known_hosts file Nacre creates, and of the directory it creates for it (as ssh does for ~/.ssh). */
const NEW_FILE_MODE = 0o600;
const NEW_DIRECTORY_MODE = 0o700;

/**
 * Rewrites the known_hosts file at `path` with `change(current)`, where
 * `current` is its text now ('' when absent). `change` returns the new text,
 * or null to leave the file alone; it may throw to refuse (that error is
 * passed on). A symbolic link is followed, so the file it names is replaced
 * and the link kept; an existing file keeps its permission bits. Failures to
 * read or write are a KeyFileError (`io`) naming the file.
 */
export async function updateKnownHostsFile(path: string, change: (current: string) => string | null, ops: KnownHostsFileOps = nodeKnownHostsFileOps): Promise<void> {
  const io = (what: string, err: unknown) => new KeyFileError(`cannot ${what} the known_hosts file: ${(err as Error).message}`, 'io', { path, cause: err });
  let target: string;
  let current: string;
  let mode: number;
  try {
    target = (await ops.resolve(path)) ?? path;
    current = (await ops.read(target)) ?? '';
    mode = (await ops.mode(target)) ?? NEW_FILE_MODE;
  } catch (err) {
    throw io('read', err);
  }
  const next = change(current);
  if (next === null) return;
  const dir = dirname(target);
  const temp = join(dir, `.${basename(target)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await ops.makeDirectory(dir, NEW_DIRECTORY_MODE);
    await ops.writeNew(temp, next, mode);
    await ops.rename(temp, target);
  } catch (err) {
    await ops.remove(temp).catch(() => undefined);
    throw io('write', err);
  }
  await ops.syncDirectory(dir);
}
