// nacre-sftp-server: SFTP on stdin and stdout, as OpenSSH's sftp-server, for
// `Subsystem sftp /path/to/nacre-sftp-server` under any sshd, and for the
// process of the user's in which nacred (as root) runs internal-sftp. The
// session runs as this process's user, in the user's home directory (or
// -d's). Log lines go to stderr with -e (there is no syslog here), else
// nowhere.
import { Duplex } from 'node:stream';
import { userInfo } from 'node:os';
import { SERVED_REQUESTS } from '../../sftp/server-requests.js';
import { expandStartDirectory, parseSftpServerArgs, SftpServerArgsError, sftpLogEnabled, SFTP_SERVER_USAGE } from './args.js';
import { defaultFileSystem } from './default-fs.js';
import { serveSftp } from './serve.js';

export interface SftpProcessIo {
  readonly stdin: NodeJS.ReadableStream;
  readonly stdout: NodeJS.WritableStream;
  /** Log lines and errors. */
  readonly stderr: (text: string) => void;
}

/**
 * Runs sftp-server's command line `argv` on `io` (default the process's own);
 * resolves the exit status once the client has gone.
 */
export async function runSftpServerProcess(argv: readonly string[], io?: SftpProcessIo, confine: { readonly root?: string; readonly client?: string } = {}): Promise<number> {
  const out = io ?? { stdin: process.stdin, stdout: process.stdout, stderr: (t: string) => void process.stderr.write(t) };
  let args;
  try {
    args = parseSftpServerArgs(argv);
  } catch (e) {
    if (!(e instanceof SftpServerArgsError)) throw e;
    out.stderr(`nacre-sftp-server: ${e.message}\n${SFTP_SERVER_USAGE}\n`);
    return 1;
  }
  if (args.help) {
    out.stderr(SFTP_SERVER_USAGE + '\n');
    return 1;
  }
  if (args.query !== null) {
    if (args.query !== 'requests') {
      out.stderr(`nacre-sftp-server: invalid query type "${args.query}"\n`);
      return 1;
    }
    out.stdout.write(SERVED_REQUESTS.map((r) => r.name).join('\n') + '\n');
    return 0;
  }
  const me = userInfo();
  let start = me.homedir;
  if (confine.root !== undefined) {
    // as sshd after chroot: the home directory inside the root, else /
    start = '/';
    try {
      if (((await defaultFileSystem('/', { root: confine.root }).stat(me.homedir)).mode & 0o170000) === 0o040000) start = me.homedir;
    } catch {
      // no home inside the root
    }
  }
  try {
    if (args.startDirectory !== null) start = expandStartDirectory(args.startDirectory, { name: me.username, home: me.homedir });
  } catch (e) {
    out.stderr(`nacre-sftp-server: ${(e as Error).message}\n`);
    return 1;
  }
  const level = args.logLevel;
  const channel = Duplex.from({ readable: out.stdin, writable: out.stdout });
  const serving = serveSftp(channel, {
    fileSystem: defaultFileSystem(start, { root: confine.root, umask: args.umask }),
    readOnly: args.readOnly,
    umask: args.umask,
    allowRequests: args.allowRequests,
    denyRequests: args.denyRequests,
    username: me.username,
    remoteAddress: confine.client ?? process.env.SSH_CLIENT?.split(' ')[0],
    log: (l, message) => {
      if (args.logToStderr && sftpLogEnabled(level, l)) out.stderr(message + '\n');
    },
    logs: (l) => args.logToStderr && sftpLogEnabled(level, l),
  });
  await serving.done;
  return 0;
}
