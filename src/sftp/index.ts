// The SFTP protocol, pure: numbers, the packet codec and framing, the
// extensions' data, and the FileSystem a server serves. The state machines
// are client-session.ts and server-session.ts.
export * from './constants.js';
export * from './attrs.js';
export * from './messages.js';
export * from './extensions.js';
export * from './framing.js';
export * from './errors.js';
export type * from './filesystem.js';
