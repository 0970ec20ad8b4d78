// `nacre/sftp`: what an SFTP tool needs beside `nacre/client` and no more:
// the SFTP client over any byte stream (a local sftp-server's stdio, another
// ssh program) and the helpers for file names that are not UTF-8. nacre-sftp
// and nacre-scp load it; `nacre` does not. Every name here is the same object
// as the one 'nacre' exports (test/node/client-entry.test.ts).
export { openSftp, type OpenSftpOptions } from './client/sftp/over-stream.js';
export { pathFromBytes, pathToBytes, hasEscapedBytes, showPath } from './wire/path-bytes.js';
export { fsPath } from './io/node/byte-paths.js';
export { SftpError } from './sftp/errors.js';
export type { SftpClient, SftpHandle, SftpEntry, TransferOptions, TransferProgress } from './client/sftp/api.js';
