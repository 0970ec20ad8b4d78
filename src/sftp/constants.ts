// SFTP version 3 (draft-ietf-secsh-filexfer-02) numbers, written once, and
// the extension names OpenSSH's sftp-server offers (PROTOCOL, section 4).

/** The protocol version Nacre speaks (OpenSSH's). */
export const SFTP_VERSION = 3;

/** Packet types. */
export const FXP = {
  INIT: 1,
  VERSION: 2,
  OPEN: 3,
  CLOSE: 4,
  READ: 5,
  WRITE: 6,
  LSTAT: 7,
  FSTAT: 8,
  SETSTAT: 9,
  FSETSTAT: 10,
  OPENDIR: 11,
  READDIR: 12,
  REMOVE: 13,
  MKDIR: 14,
  RMDIR: 15,
  REALPATH: 16,
  STAT: 17,
  RENAME: 18,
  READLINK: 19,
  SYMLINK: 20,
  STATUS: 101,
  HANDLE: 102,
  DATA: 103,
  NAME: 104,
  ATTRS: 105,
  EXTENDED: 200,
  EXTENDED_REPLY: 201,
} as const;

/** STATUS codes. */
export const FX = {
  OK: 0,
  EOF: 1,
  NO_SUCH_FILE: 2,
  PERMISSION_DENIED: 3,
  FAILURE: 4,
  BAD_MESSAGE: 5,
  NO_CONNECTION: 6,
  CONNECTION_LOST: 7,
  OP_UNSUPPORTED: 8,
} as const;
export type SftpStatusCode = (typeof FX)[keyof typeof FX];

/** The words sftp-server uses for each status (its default messages). */
export const STATUS_TEXT: Readonly<Record<number, string>> = {
  [FX.OK]: 'Success',
  [FX.EOF]: 'End of file',
  [FX.NO_SUCH_FILE]: 'No such file',
  [FX.PERMISSION_DENIED]: 'Permission denied',
  [FX.FAILURE]: 'Failure',
  [FX.BAD_MESSAGE]: 'Bad message',
  [FX.NO_CONNECTION]: 'No connection',
  [FX.CONNECTION_LOST]: 'Connection lost',
  [FX.OP_UNSUPPORTED]: 'Operation unsupported',
};

/** OPEN's pflags. */
export const FXF = {
  READ: 0x01,
  WRITE: 0x02,
  APPEND: 0x04,
  CREAT: 0x08,
  TRUNC: 0x10,
  EXCL: 0x20,
} as const;

/** ATTRS flag bits. */
export const ATTR = {
  SIZE: 0x01,
  UIDGID: 0x02,
  PERMISSIONS: 0x04,
  ACMODTIME: 0x08,
  EXTENDED: 0x80000000,
} as const;

/** statvfs flag bits (OpenSSH's SSH2_FXE_STATVFS_*). */
export const STATVFS_FLAG = { RDONLY: 0x1, NOSUID: 0x2 } as const;

/** The extension names, as announced in VERSION and sent in EXTENDED. */
export const EXT = {
  POSIX_RENAME: 'posix-rename@openssh.com',
  STATVFS: 'statvfs@openssh.com',
  FSTATVFS: 'fstatvfs@openssh.com',
  HARDLINK: 'hardlink@openssh.com',
  FSYNC: 'fsync@openssh.com',
  LSETSTAT: 'lsetstat@openssh.com',
  LIMITS: 'limits@openssh.com',
  EXPAND_PATH: 'expand-path@openssh.com',
  COPY_DATA: 'copy-data',
  HOME_DIRECTORY: 'home-directory',
  USERS_GROUPS_BY_ID: 'users-groups-by-id@openssh.com',
} as const;
export type SftpExtensionName = (typeof EXT)[keyof typeof EXT];

/**
 * The largest packet sftp-server accepts (SFTP_MAX_MSG_LENGTH), and so the
 * largest either side of Nacre sends; a received packet may be up to
 * MAX_RECEIVE_PACKET (a server's DATA reply to a large READ).
 */
export const MAX_PACKET = 256 * 1024;
export const MAX_RECEIVE_PACKET = 1024 * 1024 + 1024;
/** The READ/WRITE length sftp-server's limits@openssh.com announces (MAX_PACKET less headroom). */
export const DEFAULT_MAX_READ = MAX_PACKET - 1024;
/** Longest handle a server may send (the draft's limit). */
export const MAX_HANDLE = 256;
/** Longest path or name field accepted in a packet. */
export const MAX_PATH = 64 * 1024;
