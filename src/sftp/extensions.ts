// The data of each extension request OpenSSH's sftp-server knows (PROTOCOL
// section 4 and the copy-data, home-directory drafts), and of the
// EXTENDED_REPLY packets that answer them. The EXTENDED packet itself
// (`request` name, then this data) is in messages.ts.
import { f, struct, type Field, type MessageOf } from '../messages/schema.js';
import { attrsField, u64 } from './attrs.js';
import { EXT, MAX_HANDLE } from './constants.js';
import { pathField } from './messages.js';

const path = () => pathField();
const handle = () => f.bytes(MAX_HANDLE);

/** Request data, by extension name. */
export const ExtRequest = {
  [EXT.POSIX_RENAME]: struct({ oldPath: path(), newPath: path() }, EXT.POSIX_RENAME),
  [EXT.STATVFS]: struct({ path: path() }, EXT.STATVFS),
  [EXT.FSTATVFS]: struct({ handle: handle() }, EXT.FSTATVFS),
  [EXT.HARDLINK]: struct({ oldPath: path(), newPath: path() }, EXT.HARDLINK),
  [EXT.FSYNC]: struct({ handle: handle() }, EXT.FSYNC),
  [EXT.LSETSTAT]: struct({ path: path(), attrs: attrsField }, EXT.LSETSTAT),
  [EXT.LIMITS]: struct({}, EXT.LIMITS),
  [EXT.EXPAND_PATH]: struct({ path: path() }, EXT.EXPAND_PATH),
  [EXT.COPY_DATA]: struct(
    { readHandle: handle(), readOffset: u64(), length: u64(), writeHandle: handle(), writeOffset: u64() },
    EXT.COPY_DATA,
  ),
  [EXT.HOME_DIRECTORY]: struct({ username: f.text(1024) }, EXT.HOME_DIRECTORY),
  /** Both lists are strings holding uint32s back to back. */
  [EXT.USERS_GROUPS_BY_ID]: struct({ uids: f.wrapped(f.repeated(f.uint32(), 1024)), gids: f.wrapped(f.repeated(f.uint32(), 1024)) }, EXT.USERS_GROUPS_BY_ID),
} as const;
export type ExtRequestData<N extends keyof typeof ExtRequest> = MessageOf<(typeof ExtRequest)[N]>;

/**
 * A uint64 that is an identifier, not a quantity (statvfs's fsid): read as
 * the nearest number when past 2^53 rather than refused, since ext4 fills
 * all 64 bits; nothing counts with it.
 */
function opaqueU64(): Field<number> {
  return {
    kind: 'uint64',
    minBytes: 8,
    toEnd: false,
    read: (r, p) => Number(r.uint64(p)),
    write(w, v) {
      if (!Number.isInteger(v) || v < 0 || v >= 2 ** 64) throw new RangeError(`uint64 field: ${v} is not a 64-bit unsigned integer`);
      w.uint64(BigInt(v));
    },
  };
}

/** statvfs@openssh.com and fstatvfs@openssh.com reply: struct statvfs's fields. */
export const StatvfsReply = struct(
  {
    bsize: u64(),
    frsize: u64(),
    blocks: u64(),
    bfree: u64(),
    bavail: u64(),
    files: u64(),
    ffree: u64(),
    favail: u64(),
    /** An id that may use all 64 bits (ext4's does): the nearest number, not refused. */
    fsid: opaqueU64(),
    flag: u64(),
    namemax: u64(),
  },
  'statvfs reply',
);
export type Statvfs = MessageOf<typeof StatvfsReply>;

/** limits@openssh.com reply; 0 means "no limit" for each. */
export const LimitsReply = struct(
  { maxPacketLength: u64(), maxReadLength: u64(), maxWriteLength: u64(), maxOpenHandles: u64() },
  'limits reply',
);
export type SftpLimits = MessageOf<typeof LimitsReply>;

/** users-groups-by-id@openssh.com reply: strings holding names, in the order asked ("" for unknown ids). */
export const UsersGroupsReply = struct(
  { usernames: f.wrapped(f.repeated(f.text(1024), 1024)), groupnames: f.wrapped(f.repeated(f.text(1024), 1024)) },
  'users-groups-by-id reply',
);
