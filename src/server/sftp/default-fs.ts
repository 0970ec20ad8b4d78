// The file system a session serves unless told otherwise: the Node one, as
// this process's user, starting in `startDirectory`.
import type { FileSystem } from '../../sftp/filesystem.js';
import { NodeFileSystem } from './node-fs.js';

export function defaultFileSystem(startDirectory: string, root?: string): FileSystem {
  return new NodeFileSystem({ startDirectory, ...(root !== undefined ? { root } : {}) });
}
