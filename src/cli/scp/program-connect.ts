// nacre-scp's connections through a program instead of Nacre, as scp makes
// them: `-D sftp_server_path` runs that SFTP server here for every remote
// operand (`path [-p port] -- host sftp`, as scp's do_cmd gives it; no SSH
// at all),
// `-S program` runs the program with the arguments scp gives ssh
// (`-oPermitLocalCommand=no ... -oForwardAgent=no [-p port] [-l user] -s --
// host sftp`, or for -O the remote scp command without `-s`). SFTP goes over
// the program's standard input and output (common/program-transport.ts).
import { spawn } from 'node:child_process';
import { hasEscapedBytes, showPath } from '../../sftp-entry.js';
import { CliExit, strerror } from '../common/exit.js';
import { shellCommandText, shellQuote } from '../common/shell-bytes.js';
import type { CliIo } from '../common/io.js';
import { sftpOverProgram, startProgram, type ProgramSftp } from '../common/program-transport.js';
import { connectionArgs, type ScpArgs } from './args.js';
import { onePerEndpoint, type Connections } from './connect.js';
import type { Endpoint } from './copy.js';
import type { LegacyProcess } from './legacy.js';
import type { RemoteFs } from './remote.js';

/** What a run needs of its connections, however they are made. */
export interface ScpConnections {
  sftp(endpoint: Endpoint): Promise<RemoteFs>;
  spawn(endpoint: Endpoint, command: string): Promise<LegacyProcess>;
  closeAll(): Promise<void>;
}

/** The arguments scp gives `-S program` for `endpoint` (without the program name). */
export function programArgs(args: ScpArgs, endpoint: Endpoint, command?: string): string[] {
  // scp's -x first (nacre-scp leaves it out for itself: Nacre never forwards X11).
  const sftpArgs = ['-x', ...connectionArgs(args, endpoint.host, endpoint.user, endpoint.port)];
  if (command === undefined) return sftpArgs;
  // The legacy protocol runs a command: no `-s`, the command in place of `sftp`.
  const dashes = sftpArgs.lastIndexOf('--');
  return [...sftpArgs.slice(0, dashes - 1), '--', endpoint.host, command];
}

/**
 * The arguments scp gives `-D sftp_server_path` (without the program name):
 * `[-p port] -- host sftp`. scp's do_cmd adds `-p` whenever a port is set,
 * and for -D that is -P's (an operand's own port is not used), so the server
 * program gets `-p PORT` too, as OpenSSH's scp gives it (sftp-server reads
 * that as its request allow-list).
 */
export function directServerArgs(args: ScpArgs, endpoint: Endpoint): string[] {
  const port = args.port !== undefined ? ['-p', String(args.port)] : [];
  return [...port, '--', endpoint.host, 'sftp'];
}

/** Runs `program` with `args`, its standard streams ours (scp's -R through -S); its exit status. */
export function runProgram(program: string, args: readonly string[], io: CliIo): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(program, [...args], { stdio: 'inherit' });
    child.on('error', (err) => {
      io.err(`${program}: ${strerror(err)}\n`);
      resolve(1);
    });
    child.on('exit', (code) => resolve(code ?? 1));
  });
}

export class ProgramConnections implements ScpConnections {
  private readonly open = new Map<string, Promise<ProgramSftp>>();
  private nacre: Connections | undefined;

  /** `nacre` makes the -O connections when there is no -S program (scp's -D is for SFTP only). */
  constructor(
    private readonly args: ScpArgs,
    private readonly err: (text: string) => void,
    private readonly nacreConnections: () => Connections,
  ) {}

  sftp(endpoint: Endpoint): Promise<RemoteFs> {
    // One server process per endpoint; with -D every endpoint is this machine's server anyway.
    return onePerEndpoint(this.open, endpoint, () => this.start(endpoint)).then((p) => p.sftp);
  }

  private async start(endpoint: Endpoint): Promise<ProgramSftp> {
    const direct = this.args.sftpDirect;
    const program = direct ?? this.args.sshProgram!;
    const argv = direct !== undefined ? directServerArgs(this.args, endpoint) : programArgs(this.args, endpoint);
    // scp's do_cmd is given no user for -D.
    const user = direct !== undefined ? undefined : endpoint.user;
    if (this.args.verbose > 0) this.err(`Executing: program ${program} host ${endpoint.host}, user ${user ?? '(unspecified)'}, command sftp\n`);
    try {
      return await sftpOverProgram(program, argv);
    } catch (err) {
      // perror(program) in the child when exec fails; then the connection is gone.
      const e = err as { syscall?: unknown };
      const exec = typeof e.syscall === 'string' && e.syscall.startsWith('spawn') ? `${program}: ${strerror(err)}\n` : '';
      throw new CliExit(255, `${exec}scp: Connection closed`);
    }
  }

  async spawn(endpoint: Endpoint, command: string): Promise<LegacyProcess> {
    const program = this.args.sshProgram;
    if (program === undefined) {
      this.nacre ??= this.nacreConnections();
      return this.nacre.spawn(endpoint, command);
    }
    if (this.args.verbose > 0) this.err(showPath(`Executing: program ${program} host ${endpoint.host}, user ${endpoint.user ?? '(unspecified)'}, command ${command}\n`));
    const argv = programArgs(this.args, endpoint, command);
    // A command naming bytes that are not UTF-8 cannot be a spawn() argument: the program is run through sh, which gets the bytes.
    const p = hasEscapedBytes(command)
      ? startProgram('/bin/sh', ['-c', shellCommandText(`exec ${[program, ...argv].map(shellQuote).join(' ')}`)], { stderr: 'pipe' })
      : startProgram(program, argv, { stderr: 'pipe' });
    return {
      stdin: p.stdin,
      stdout: p.stdout,
      stderr: p.child.stderr!,
      exit: p.exit.then((r) => {
        const failed = p.startError();
        if (failed) this.err(`${program}: ${strerror(failed)}\n`);
        return r;
      }),
      close: () => {
        if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGTERM');
      },
    };
  }

  async closeAll(): Promise<void> {
    const all = [...this.open.values()];
    this.open.clear();
    await Promise.all(all.map(async (c) => (await c.catch(() => undefined))?.close()));
    await this.nacre?.closeAll();
  }
}
