// What an SFTP server says in words, as OpenSSH's sftp-server says it: the
// `ls -l` long names of READDIR (ls_file), the STATUS for an errno
// (errno_to_portable), OPEN's flags in its log lines (string_from_portable).
// Pure: the local time zone and the current time come in as a
// `ServerClock`, never from a clock of this module's own.
import type { FileAttributes } from './attrs.js';
import { FX, FXF, STATUS_TEXT } from './constants.js';
import type { FileStats } from './filesystem.js';
import { showPath } from '../wire/path-bytes.js';

/** The time a server formats dates with: now, and the local time zone's offset at an instant. */
export interface ServerClock {
  /** Seconds since the epoch. */
  now(): number;
  /** Minutes east of UTC at `seconds` since the epoch (Date's getTimezoneOffset negated). */
  utcOffsetMinutes(seconds: number): number;
}

/** UTC, and a "now" that makes every date print with its year (for servers with no clock). */
export const UTC_CLOCK: ServerClock = { now: () => Number.MAX_SAFE_INTEGER, utcOffsetMinutes: () => 0 };

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** BSD strmode(3): `drwxr-xr-x ` (ten characters and a space, as sftp-server prints it). */
export function modeString(mode: number): string {
  const type: Record<number, string> = { 0o040000: 'd', 0o100000: '-', 0o120000: 'l', 0o020000: 'c', 0o060000: 'b', 0o010000: 'p', 0o140000: 's' };
  let s = type[mode & 0o170000] ?? '?';
  const triplet = (r: number, w: number, x: number, special: number, on: string, off: string) =>
    (mode & r ? 'r' : '-') + (mode & w ? 'w' : '-') + (mode & special ? (mode & x ? on : off) : mode & x ? 'x' : '-');
  s += triplet(0o400, 0o200, 0o100, 0o4000, 's', 'S');
  s += triplet(0o040, 0o020, 0o010, 0o2000, 's', 'S');
  s += triplet(0o004, 0o002, 0o001, 0o1000, 't', 'T');
  return s + ' ';
}

/**
 * strftime's `%b %e %H:%M` for a date in the last six months (and not in
 * the future), else `%b %e  %Y`, in the clock's time zone.
 */
export function listingDate(mtime: number, clock: ServerClock): string {
  const local = new Date((mtime + clock.utcOffsetMinutes(mtime) * 60) * 1000);
  if (Number.isNaN(local.getTime())) return '';
  const month = MONTHS[local.getUTCMonth()]!;
  const day = String(local.getUTCDate()).padStart(2, ' ');
  const now = clock.now();
  if (now - (365 * 24 * 60 * 60) / 2 < mtime && now >= mtime) {
    return `${month} ${day} ${String(local.getUTCHours()).padStart(2, '0')}:${String(local.getUTCMinutes()).padStart(2, '0')}`;
  }
  return `${month} ${day}  ${local.getUTCFullYear()}`;
}

/**
 * sftp-server's long name for a directory entry (ls_file with remote 0):
 * mode, link count, owner and group (names, else the ids) padded to 8,
 * size, date, name.
 */
export function longName(name: string, st: FileStats, clock: ServerClock): string {
  const user = st.owner ?? String(st.uid >>> 0);
  const group = st.group ?? String(st.gid >>> 0);
  const links = String(st.nlink ?? 1).padStart(3, ' ');
  return `${modeString(st.mode)} ${links} ${user.padEnd(8, ' ')} ${group.padEnd(8, ' ')} ${String(st.size).padStart(8, ' ')} ${listingDate(st.mtime, clock)} ${name}`;
}

/** A FileStats as the ATTRS of a STAT or NAME reply: every v3 field. */
export function statsToAttributes(st: FileStats): FileAttributes {
  return { size: st.size, uid: st.uid >>> 0, gid: st.gid >>> 0, mode: st.mode >>> 0, atime: st.atime, mtime: st.mtime };
}

/** OPEN's pflags as sftp-server logs them: `READ,WRITE,CREATE,TRUNCATE`. */
export function openFlagsText(pflags: number): string {
  const names: [number, string][] = [
    [FXF.READ, 'READ'],
    [FXF.WRITE, 'WRITE'],
    [FXF.APPEND, 'APPEND'],
    [FXF.CREAT, 'CREATE'],
    [FXF.TRUNC, 'TRUNCATE'],
    [FXF.EXCL, 'EXCL'],
  ];
  return names
    .filter(([bit]) => pflags & bit)
    .map(([, n]) => n)
    .join(',');
}

