// Files and trees for the SFTP integrity tests: the sizes section 5 names,
// made from a seeded pattern (a misplaced or repeated chunk changes the
// hash), a tree of awkward names, symbolic links and empty directories with
// set modes and times, and a description of a tree to compare two copies by.
import { createHash } from 'node:crypto';
import { createReadStream, lstatSync, mkdirSync, readdirSync, readlinkSync, symlinkSync, utimesSync, writeFileSync, chmodSync, openSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';

/** The sizes of section 5 but the 200 MiB one (made apart, in /dev/shm). */
export const SMALL_SIZES = [0, 1, 32767, 32768, 32769, 1024 * 1024 + 1] as const;
export const BIG_SIZE = 200 * 1024 * 1024;

/** `n` bytes of a seeded xorshift pattern: different at every 4-byte step. */
export function pattern(n: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  let x = (seed * 2654435761) >>> 0 || 1;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    b.writeUInt32LE(x, i);
  }
  for (; i < n; i++) b[i] = (i + seed) & 0xff;
  return b;
}

/** Writes a file of `size` bytes in 8 MiB pieces (each seeded by its index), so a 200 MiB one needs no 200 MiB buffer. */
export function writePatternFile(path: string, size: number, seed: number): void {
  const fd = openSync(path, 'w', 0o644);
  try {
    const piece = 8 * 1024 * 1024;
    for (let at = 0, k = 0; at < size; at += piece, k++) writeSync(fd, pattern(Math.min(piece, size - at), seed * 1000 + k));
  } finally {
    closeSync(fd);
  }
}

export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** Names a careless client or server mangles. */
export const ODD_NAMES = ['with space', 'new\nline', 'double"quote', "single'quote", 'ünïcødé 日本語', 'back\\slash', '-dash', 'tab\tname', 'trailing space '] as const;

const T0 = 1_600_000_000;

/**
 * A tree under `root`: nested directories with odd names, files in each
 * with distinct modes and times, an empty directory (and an empty one
 * inside an odd one), a symbolic link to a file, one to a directory and a
 * dangling one. Times are whole seconds in the past, so preserving them is
 * visible.
 */
export function makeOddTree(root: string): void {
  mkdirSync(root, { recursive: true });
  const dirs = ['', 'sub', 'sub/deeper', ...ODD_NAMES.map((n) => `odd ${n}`), 'empty', `odd ${ODD_NAMES[0]}/empty inside`];
  let seed = 1;
  for (const d of dirs) mkdirSync(join(root, d), { recursive: true });
  for (const d of ['', 'sub', 'sub/deeper', `odd ${ODD_NAMES[1]}`]) {
    for (const name of ODD_NAMES) {
      const p = join(root, d, name);
      writeFileSync(p, pattern(seed * 37, seed));
      chmodSync(p, [0o600, 0o644, 0o640, 0o755, 0o700][seed % 5]!);
      utimesSync(p, T0 + seed * 1000, T0 + seed * 1001);
      seed++;
    }
  }
  writeFileSync(join(root, 'sub/zero'), '');
  utimesSync(join(root, 'sub/zero'), T0, T0 + 7);
  symlinkSync('sub/zero', join(root, 'link to file'));
  symlinkSync('sub', join(root, 'link to dir'));
  symlinkSync('no such target', join(root, 'dangling link'));
  // directories last: making their contents changed their times
  for (const [i, d] of [...dirs].reverse().entries()) {
    chmodSync(join(root, d), i % 2 ? 0o755 : 0o750);
    utimesSync(join(root, d), T0 + i * 10, T0 + i * 11);
  }
}

export interface TreeEntry {
  /** Path relative to the root ('' for the root). */
  path: string;
  type: 'file' | 'dir' | 'link' | 'other';
  mode: number;
  mtime: number;
  /** A file's SHA-256, a link's target. */
  content: string;
}

/** Every entry under `root`, sorted by path, symbolic links not followed. */
export async function describeTree(root: string): Promise<TreeEntry[]> {
  const out: TreeEntry[] = [];
  const walk = async (rel: string): Promise<void> => {
    const p = rel === '' ? root : join(root, rel);
    const st = lstatSync(p);
    const base = { path: rel, mode: st.mode & 0o7777, mtime: Math.floor(st.mtimeMs / 1000) };
    if (st.isSymbolicLink()) out.push({ ...base, type: 'link', content: readlinkSync(p) });
    else if (st.isFile()) out.push({ ...base, type: 'file', content: await sha256File(p) });
    else if (st.isDirectory()) {
      out.push({ ...base, type: 'dir', content: '' });
      for (const name of readdirSync(p).sort()) await walk(rel === '' ? name : `${rel}/${name}`);
    } else out.push({ ...base, type: 'other', content: '' });
  };
  await walk('');
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/**
 * What a tree looks like for comparison: names, types and contents always;
 * modes and modification times when `preserved`. The root's own mode and
 * time are left out (it is the destination directory, made by the test).
 */
export function comparable(entries: TreeEntry[], preserved: boolean): string[] {
  return entries
    .filter((e) => e.path !== '')
    .map((e) => JSON.stringify([e.path, e.type, e.content, ...(preserved && e.type !== 'link' ? [e.mode.toString(8), e.mtime] : [])]));
}
