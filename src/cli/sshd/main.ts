// nacred's main flow, in sshd's order: the command line (usage errors exit
// 1); -V; the configuration (a bad file names file and line, exit 255; a
// missing one exit 1); -T / -G print the effective configuration for a -C
// connection; -t checks it and the host keys; otherwise listen (no address
// bound: `Cannot bind any address.`, exit 255), write the PidFile, and serve
// until SIGTERM. It never forks into the background (-D is accepted): a
// service manager runs it.
import { formatSshdConfig, parseMatchSpec, SshdConfigError } from '../../index.js';
import { CliExit } from '../common/exit.js';
import type { CliIo } from '../common/io.js';
import { NACRED_VERSION, parseNacredArgs, type NacredArgs } from './args.js';
import { commandLine, loadConfigFile, MissingConfigError } from './config.js';
import { Accounts } from './accounts.js';
import { Daemon, ListenError } from './daemon.js';
import { loadHostKeys, NoHostKeysError, userRunner, passwordFileCheck, type BuildDeps, type LoadedConfig } from './server-options.js';
import { logWriter, SshdLog, type SshdLogLevel } from './log.js';

export interface NacredDeps {
  /** Where the process's streams and signals are (the real ones in nacred.ts). */
  readonly stdin: NodeJS.ReadableStream;
  readonly stdout: NodeJS.WritableStream;
  /** Replacements for tests: how sessions run, how passwords are checked. */
  readonly session?: BuildDeps['runner'];
  readonly checkPassword?: BuildDeps['checkPassword'];
}

function forcedLevel(args: NacredArgs): SshdLogLevel | null {
  if (args.debug > 0) return args.debug === 1 ? 'debug1' : args.debug === 2 ? 'debug2' : 'debug3';
  if (args.quiet) return 'quiet';
  return null;
}

/** Reads the configuration, turning its errors into sshd's exits. */
function load(args: NacredArgs, log: SshdLog): LoadedConfig {
  try {
    return loadConfigFile(args.configFile, commandLine(args), (w) => log.info(w));
  } catch (err) {
    if (err instanceof MissingConfigError) throw new CliExit(1, err.message);
    if (err instanceof SshdConfigError) throw new CliExit(255, err.message);
    throw new CliExit(255, `${args.configFile}: ${(err as Error).message}`);
  }
}

/** Runs nacred; resolves with the exit status once it is done (a daemon: after SIGTERM). */
export async function nacredMain(argv: readonly string[], io: CliIo, deps: NacredDeps): Promise<number> {
  const args = parseNacredArgs(argv);
  if (args.version) {
    io.err(NACRED_VERSION + '\n');
    return 0;
  }
  if (args.connectionSpec !== undefined && args.print === 'no') {
    throw new CliExit(255, 'Config test connection parameter (-C) provided without test mode (-T)');
  }
  // Under inetd standard error may be the client's socket too, and sshd -i logs to syslog: without -e, -d or -E, nacred -i logs nothing.
  const silent = args.inetd && args.logFile === undefined && !args.logToStderr && args.debug === 0;
  const log = new SshdLog(silent ? () => undefined : logWriter(args.logFile, (t) => io.err(t)), forcedLevel(args) ?? 'info');
  log.debug(1, `nacred version ${NACRED_VERSION}, node ${process.version}`);
  const config = load(args, log);

  if (args.print !== 'no') {
    let spec;
    try {
      spec = args.connectionSpec !== undefined ? parseMatchSpec(args.connectionSpec) : undefined;
    } catch (err) {
      throw new CliExit(255, (err as Error).message);
    }
    if (args.print === 'checked') checkHostKeys(config, log);
    // As sshd: Match Group needs the user's groups, looked up on this machine.
    if (spec?.user !== undefined && spec.groups === undefined) {
      const account = await new Accounts().lookup(spec.user);
      if (account) spec = { ...spec, groups: account.groups };
    }
    io.out(formatSshdConfig(spec ? config.resolve(spec) : config.global));
    return 0;
  }
  if (args.check) {
    checkHostKeys(config, log);
    return 0;
  }

  const daemon = createDaemon(args, log, deps, () => config);
  if (args.inetd) {
    await daemon.serveInetd(deps.stdin, deps.stdout);
    return 0;
  }
  // Before listening: a SIGHUP right after the first `Server listening` line must not kill the process.
  const stopped = new Promise<number>((resolve) => daemon.handleSignals(resolve));
  try {
    await daemon.listen();
  } catch (err) {
    if (err instanceof ListenError) throw new CliExit(255, err.message);
    throw err;
  }
  return stopped;
}

function checkHostKeys(config: LoadedConfig, log: SshdLog): void {
  try {
    loadHostKeys(config.global, log);
  } catch (err) {
    if (err instanceof NoHostKeysError) throw new CliExit(1, `nacred: ${err.message}`);
    throw new CliExit(255, (err as Error).message);
  }
}

/** The daemon for these flags; the first configuration is `first`, later ones (SIGHUP) are read again. */
export function createDaemon(args: NacredArgs, log: SshdLog, deps: NacredDeps, first?: () => LoadedConfig): Daemon {
  let initial = first;
  try {
    return new Daemon({
      load: () => {
        const pending = initial;
        initial = undefined;
        return pending ? pending() : loadConfigFile(args.configFile, commandLine(args), (w) => log.info(w));
      },
      log,
      forcedLevel: forcedLevel(args),
      oneConnection: args.debug > 0,
      deps: {
        accounts: new Accounts(),
        runner: deps.session ?? userRunner(process.geteuid?.(), log),
        checkPassword: deps.checkPassword ?? passwordFileCheck(log),
      },
    });
  } catch (err) {
    if (err instanceof NoHostKeysError) throw new CliExit(1, `nacred: ${err.message}`);
    throw err;
  }
}
