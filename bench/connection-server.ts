// The Nacre server side of bench/connection.ts, run as a child process so that
// the server and a Nacre client in the bench process get a core each instead
// of sharing one event loop.
//
//   node dist/bench/connection-server.js <process|inproc> '<authorized ed25519 public key line>'
//
// `process`: sessions go to runAsCurrentUser, which spawns the user's shell
// with `-c <command>` exactly as sshd does. `inproc`: the three commands the
// benchmark uses are answered inside the server process, so the figures show
// the SSH path alone: `true` exits 0, `cat > /dev/null` drains stdin,
// `head -c N /dev/zero` writes N zero bytes.
// Reports { type: 'ready', port, hostKey (base64 blob) } over IPC and exits
// when the parent goes.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createServer } from '../src/server/server.js';
import { runAsCurrentUser } from '../src/server/exec-handler.js';
import type { ServerChannel, SessionChannel } from '../src/server/session-channel.js';
import { generateHostKey, parseOpenSshPublicKeyLine } from '../src/keys/index.js';

export type NacreServerMode = 'process' | 'inproc';

const ZEROS = Buffer.alloc(256 * 1024);

/**
 * Bash sources ~/.bashrc for a command run over SSH when SHLVL is unset (its
 * "run by sshd" rule); on a machine whose .bashrc is slow (the recorded run's
 * ran `pyenv init`, 100-190 ms) that would dominate every `exec true`. Both
 * servers set SHLVL=1 (sshd through SetEnv), so bash skips it in both.
 */
export const SHELL_ENV = { SHLVL: '1' } as const;

/** Writes `total` zero bytes with backpressure, then the exit status. */
function source(channel: ServerChannel, total: number): void {
  let left = total;
  const pump = (): void => {
    while (left > 0) {
      const n = Math.min(left, ZEROS.length);
      left -= n;
      if (!channel.write(n === ZEROS.length ? ZEROS : ZEROS.subarray(0, n))) {
        channel.once('drain', pump);
        return;
      }
    }
    channel.exit(0);
  };
  pump();
}

function inProcess(session: SessionChannel): void {
  session.onExec = (command, channel) => {
    // Everything starts after the exec reply has been queued, as a process would.
    if (command === 'true') {
      setImmediate(() => channel.exit(0));
      return true;
    }
    if (command === 'cat > /dev/null') {
      channel.on('data', () => undefined);
      channel.once('end', () => channel.exit(0));
      return true;
    }
    const m = /^head -c (\d+) \/dev\/zero$/.exec(command);
    if (m) {
      const total = Number(m[1]);
      setImmediate(() => source(channel, total));
      return true;
    }
    return false;
  };
}

async function serve(mode: NacreServerMode, authorizedLine: string): Promise<void> {
  const allowed = Buffer.from(parseOpenSshPublicKeyLine(authorizedLine).blob);
  const hostKey = generateHostKey('ssh-ed25519');
  const server = createServer({
    hostKeys: [hostKey],
    authenticate: (ctx) => ctx.method === 'publickey' && ctx.publicKey !== undefined && allowed.equals(Buffer.from(ctx.publicKey.blob)),
    session: mode === 'process' ? (s) => runAsCurrentUser(s, { env: SHELL_ENV }) : inProcess,
    // As the bench's sshd (MaxStartups 200, PerSourceMaxStartups none): 16
    // connections in flight from one address must not be dropped.
    maxStartups: { begin: 200, rate: 30, full: 200 },
    maxStartupsPerSource: Infinity,
  });
  server.on('error', (err) => console.error(`nacre bench server: ${err.message}`));
  const { port } = await server.listen(0, '127.0.0.1');
  process.send?.({ type: 'ready', port, hostKey: Buffer.from(hostKey.publicBlob).toString('base64') });
  process.on('disconnect', () => process.exit(0));
}

export interface NacreServerChild {
  readonly mode: NacreServerMode;
  /** The server process; programs it starts inherit its CPU affinity. */
  readonly pid: number;
  readonly port: number;
  readonly hostKeyBlob: Buffer;
  stop(): Promise<void>;
}

/** Forks this file as a server child; resolves once it listens. */
export function startNacreServer(mode: NacreServerMode, authorizedLine: string): Promise<NacreServerChild> {
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), [mode, authorizedLine], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`the Nacre bench server exited early (${code})`));
    child.once('exit', onExit);
    child.once('message', (m: { type: string; port: number; hostKey: string }) => {
      child.off('exit', onExit);
      resolve({
        mode,
        pid: child.pid!,
        port: m.port,
        hostKeyBlob: Buffer.from(m.hostKey, 'base64'),
        stop: () =>
          new Promise<void>((done) => {
            if (child.exitCode !== null) return done();
            child.once('exit', () => done());
            child.kill('SIGTERM');
          }),
      });
    });
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const mode = process.argv[2];
  if ((mode !== 'process' && mode !== 'inproc') || !process.argv[3]) {
    console.error('usage: connection-server.js <process|inproc> <authorized public key line>');
    process.exit(2);
  }
  await serve(mode, process.argv[3]);
}
