// nacre-sftp's main flow, in sftp's order: the command line; the ssh
// command line sftp would run, read by nacre's parser into ssh_config lines;
// the connection made as nacre makes it (settings, identities and their
// passphrases, host key questions, password prompts: src/cli/ssh); the
// `sftp` subsystem (through a nacre master at the host's ControlPath when
// one listens there, as sftp's ssh joins one); "Connected to host."; then a
// `host:file` fetched, or the command loop (batch file, piped commands, or
// the interactive prompt).
// sftp's statuses: 0, 1 when a command failed in batch mode or the fetch
// failed, 255 when the connection could not be made.
import { closeSync, openSync } from 'node:fs';
import { fsPath, showPath } from '../../sftp-entry.js';
import { CliExit, strerror } from '../common/exit.js';
import type { CliIo } from '../common/io.js';
import { connectPlanned, planToolConnection } from '../common/connect.js';
import { readToolConfig, toolLogger } from '../common/tool-config.js';
import { peerDisconnectLines } from '../common/peer-disconnect.js';
import { homedir } from 'node:os';
import { joinControlMaster, sftpThroughMaster } from '../common/shared-connection.js';
import { identityFileCheck, parseNacreArgs, NacreUsageError } from '../ssh/args.js';
import { settingsFromValues } from '../ssh/settings.js';
import { Prompter } from '../ssh/prompter.js';
import { parseSftpArgs, SFTP_USAGE, type SftpArgs } from './args.js';
import type { RemoteFs } from './remote.js';


export interface SftpMainDeps {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly localUser: string;
  readonly prompter?: Prompter;
  /** Runs the session once connected (session.ts's, by default); tests replace it. */
  readonly runSession?: (sftp: RemoteFs, args: SftpArgs, io: CliIo) => Promise<number>;
}

/** Runs nacre-sftp with `argv` (without the program name); the exit status. */
export async function sftpMain(argv: readonly string[], io: CliIo, deps: SftpMainDeps): Promise<number> {
  const args = parseSftpArgs(argv);
  if (args.batchFile !== undefined && args.batchFile !== '-') {
    // sftp opens its batch file before connecting.
    try {
      closeSync(openSync(fsPath(args.batchFile), 'r'));
    } catch (err) {
      throw new CliExit(255, showPath(`${strerror(err)} (${args.batchFile}).`));
    }
  }
  if (args.serverCommand !== undefined || args.sshProgram !== undefined) return runOverProgram(args, io, deps);
  if (args.subsystem !== undefined && args.subsystem !== 'sftp') throw new CliExit(255, `nacre-sftp: -s ${args.subsystem}: only the sftp subsystem is supported`);
  let nacre;
  try {
    nacre = parseNacreArgs(args.sshArgs, deps.env, identityFileCheck(deps.env.HOME ?? homedir()));
  } catch (err) {
    if (err instanceof NacreUsageError) throw new CliExit(1, (err.message ? err.message + '\n' : '') + SFTP_USAGE);
    throw err;
  }
  for (const w of nacre.warnings) io.err(w + '\n');
  const config = await readToolConfig(
    {
      host: nacre.host!,
      commandLine: nacre.configLines,
      ...(nacre.configFile !== undefined ? { configFile: nacre.configFile } : {}),
      command: args.subsystem ?? 'sftp',
      sessionType: 'subsystem',
    },
    deps,
  );
  const settings = settingsFromValues(config.values);
  const log = toolLogger(config, settings, (text) => io.err(text));
  const shared = await joinControlMaster(config, deps.env, log);
  let client: { close(): Promise<void> | void; sftp(): Promise<RemoteFs> };
  if (shared) {
    client = { sftp: () => sftpThroughMaster(shared), close: () => shared.close() };
  } else {
    const plan = await planToolConnection(config, settings, log, deps, nacre);
    log.debug(1, `Connecting to ${plan.host} port ${plan.port}.`);
    const direct = await connectPlanned(plan, (depth, message) => log.debug(depth, message));
    // The server's DISCONNECT in ssh's words, as sftp's ssh says it, before sftp's "Connection closed".
    direct.on('close', (err) => {
      for (const line of peerDisconnectLines(err, plan.host, plan.port) ?? []) log.error(line);
    });
    client = direct;
  }
  try {
    let sftp: RemoteFs;
    try {
      sftp = await client.sftp();
    } catch (err) {
      // ssh's own complaint (the subsystem refused ...), then sftp's.
      throw new CliExit(255, `${err instanceof Error ? err.message + '\n' : ''}Connection closed`);
    }
    if (!args.quiet) io.err(`Connected to ${args.destination.host}.\n`);
    const run = deps.runSession ?? (await import('./session.js')).runSftpSession;
    return await run(sftp, args, io);
  } finally {
    await Promise.resolve(client.close()).catch(() => undefined);
  }
}

/**
 * `-D sftp_server_command`: the command (split as sftp splits it) runs here
 * and SFTP goes over its standard input and output, no SSH ("Attached to
 * ..."; a destination is not read). `-S program`: the program runs with the
 * arguments sftp gives ssh (`-oForwardX11 no ... -s -- host sftp`) and SFTP
 * goes over it the same way ("Connected to host."). Status as sftp's: the
 * session's, 255 when the server never answered.
 */
async function runOverProgram(args: SftpArgs, io: CliIo, deps: SftpMainDeps): Promise<number> {
  const { sftpOverProgram, splitCommandLine } = await import('../common/program-transport.js');
  let program: string;
  let programArgv: string[];
  let argv0: string | undefined;
  let session = args;
  if (args.serverCommand !== undefined) {
    const words = splitCommandLine(args.serverCommand);
    if (words === null) throw new CliExit(255, 'Parse -D arguments: invalid format');
    if (words.length === 0) throw new CliExit(255, 'No sftp server specified via -D');
    program = words[0]!;
    programArgv = words.slice(1);
    // sftp attaches to the server alone: no path to change to or fetch.
    const { localTarget: _target, ...rest } = args;
    session = { ...rest, destination: { host: args.serverCommand } };
  } else {
    program = args.sshProgram!;
    programArgv = [...args.sshArgs];
    argv0 = program;
  }
  let over;
  try {
    over = await sftpOverProgram(program, programArgv, argv0 !== undefined ? { argv0 } : {});
  } catch (err) {
    const e = err as { code?: unknown; syscall?: unknown };
    // What the child says when exec fails, then sftp's own line.
    const exec = typeof e.code === 'string' && typeof e.syscall === 'string' && e.syscall.startsWith('spawn') ? `exec: ${program}: ${strerror(err)}\n` : '';
    throw new CliExit(255, `${exec}Couldn't initialise connection to server`);
  }
  let status: number;
  try {
    if (!args.quiet) io.err(args.serverCommand !== undefined ? `Attached to ${args.serverCommand}.\n` : `Connected to ${args.destination.host}.\n`);
    const run = deps.runSession ?? (await import('./session.js')).runSftpSession;
    status = await run(over.sftp, session, io);
  } finally {
    await over.close();
  }
  return status;
}
