// The process nacred (as root) starts as a user, through setpriv, to run
// that user's internal-sftp session: nacre-sftp-server's code, on stdin and
// stdout (see process.ts and internal.ts).
import { runSftpServerProcess } from './process.js';

runSftpServerProcess(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`nacre-sftp-server: ${(e as Error).message}\n`);
    process.exitCode = 255;
  },
);
