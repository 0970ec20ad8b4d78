// The open file and directory handles of NodeFileSystem.
import type { Dir, Dirent, Stats } from 'node:fs';
import { lstat, statfs, type FileHandle as NodeHandle } from 'node:fs/promises';
import type { FileAttributes } from '../../sftp/attrs.js';
import type { DirectoryEntry, DirectoryHandle, FileHandle, FileStats } from '../../sftp/filesystem.js';
import type { Statvfs } from '../../sftp/extensions.js';
import { clientPathErrors, toFileStats, toStatvfs } from './node-fs-convert.js';
import type { AccountNames } from './node-fs-users.js';

/**
 * The most one read returns. SFTP's READ length is the client's uint32; a
 * server caps it (sftp-server at 256 KiB), and this keeps a FileSystem used
 * without such a server from allocating gigabytes for one request.
 */
export const MAX_READ = 16 * 1024 * 1024;

/** Entries per READDIR reply, as sftp-server sends. */
const DIRECTORY_BATCH = 100;

export class NodeFileHandle implements FileHandle {
  constructor(
    private readonly handle: NodeHandle,
    /** The client's path, for messages. */
    private readonly path: string,
    private readonly names: AccountNames,
  ) {}

  /**
   * Reads into a fresh Buffer (allocUnsafe: it is filled before anyone sees
   * it) and returns a view of what was read, never a copy; it loops over the
   * kernel's short reads so fewer bytes mean the end of the file.
   */
  read(offset: number, length: number): Promise<Uint8Array> {
    return clientPathErrors('read', this.path, async () => {
      const want = Math.min(length, MAX_READ);
      const buf = Buffer.allocUnsafe(want);
      let got = 0;
      while (got < want) {
        const { bytesRead } = await this.handle.read(buf, got, want - got, offset + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      return buf.subarray(0, got);
    });
  }

  write(offset: number, data: Uint8Array): Promise<void> {
    return clientPathErrors('write', this.path, async () => {
      let done = 0;
      while (done < data.length) {
        const { bytesWritten } = await this.handle.write(data, done, data.length - done, offset + done);
        done += bytesWritten;
      }
    });
  }

  stat(): Promise<FileStats> {
    return clientPathErrors('fstat', this.path, async () => toFileStats(await this.handle.stat(), this.names));
  }

  setstat(attrs: FileAttributes): Promise<void> {
    return clientPathErrors('fsetstat', this.path, async () => {
      // sftp-server's order: size, mode, times, owner.
      if (attrs.size !== undefined) await this.handle.truncate(attrs.size);
      if (attrs.mode !== undefined) await this.handle.chmod(attrs.mode & 0o7777);
      if (attrs.atime !== undefined && attrs.mtime !== undefined) await this.handle.utimes(attrs.atime, attrs.mtime);
      if (attrs.uid !== undefined && attrs.gid !== undefined) await this.handle.chown(attrs.uid, attrs.gid);
    });
  }

  sync(): Promise<void> {
    return clientPathErrors('fsync', this.path, () => this.handle.sync());
  }

  statvfs(): Promise<Statvfs> {
    // The open file's own file system, through its descriptor (not its name, which may have moved).
    return clientPathErrors('fstatvfs', this.path, async () => toStatvfs(await statfs(`/proc/self/fd/${this.handle.fd}`)));
  }

  close(): Promise<void> {
    return clientPathErrors('close', this.path, () => this.handle.close());
  }
}

export interface DirectorySource {
  dir: Dir;
  /** The path that names entry `name` without following it. */
  entryPath(name: string): string;
  /** lstat of the directory and of its parent (`.` and `..`). */
  dots(): Promise<[Stats, Stats]>;
  /** Frees what the listing held besides `dir`. */
  release(): Promise<void>;
}

export class NodeDirectoryHandle implements DirectoryHandle {
  private first = true;
  private ended = false;

  constructor(
    private readonly source: DirectorySource,
    private readonly path: string,
    private readonly names: AccountNames,
  ) {}

  /**
   * Up to DIRECTORY_BATCH entries, each with its lstat. An entry removed
   * between the directory read and its lstat is left out, as sftp-server
   * leaves it. An entry whose name is not UTF-8 (Node decodes it with
   * U+FFFD, so the lstat of that name fails) is still listed, with only the
   * type its directory entry tells (see direntOnly).
   */
  read(): Promise<DirectoryEntry[] | null> {
    return clientPathErrors('readdir', this.path, async () => {
      const out: DirectoryEntry[] = [];
      if (this.first) {
        this.first = false;
        const [self, parent] = await this.source.dots();
        out.push({ name: '.', stats: await toFileStats(self, this.names) }, { name: '..', stats: await toFileStats(parent, this.names) });
      }
      // Until something to send: a batch whose entries all vanished is no reply.
      do {
        const batch: Dirent[] = [];
        while (!this.ended && batch.length + out.length < DIRECTORY_BATCH) {
          const entry = await this.source.dir.read();
          if (entry === null) this.ended = true;
          else batch.push(entry);
        }
        const stats = await Promise.all(batch.map((d) => lstat(this.source.entryPath(d.name)).catch(() => undefined)));
        for (let i = 0; i < batch.length; i++) {
          const s = stats[i];
          const d = batch[i]!;
          if (s !== undefined) out.push({ name: d.name, stats: await toFileStats(s, this.names) });
          else if (d.name.includes('\uFFFD')) out.push({ name: d.name, stats: direntOnly(d) });
        }
      } while (out.length === 0 && !this.ended);
      return out.length === 0 ? null : out;
    });
  }

  close(): Promise<void> {
    return clientPathErrors('closedir', this.path, async () => {
      try {
        await this.source.dir.close();
      } finally {
        await this.source.release();
      }
    });
  }
}

/**
 * What a directory entry alone tells of a file whose name could not be
 * looked up (not UTF-8): its type, nothing else (no permissions, ids 0,
 * size and times 0). Listing it beats leaving it out silently; reaching it
 * needs byte paths through the FileSystem interface (issue 13, open).
 */
function direntOnly(d: Dirent): FileStats {
  const type = d.isDirectory() ? 0o040000 : d.isSymbolicLink() ? 0o120000 : d.isFIFO() ? 0o010000 : d.isSocket() ? 0o140000 : d.isCharacterDevice() ? 0o020000 : d.isBlockDevice() ? 0o060000 : 0o100000;
  return { size: 0, uid: 0, gid: 0, mode: type, atime: 0, mtime: 0 };
}
