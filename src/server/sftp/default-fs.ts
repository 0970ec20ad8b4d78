// The file system a session serves unless told otherwise: the Node one, as
// this process's user, starting in `startDirectory`, optionally confined to
// `root` (ChrootDirectory) and creating files with `umask` (sftp-server -u)
// instead of the process's.
import type { FileSystem } from '../../sftp/filesystem.js';
import { NodeFileSystem } from './node-fs.js';

export function defaultFileSystem(startDirectory: string, options: { readonly root?: string | null; readonly umask?: number | null } = {}): FileSystem {
  return new NodeFileSystem({
    startDirectory,
    ...(options.root != null ? { root: options.root } : {}),
    ...(options.umask != null ? { umask: options.umask } : {}),
  });
}
