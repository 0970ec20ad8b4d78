// The process nacred (as root) starts as a user, through setpriv, to run
// that user's internal-sftp session: nacre-sftp-server's code, on stdin and
// stdout (see process.ts and internal.ts).
import { runSftpServerProcess } from './process.js';

// `--chroot=DIR` first (from internal.ts, already checked): the session is confined to DIR.
const argv = process.argv.slice(2);
const root = argv[0]?.startsWith('--chroot=') ? argv.shift()!.slice('--chroot='.length) : undefined;

runSftpServerProcess(argv, undefined, root === undefined ? {} : { root }).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`nacre-sftp-server: ${(e as Error).message}\n`);
    process.exitCode = 255;
  },
);
