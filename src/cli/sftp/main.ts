// nacre-sftp's main flow, in sftp's order: the command line; the ssh
// command line sftp would run, read by nacre's parser into ssh_config lines;
// the connection made as nacre makes it (settings, identities and their
// passphrases, host key questions, password prompts: src/cli/ssh); the
// `sftp` subsystem; "Connected to host."; then a `host:file` fetched, or the
// command loop (batch file, piped commands, or the interactive prompt).
// sftp's statuses: 0, 1 when a command failed in batch mode or the fetch
// failed, 255 when the connection could not be made.
import type { Client, SshConfig } from '../../index.js';
import { closeSync, openSync } from 'node:fs';
import { CliExit, strerror } from '../common/exit.js';
import type { CliIo } from '../common/io.js';
import { LOG_LEVEL_NAMES, Logger } from '../common/log.js';
import { parseNacreArgs, NacreUsageError } from '../ssh/args.js';
import { settingsFromValues, flag } from '../ssh/settings.js';
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
  if (args.serverCommand !== undefined) throw new CliExit(255, 'nacre-sftp: -D (a local sftp server without ssh) is not supported');
  if (args.sshProgram !== undefined) throw new CliExit(255, 'nacre-sftp: -S (another ssh program) is not supported: nacre-sftp connects with Nacre itself');
  if (args.subsystem !== undefined && args.subsystem !== 'sftp') throw new CliExit(255, `nacre-sftp: -s ${args.subsystem}: only the sftp subsystem is supported`);
  if (args.batchFile !== undefined && args.batchFile !== '-') {
    // sftp opens its batch file before connecting.
    try {
      closeSync(openSync(args.batchFile, 'r'));
    } catch (err) {
      throw new CliExit(255, `${strerror(err)} (${args.batchFile}).`);
    }
  }
  let nacre;
  try {
    nacre = parseNacreArgs(args.sshArgs, deps.env);
  } catch (err) {
    if (err instanceof NacreUsageError) throw new CliExit(1, (err.message ? err.message + '\n' : '') + SFTP_USAGE);
    throw err;
  }
  const lib = await import('../../client-entry.js');
  let config: SshConfig;
  try {
    config = lib.readSshConfig(
      {
        host: nacre.host!,
        commandLine: nacre.configLines,
        ...(nacre.configFile !== undefined ? { configFile: nacre.configFile } : {}),
        command: args.subsystem ?? 'sftp',
        sessionType: 'subsystem',
      },
      { env: deps.env, localUser: deps.localUser },
    );
  } catch (err) {
    if (err instanceof lib.ConfigError) throw new CliExit(255, err.message);
    throw err;
  }
  const settings = settingsFromValues(config.values);
  const level = LOG_LEVEL_NAMES[(settings.get('LogLevel') ?? 'info').toLowerCase()] ?? 'info';
  const log = new Logger((text) => io.err(text), level);
  for (const w of config.warnings) {
    if (w.startsWith('/etc/ssh/')) log.debug(1, w);
    else log.info(w);
  }
  const [{ planConnection }, { describeConnectFailure }] = await Promise.all([import('../ssh/connect-options.js'), import('../ssh/failures.js')]);
  const prompter = deps.prompter ?? new Prompter({ env: deps.env, batchMode: flag(settings, 'BatchMode', false) });
  const plan = await planConnection(config, settings, { log, prompter, env: deps.env });
  log.debug(1, `Connecting to ${plan.host} port ${plan.port}.`);
  let client: Client;
  try {
    client = await lib.connect({ ...plan.options, debug: (depth, message) => log.debug(depth, message) });
  } catch (err) {
    throw new CliExit(255, describeConnectFailure(err, plan));
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
    await client.close().catch(() => undefined);
  }
}
