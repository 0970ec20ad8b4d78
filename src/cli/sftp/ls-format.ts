// What sftp's ls and df print, in OpenSSH's formats: strmode(3)'s
// permission string, fmt_scaled(3)'s human sizes, sftp-common.c's ls_file()
// long line (`?` for the link count, names or numbers for the owner, the
// date as ls shows it), the column layout of a short listing, the sort
// orders, and df's three tables. Pure: the clock and time zone come in.
import { pathToBytes } from '../../sftp-entry.js';

/** The attributes ls reads (the SFTP ATTRS fields it uses). */
export interface LsAttrs {
  size?: number;
  uid?: number;
  gid?: number;
  mode?: number;
  mtime?: number;
}

const S_IFMT = 0o170000;

/** strmode(3): `drwxr-xr-x ` (ten characters and a space where BSD puts its ACL mark). */
export function strmode(mode: number): string {
  let s: string;
  switch (mode & S_IFMT) {
    case 0o040000:
      s = 'd';
      break;
    case 0o020000:
      s = 'c';
      break;
    case 0o060000:
      s = 'b';
      break;
    case 0o100000:
      s = '-';
      break;
    case 0o120000:
      s = 'l';
      break;
    case 0o140000:
      s = 's';
      break;
    case 0o010000:
      s = 'p';
      break;
    default:
      s = '?';
  }
  const bit = (b: number, c: string): string => (mode & b ? c : '-');
  const special = (x: number, flag: number, on: string, off: string): string => (mode & flag ? (mode & x ? on : off) : mode & x ? 'x' : '-');
  s += bit(0o400, 'r') + bit(0o200, 'w') + special(0o100, 0o4000, 's', 'S');
  s += bit(0o040, 'r') + bit(0o020, 'w') + special(0o010, 0o2000, 's', 'S');
  s += bit(0o004, 'r') + bit(0o002, 'w') + special(0o001, 0o1000, 't', 'T');
  return s + ' ';
}

const SCALE = 'BKMGTPE';

