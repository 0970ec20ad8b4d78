// Paths resolved inside a root directory, as sshd's ChrootDirectory confines
// an sftp-server, without chroot(2) (which would take the whole server
// process with it).
//
// How, and why this way. The kernel is never given a path that it could
// resolve outside the root. A walk opens the root, then each component with
// O_PATH|O_NOFOLLOW relative to the directory before it (through that
// directory's handle: `/proc/self/fd/<dir>/<name>`), so every step is pinned
// to a directory already inside. It decides itself what a component is
// (fstat of the handle it got): `..` pops its own stack and never goes above
// the root; a symbolic link is read and its target walked the same way (an
// absolute target from the root, as a chrooted process sees it), at most 40
// of them (ELOOP). The operation then acts on what the walk holds:
//   - on an object: through its O_PATH handle (`/proc/self/fd/<fd>` reaches
//     exactly the inode the walk vetted, not whatever the name holds now),
//     e.g. chmod, chown, utimes, truncate, statfs, reopening a file to read
//     or write it, opendir;
//   - on a name (create, unlink, rmdir, rename, link, symlink, readlink):
//     `/proc/self/fd/<dir>/<name>` with the parent pinned and a last
//     component the kernel does not follow (creating opens add O_NOFOLLOW).
// So a symbolic link another process swaps in for a directory or file
// between the walk and the use is either not followed (names) or not looked
// at (handles); the worst it does is make the operation fail.
//
// The other choice, opening by path and then checking where the opened
// handle's /proc/self/fd link points, needs the check after every open,
// cannot protect operations that take a path (rename, unlink, chmod), and
// reads a path string that is ambiguous for deleted or oddly named files.
//
// What remains, as under chroot: a hard link made on the host from inside
// the root to a file outside it gives that file (the server only ever links
// names that are both inside); a mount point inside the root is followed; a
// directory moved out of the root by another process while an operation
// holds its handle is still used for that one operation (`..` is never
// asked of the kernel, so nothing above it is reachable).
import { constants, type Stats } from 'node:fs';
import { open, readlink, type FileHandle } from 'node:fs/promises';
import { fromFsName, fsPath } from '../../io/node/byte-paths.js';
import { fsError } from './node-fs-convert.js';

/** O_PATH, which node:fs does not name (Linux's value on every architecture Node runs on). */
export const O_PATH = 0o10000000;
const MAX_SYMLINKS = 40;
/**
 * Lookups one walk may make: far more than any real path needs, few enough
 * that a path of PATH_MAX or links expanding into many components cannot
 * make one request hold the I/O threads for long.
 */
const MAX_LOOKUPS = 1024;

/** The path through which the kernel reaches what `handle` holds. */
export function viaHandle(handle: FileHandle): string {
  return `/proc/self/fd/${handle.fd}`;
}

/** The path naming `name` in the directory `dir` holds. */
export function inDirectory(dir: FileHandle, name: string): string {
  return `/proc/self/fd/${dir.fd}/${name}`;
}

/**
 * What a walk found. `name` is the last component in `dir`; it is undefined
 * when the path named a directory by `/`, `.` or `..` (`target` is then that
 * directory and `dir` its parent).
 */
export interface Walked {
  /** The path as the client sees it: absolute, canonical, inside the root. */
  logical: string;
  dir: FileHandle;
  name: string | undefined;
  /** The object (O_PATH; the link itself when not followed), when asked for and present. */
  target: FileHandle | undefined;
  /** lstat of `target`. */
  stats: Stats | undefined;
  /** Keeps `target` open past release(); the caller closes it. */
  keepTarget(): void;
  release(): Promise<void>;
}

/**
 * `entry`: the last component's directory and name only (for operations on
 * names); `object`: the object too, following a link at the end; `link`:
 * the object, not following a link at the end.
 */
export type WalkKind = 'entry' | 'object' | 'link';

export class ConfinedRoot {
  constructor(readonly root: string) {}

  /** Walks an absolute client path. A missing last component is no error (target is undefined). */
  async walk(path: string, kind: WalkKind): Promise<Walked> {
    const held = new Set<FileHandle>();
    const release = async () => {
      const all = [...held];
      held.clear();
      await Promise.all(all.map((h) => h.close().catch(() => undefined)));
    };
    const openHeld = async (p: string, flags: number) => {
      const h = await open(fsPath(p), flags);
      held.add(h);
      return h;
    };
    try {
      const stack = [await openHeld(this.root, O_PATH | constants.O_DIRECTORY)];
      const names: string[] = [];
      // A trailing slash asks for a directory: a link there is followed.
      const wantDir = path.length > 1 && path.endsWith('/');
      let pending = components(path);
      let links = 0;
      let lookups = 0;
      const done = (dir: FileHandle, name: string | undefined, target: FileHandle | undefined, stats: Stats | undefined): Walked => ({
        logical: '/' + (name === undefined ? names : [...names, name]).join('/'),
        dir,
        name,
        target,
        stats,
        keepTarget: () => void (target !== undefined && held.delete(target)),
        release,
      });
      while (pending.length > 0) {
        const part = pending.shift()!;
        if (part === '.') continue;
        if (part === '..') {
          if (stack.length > 1) {
            stack.pop();
            names.pop();
          }
          continue;
        }
        const dir = stack[stack.length - 1]!;
        const last = pending.length === 0;
        if (last && kind === 'entry' && !wantDir) return done(dir, part, undefined, undefined);
        if (++lookups > MAX_LOOKUPS) throw fsError('ELOOP', 'too many components to look up', 'walk', path);
        let handle: FileHandle;
        try {
          handle = await openHeld(inDirectory(dir, part), O_PATH | constants.O_NOFOLLOW);
        } catch (err) {
          if (last && (err as { code?: unknown }).code === 'ENOENT') return done(dir, part, undefined, undefined);
          throw err;
        }
        const stats = await handle.stat();
        if (stats.isSymbolicLink() && (!last || kind === 'object' || wantDir)) {
          if (++links > MAX_SYMLINKS) throw fsError('ELOOP', 'too many symbolic links encountered', 'walk', path);
          held.delete(handle);
          await handle.close();
          let target: string;
          try {
            target = fromFsName(await readlink(fsPath(inDirectory(dir, part)), { encoding: 'buffer' }));
          } catch (err) {
            // Swapped for something else since the open: look at it again.
            if ((err as { code?: unknown }).code !== 'EINVAL' && (err as { code?: unknown }).code !== 'ENOENT') throw err;
            pending.unshift(part);
            continue;
          }
          if (target.startsWith('/')) {
            stack.length = 1;
            names.length = 0;
          }
          pending = [...components(target), ...pending];
          continue;
        }
        if (last) {
          if (wantDir && !stats.isDirectory()) throw fsError('ENOTDIR', 'not a directory', 'walk', path);
          return done(dir, part, handle, stats);
        }
        if (!stats.isDirectory()) throw fsError('ENOTDIR', 'not a directory', 'walk', path);
        stack.push(handle);
        names.push(part);
      }
      const self = stack[stack.length - 1]!;
      const parent = stack[stack.length - 2] ?? self;
      return done(parent, undefined, self, await self.stat());
    } catch (err) {
      await release();
      throw err;
    }
  }
}

function components(path: string): string[] {
  return path.split('/').filter((p) => p !== '');
}
