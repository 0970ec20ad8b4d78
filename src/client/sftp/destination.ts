// Whether a get or put writes into the existing destination rather than
// under a temporary name renamed over it. A rename replaces the directory
// entry: a symbolic link would become a regular file (its target keeping the
// old contents), other hard links would keep the old contents, a device or
// FIFO would be replaced by a regular file, and the new file would take the
// writer's owner and mode. Like OpenSSH's sftp, those destinations are
// opened and written through instead.
import type { Stats } from 'node:fs';
import { S_IFLNK, S_IFMT, S_IFREG, type FileAttributes } from '../../sftp/attrs.js';
import { FX } from '../../sftp/constants.js';
import { SftpError } from '../../sftp/errors.js';
import { ASYNC_LOCAL_IO, type LocalIo } from './local-io.js';
import type { SftpOps } from './ops.js';

/** The local destination's entry, or null when there is none (then the temporary name is used). */
async function localEntry(path: string, io: LocalIo): Promise<Stats | null> {
  try {
    return await io.lstat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/**
 * Whether `get` writes into `local` in place: it exists and is a symbolic
 * link, not a regular file, a file with other hard links, or a file owned by
 * another user than this process's.
 */
export async function localWritesInPlace(local: string, io: LocalIo = ASYNC_LOCAL_IO): Promise<boolean> {
  const st = await localEntry(local, io);
  if (st === null) return false;
  if (st.isSymbolicLink() || !st.isFile() || st.nlink > 1) return true;
  const uid = process.getuid?.();
  return uid !== undefined && st.uid !== uid;
}

function isRegular(a: FileAttributes): boolean {
  return a.mode === undefined || (a.mode & S_IFMT) === S_IFREG;
}

function isLink(a: FileAttributes): boolean {
  return a.mode !== undefined && (a.mode & S_IFMT) === S_IFLNK;
}

/**
 * How `put` writes to `remote`: 'rename' (absent, or a plain regular file:
 * a temporary name renamed into place), or in place through the existing
 * entry, 'truncate' when what it reaches is a regular file (or not there
 * yet, a dangling link) and 'overwrite' for a device, FIFO or socket.
 * SFTP v3 carries no link count, so only links and non-regular files count;
 * an attribute set without a mode counts as a regular file.
 */
export async function remoteWriteMode(c: SftpOps, remote: string): Promise<'rename' | 'truncate' | 'overwrite'> {
  // Absent, or not to be looked at: the temporary file's creation says what is wrong.
  const entry = await c.probe(remote, false);
  if (typeof entry === 'number') return 'rename';
  if (!isLink(entry)) return isRegular(entry) ? 'rename' : 'overwrite';
  let target: FileAttributes;
  try {
    target = await c.stat(remote);
  } catch (err) {
    if (err instanceof SftpError && err.code === FX.NO_SUCH_FILE) return 'truncate';
    throw err;
  }
  return isRegular(target) ? 'truncate' : 'overwrite';
}
