// The in-memory tree the hostile SFTP server (sftp-harness.ts) serves, and
// the seeded file contents and hashes the SFTP failure tests compare by.
import { createHash } from 'node:crypto';
import type { FileAttributes } from '../../src/sftp/attrs.js';
import { S_IFDIR, S_IFREG } from '../../src/sftp/attrs.js';

export type Node =
  | { kind: 'file'; data: Buffer; mode: number; atime: number; mtime: number }
  | { kind: 'dir'; mode: number; atime: number; mtime: number }
  | { kind: 'link'; target: string; mode: number; atime: number; mtime: number };

/** An in-memory tree of absolute paths, '/' the root and working directory. */
export class MemoryTree {
  readonly nodes = new Map<string, Node>([['/', { kind: 'dir', mode: S_IFDIR | 0o755, atime: 0, mtime: 0 }]]);

  static normalize(path: string, cwd = '/'): string {
    const parts: string[] = [];
    for (const p of (path.startsWith('/') ? path : `${cwd}/${path}`).split('/')) {
      if (p === '' || p === '.') continue;
      if (p === '..') parts.pop();
      else parts.push(p);
    }
    return '/' + parts.join('/');
  }
  static parent(path: string): string {
    const i = path.lastIndexOf('/');
    return i <= 0 ? '/' : path.slice(0, i);
  }

  /** Follows symbolic links (a few levels) to the node a path names. */
  resolve(path: string, follow = true): [string, Node | undefined] {
    let p = MemoryTree.normalize(path);
    for (let hops = 0; hops < 16; hops++) {
      const n = this.nodes.get(p);
      if (!follow || n?.kind !== 'link') return [p, n];
      p = MemoryTree.normalize(n.target, MemoryTree.parent(p));
    }
    return [p, undefined];
  }

  writeFile(path: string, data: Uint8Array, mode = 0o644): void {
    const now = Math.floor(Date.now() / 1000);
    this.nodes.set(MemoryTree.normalize(path), { kind: 'file', data: Buffer.from(data), mode: S_IFREG | mode, atime: now, mtime: now });
  }
  readFile(path: string): Buffer | undefined {
    const [, n] = this.resolve(path);
    return n?.kind === 'file' ? n.data : undefined;
  }
  mkdir(path: string, mode = 0o755): void {
    this.nodes.set(MemoryTree.normalize(path), { kind: 'dir', mode: S_IFDIR | mode, atime: 0, mtime: 0 });
  }
  /** Names directly inside `dir`. */
  children(dir: string): string[] {
    const prefix = dir === '/' ? '/' : dir + '/';
    const out: string[] = [];
    for (const p of this.nodes.keys()) if (p !== dir && p.startsWith(prefix) && !p.slice(prefix.length).includes('/')) out.push(p.slice(prefix.length));
    return out.sort();
  }
}

export function attrsOf(n: Node): FileAttributes {
  return { size: n.kind === 'file' ? n.data.length : n.kind === 'link' ? n.target.length : 4096, uid: 0, gid: 0, mode: n.mode, atime: n.atime, mtime: n.mtime };
}

/** SHA-256 of a buffer, hex. */
export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** `n` bytes of a repeatable pattern that differs at every offset (so a misplaced chunk shows). */
export function patterned(n: number, seed = 1): Buffer {
  const b = Buffer.alloc(n);
  let x = seed >>> 0 || 1;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    b.writeUInt32LE(x, i);
  }
  for (; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}