/** fmt_scaled(3): `0B`, `512B`, `1.5K`, `22.6G`, `252G` (three significant digits at most). */
export function fmtScaled(value: number): string {
  const negative = value < 0;
  const abval = Math.abs(value);
  let unit = 0;
  let number = abval;
  let fract = 0;
  for (let i = 0; i < SCALE.length; i++) {
    const factor = 1024 ** i;
    if (Math.floor(abval / 1024) < factor) {
      unit = i;
      fract = i === 0 ? 0 : abval % factor;
      number = Math.floor(abval / factor);
      if (i > 0) fract = Math.floor(fract / 1024 ** (i - 1));
      break;
    }
  }
  fract = Math.floor((10 * fract + 512) / 1024);
  if (fract >= 10) {
    number++;
    fract = 0;
  }
  if (number === 0) return '0B';
  const sign = negative ? '-' : '';
  if (unit === 0 || number >= 100) {
    if (fract >= 5) number++;
    return `${sign}${number}${SCALE[unit]}`;
  }
  return `${sign}${number}.${fract}${SCALE[unit]}`;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const HALF_YEAR = (365 * 24 * 60 * 60) / 2;

/** ls's date: `Dec  3 09:39` within the last half year, else `Dec  3  2025` (local time). */
export function lsDate(mtime: number, nowSeconds: number): string {
  const d = new Date(mtime * 1000);
  const day = String(d.getDate()).padStart(2, ' ');
  const month = MONTHS[d.getMonth()]!;
  if (nowSeconds - HALF_YEAR < mtime && nowSeconds >= mtime) {
    return `${month} ${day} ${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
  }
  return `${month} ${day}  ${d.getFullYear()}`;
}

/**
 * ls_file() for a remote file: mode, `?` links, owner and group (names when
 * known, else numbers; at least 8 wide), size (human with `si`), date, name.
 */
export function lsLongLine(name: string, a: LsAttrs, nowSeconds: number, options: { si: boolean; user?: string; group?: string }): string {
  const user = options.user ?? String(a.uid ?? 0);
  const group = options.group ?? String(a.gid ?? 0);
  const size = a.size ?? 0;
  const sizeText = options.si ? fmtScaled(size).padStart(8) : String(size).padStart(8);
  return `${strmode(a.mode ?? 0)} ${'?'.padStart(3)} ${user.padEnd(8)} ${group.padEnd(8)} ${sizeText} ${lsDate(a.mtime ?? 0, nowSeconds)} ${name}`;
}

/**
 * The short listing's layout: as many columns of (longest name + 2) as fit
 * in `width`, each `width / columns` wide; a line per `columns` names.
 * `extra` is added to the longest name (sftp counts a listed subpath too).
 */
export function columnLayout(names: readonly string[], width: number, extra = 0): string {
  let longest = 0;
  for (const n of names) longest = Math.max(longest, n.length);
  longest += extra;
  const columns = Math.max(1, Math.floor(width / (longest + 2)));
  const colspace = Math.min(width, Math.floor(width / columns));
  let out = '';
  let c = 1;
  for (const n of names) {
    out += n.padEnd(colspace);
    if (c >= columns) {
      out += '\n';
      c = 1;
    } else {
      c++;
    }
  }
  if (c !== 1) out += '\n';
  return out;
}

export interface Sortable {
  readonly name: string;
  readonly attrs: LsAttrs;
}

/** Sorts as sftp's sdirent_comp: by name (byte order), mtime or size (largest/newest first), optionally reversed. */
export function sortEntries<T extends Sortable>(entries: T[], sort: 'name' | 'time' | 'size' | 'none', reverse: boolean): T[] {
  if (sort === 'none') return entries;
  const mul = reverse ? -1 : 1;
  const ncmp = (a: number, b: number): number => (a === b ? 0 : a < b ? 1 : -1);
  return entries.sort((x, y) => {
    if (sort === 'name') return mul * byteCompare(x.name, y.name);
    if (sort === 'time') return mul * ncmp(x.attrs.mtime ?? 0, y.attrs.mtime ?? 0);
    return mul * ncmp(x.attrs.size ?? 0, y.attrs.size ?? 0);
  });
}

/** strcmp on the names' bytes (UTF-8, and a name's bytes that are not UTF-8 as they are). */
export function byteCompare(a: string, b: string): number {
  const x = pathToBytes(a);
  const y = pathToBytes(b);
  return Buffer.compare(x, y);
}

export interface DfFigures {
  bsize: number;
  frsize: number;
  blocks: number;
  bfree: number;
  bavail: number;
  files: number;
  ffree: number;
  favail: number;
}

function capacity(total: number, free: number): string {
  if (total === 0) return 'ERR';
  return `${Math.floor((100 * (total - free)) / total)}%`.padStart(4);
}

/** sftp's df: 1K blocks, `-h` human sizes, or `-i` inodes. */
export function formatDf(st: DfFigures, mode: 'blocks' | 'human' | 'inodes'): string {
  if (mode === 'inodes') {
    const n = (v: number) => String(v).padStart(11);
    return `     Inodes        Used       Avail      (root)    %Capacity\n${n(st.files)} ${n(st.files - st.ffree)} ${n(st.favail)} ${n(st.ffree)}         ${capacity(st.files, st.ffree)}\n`;
  }
  if (mode === 'human') {
    const h = (v: number) => fmtScaled(v).padStart(7) + 'B';
    return `    Size     Used    Avail   (root)    %Capacity\n${h(st.blocks * st.frsize)} ${h((st.blocks - st.bfree) * st.frsize)} ${h(st.bavail * st.frsize)} ${h(st.bfree * st.frsize)}         ${capacity(st.blocks, st.bfree)}\n`;
  }
  const k = (v: number) => String(Math.floor((st.frsize * v) / 1024)).padStart(12);
  return `        Size         Used        Avail       (root)    %Capacity\n${k(st.blocks)} ${k(st.blocks - st.bfree)} ${k(st.bavail)} ${k(st.bfree)}         ${capacity(st.blocks, st.bfree)}\n`;
}
