// The process nacred (as root) starts as a user, through setpriv, to run
// that user's internal-sftp session: nacre-sftp-server's code, on stdin and
// stdout (see process.ts and internal.ts).
import { runSftpServerProcess } from './process.js';

// internal.ts puts `--chroot=DIR` (already checked: the session is confined
// to DIR) and `--client=ADDRESS` (for the session lines) first.
const argv = process.argv.slice(2);
const take = (flag: string): string | undefined => (argv[0]?.startsWith(flag) ? argv.shift()!.slice(flag.length) : undefined);
const root = take('--chroot=');
const client = take('--client=');

runSftpServerProcess(argv, undefined, { ...(root === undefined ? {} : { root }), ...(client === undefined ? {} : { client }) }).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`nacre-sftp-server: ${(e as Error).message}\n`);
    process.exitCode = 255;
  },
);
