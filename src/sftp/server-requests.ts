// The requests an SFTP server serves, by the names `sftp-server -Q requests`
// lists (which its -P and -p flags take), with whether each changes the file
// system (refused in read-only mode, -R), and the policy that decides
// whether one may run: read-only first, then the deny list, then the allow
// list, as sftp-server's request_permitted.
import { EXT, FXP } from './constants.js';

export interface ServedRequest {
  /** The name in `sftp-server -Q requests`, -P and -p. */
  readonly name: string;
  /** The packet type, or the extension name of an EXTENDED request. */
  readonly packet: number | string;
  /** It changes the file system: refused in read-only mode (OPEN decides by its flags). */
  readonly writes: boolean;
}

/** Every request, in sftp-server's order. */
export const SERVED_REQUESTS: readonly ServedRequest[] = [
  { name: 'open', packet: FXP.OPEN, writes: false },
  { name: 'close', packet: FXP.CLOSE, writes: false },
  { name: 'read', packet: FXP.READ, writes: false },
  { name: 'write', packet: FXP.WRITE, writes: true },
  { name: 'lstat', packet: FXP.LSTAT, writes: false },
  { name: 'fstat', packet: FXP.FSTAT, writes: false },
  { name: 'setstat', packet: FXP.SETSTAT, writes: true },
  { name: 'fsetstat', packet: FXP.FSETSTAT, writes: true },
  { name: 'opendir', packet: FXP.OPENDIR, writes: false },
  { name: 'readdir', packet: FXP.READDIR, writes: false },
  { name: 'remove', packet: FXP.REMOVE, writes: true },
  { name: 'mkdir', packet: FXP.MKDIR, writes: true },
  { name: 'rmdir', packet: FXP.RMDIR, writes: true },
  { name: 'realpath', packet: FXP.REALPATH, writes: false },
  { name: 'stat', packet: FXP.STAT, writes: false },
  { name: 'rename', packet: FXP.RENAME, writes: true },
  { name: 'readlink', packet: FXP.READLINK, writes: false },
  { name: 'symlink', packet: FXP.SYMLINK, writes: true },
  { name: 'posix-rename', packet: EXT.POSIX_RENAME, writes: true },
  { name: 'statvfs', packet: EXT.STATVFS, writes: false },
  { name: 'fstatvfs', packet: EXT.FSTATVFS, writes: false },
  { name: 'hardlink', packet: EXT.HARDLINK, writes: true },
  { name: 'fsync', packet: EXT.FSYNC, writes: true },
  { name: 'lsetstat', packet: EXT.LSETSTAT, writes: true },
  { name: 'limits', packet: EXT.LIMITS, writes: false },
  { name: 'expand-path', packet: EXT.EXPAND_PATH, writes: false },
  { name: 'copy-data', packet: EXT.COPY_DATA, writes: true },
  { name: 'home-directory', packet: EXT.HOME_DIRECTORY, writes: false },
  { name: 'users-groups-by-id', packet: EXT.USERS_GROUPS_BY_ID, writes: false },
];

/** The extensions announced in VERSION, with the version strings sftp-server gives them. */
export const ANNOUNCED_EXTENSIONS: readonly (readonly [string, string])[] = [
  [EXT.POSIX_RENAME, '1'],
  [EXT.STATVFS, '2'],
  [EXT.FSTATVFS, '2'],
  [EXT.HARDLINK, '1'],
  [EXT.FSYNC, '1'],
  [EXT.LSETSTAT, '1'],
  [EXT.LIMITS, '1'],
  [EXT.EXPAND_PATH, '1'],
  [EXT.COPY_DATA, '1'],
  [EXT.HOME_DIRECTORY, '1'],
  [EXT.USERS_GROUPS_BY_ID, '1'],
];

const BY_PACKET = new Map<number | string, ServedRequest>(SERVED_REQUESTS.map((r) => [r.packet, r]));

/** The served request for a packet type or extension name, if any. */
export function servedRequest(packet: number | string): ServedRequest | undefined {
  return BY_PACKET.get(packet);
}

/**
 * A comma-separated list of request names (-P, -p), checked: an unknown name
 * is a TypeError (sftp-server ignores them; a typo that silently allows
 * everything is worse).
 */
export function parseRequestList(list: string | readonly string[]): string[] {
  const names = (typeof list === 'string' ? list.split(',') : [...list]).map((n) => n.trim()).filter((n) => n !== '');
  for (const n of names) {
    if (!SERVED_REQUESTS.some((r) => r.name === n)) throw new TypeError(`unknown SFTP request name ${JSON.stringify(n)} (known: ${SERVED_REQUESTS.map((r) => r.name).join(' ')})`);
  }
  return names;
}

export interface RequestPolicy {
  readonly readOnly: boolean;
  /** -P: these are refused. */
  readonly deny: ReadonlySet<string> | null;
  /** -p: only these are served (null: all). */
  readonly allow: ReadonlySet<string> | null;
}

/** null when the request may run, else why not (sftp-server's verbose line). */
export function refusal(req: ServedRequest, policy: RequestPolicy): string | null {
  if (policy.readOnly && req.writes) return `Refusing ${req.name} request in read-only mode`;
  if (policy.deny?.has(req.name)) return `Refusing denylisted ${req.name} request`;
  if (policy.allow && !policy.allow.has(req.name)) return `Refusing non-allowlisted ${req.name} request`;
  return null;
}