/** strerror's words for the errno names a file system is likely to give, for FAILURE's message. */
const ERRNO_TEXT: Readonly<Record<string, string>> = {
  EEXIST: 'File exists',
  ENOTEMPTY: 'Directory not empty',
  EISDIR: 'Is a directory',
  ENOSPC: 'No space left on device',
  EDQUOT: 'Disk quota exceeded',
  EROFS: 'Read-only file system',
  EXDEV: 'Invalid cross-device link',
  EMLINK: 'Too many links',
  EBUSY: 'Device or resource busy',
  EIO: 'Input/output error',
  EFBIG: 'File too large',
  EMFILE: 'Too many open files',
  ENFILE: 'Too many open files in system',
  ETXTBSY: 'Text file busy',
};

/**
 * The STATUS for an error from a FileSystem, by its errno `code` as
 * sftp-server's errno_to_portable maps errno: ENOENT, ENOTDIR, EBADF and
 * ELOOP are NO_SUCH_FILE; EPERM, EACCES and EFAULT PERMISSION_DENIED;
 * ENAMETOOLONG and EINVAL BAD_MESSAGE; ENOSYS and ENOTSUP OP_UNSUPPORTED;
 * anything else FAILURE. The message is sftp-server's for the code, with
 * strerror's words for a FAILURE whose errno is known.
 */
export function statusForError(err: unknown): { code: number; message: string } {
  const errno = typeof (err as { code?: unknown } | null)?.code === 'string' ? (err as { code: string }).code : '';
  let code: number;
  switch (errno) {
    case 'ENOENT':
    case 'ENOTDIR':
    case 'EBADF':
    case 'ELOOP':
      code = FX.NO_SUCH_FILE;
      break;
    case 'EPERM':
    case 'EACCES':
    case 'EFAULT':
      code = FX.PERMISSION_DENIED;
      break;
    case 'ENAMETOOLONG':
    case 'EINVAL':
      code = FX.BAD_MESSAGE;
      break;
    case 'ENOSYS':
    case 'ENOTSUP':
    case 'EOPNOTSUPP':
      code = FX.OP_UNSUPPORTED;
      break;
    default:
      code = FX.FAILURE;
  }
  const message = code === FX.FAILURE && ERRNO_TEXT[errno] !== undefined ? ERRNO_TEXT[errno] : STATUS_TEXT[code]!;
  return { code, message };
}

/**
 * A path quoted for a log line, as sftp-server's `"%s"`, with control
 * characters escaped: a client's file name must not forge log lines. Bytes
 * that are not UTF-8 are shown as `\377`, as OpenSSH's log shows them.
 */
export function logPath(path: string): string {
  // eslint-disable-next-line no-control-regex
  return `"${showPath(path).replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)}"`;
}

/** sftp-server's lines for a SETSTAT/FSETSTAT/lsetstat: one per attribute set. */
export function setLogLines(path: string, a: FileAttributes, clock: ServerClock): string[] {
  const p = logPath(path);
  const lines: string[] = [];
  if (a.size !== undefined) lines.push(`set ${p} size ${a.size}`);
  if (a.mode !== undefined) lines.push(`set ${p} mode ${(a.mode & 0o7777).toString(8).padStart(4, '0')}`);
  if (a.mtime !== undefined) lines.push(`set ${p} modtime ${logTime(a.mtime, clock)}`);
  if (a.uid !== undefined) lines.push(`set ${p} owner ${a.uid} group ${a.gid}`);
  return lines;
}

/** sftp-server's close line: `close "PATH" bytes read N written M`, or `closedir "PATH"`; `forced` ones at the end of a session. */
export function closeLogLine(kind: 'file' | 'dir', path: string, bytesRead: number, bytesWritten: number, forced: boolean): string {
  const prefix = forced ? 'forced ' : '';
  return kind === 'file' ? `${prefix}close ${logPath(path)} bytes read ${bytesRead} written ${bytesWritten}` : `${prefix}closedir ${logPath(path)}`;
}

/** strftime `%Y%m%d-%H:%M:%S` in the clock's time zone. */
function logTime(seconds: number, clock: ServerClock): string {
  const d = new Date((seconds + clock.utcOffsetMinutes(seconds) * 60) * 1000);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}-${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`;
}
