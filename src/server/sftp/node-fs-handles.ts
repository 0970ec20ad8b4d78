// The open file and directory handles of NodeFileSystem.
import type { Dir, Stats } from 'node:fs';
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
   * leaves it.
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
        const batch: string[] = [];
        while (!this.ended && batch.length + out.length < DIRECTORY_BATCH) {
          const entry = await this.source.dir.read();
          if (entry === null) this.ended = true;
          else batch.push(entry.name);
        }
        const stats = await Promise.all(batch.map((name) => lstat(this.source.entryPath(name)).catch(() => undefined)));
        for (let i = 0; i < batch.length; i++) {
          const s = stats[i];
          if (s !== undefined) out.push({ name: batch[i]!, stats: await toFileStats(s, this.names) });
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
