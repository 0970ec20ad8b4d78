// nacre's main flow, in ssh's order: the command line; -V and -Q, which
// need no host; the destination and its resolved ssh_config (-G prints it);
// what the session will be; then connection-flow.ts (-O, sharing, -f, the
// connection, forwardings, the session), whose status is nacre's. Every
// failure of nacre's own is a message in ssh's words and status 255.
import { appendFileSync } from 'node:fs';
import type { ForwardEndpoint, SshConfig } from '../../mux-entry.js';
import { CliExit } from '../common/exit.js';
import type { CliIo } from '../common/io.js';
import type { Logger } from '../common/log.js';
import { readToolConfig, toolLogger } from '../common/tool-config.js';
import { NACRE_USAGE, NacreUsageError, identityFileCheck, parseNacreArgs, type NacreArgs } from './args.js';
import { homedir } from 'node:os';
import { settingsFromValues, flag, type Settings } from './settings.js';
import { parseRequestTty, type SessionType } from './session.js';
import type { NacreDeps } from './deps.js';
import { NACRE_VERSION } from './version.js';

export type { NacreDeps } from './deps.js';

function usage(message: string): never {
  throw new CliExit(255, (message ? message + '\n' : '') + NACRE_USAGE);
}


function logger(args: NacreArgs, config: SshConfig, settings: Settings, io: CliIo): Logger {
  const write = args.logFile ? (text: string) => appendFileSync(args.logFile!, text) : (text: string) => io.err(text);
  return toolLogger(config, settings, write, { program: 'nacre' });
}

/** SendEnv patterns matched against the local environment, then SetEnv pairs (which win). */
export function sessionEnv(settings: Settings, env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const out: Record<string, string> = {};
  const patterns = settings.all('SendEnv').flatMap((v) => v.split(/\s+/)).filter((p) => p !== '');
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) continue;
    let send = false;
    for (const p of patterns) {
      const negated = p.startsWith('-');
      const re = new RegExp('^' + (negated ? p.slice(1) : p).replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$');
      if (re.test(name)) send = !negated;
    }
    if (send) out[name] = value;
  }
  // The resolver has split SetEnv into NAME=value words already (quotes honoured).
  for (const word of settings.all('SetEnv')) {
    const eq = word.indexOf('=');
    if (eq > 0) out[word.slice(0, eq)] = word.slice(eq + 1);
  }
  return out;
}

function sessionType(args: NacreArgs, settings: Settings): SessionType {
  const v = (settings.get('SessionType') ?? 'default').toLowerCase();
  if (v === 'none' || v === 'subsystem') return v;
  if (v !== 'default') throw new CliExit(255, `nacre: unsupported SessionType "${v}"`);
  return args.subsystem ? 'subsystem' : 'default';
}

/** Runs nacre with `args` (without the program name); the exit status. */
export async function nacreMain(args: readonly string[], io: CliIo, deps: NacreDeps): Promise<number> {
  let parsed: NacreArgs;
  try {
    parsed = parseNacreArgs(args, deps.env, identityFileCheck(deps.env.HOME ?? homedir()));
  } catch (err) {
    if (err instanceof NacreUsageError) usage(err.message);
    throw err;
  }
  for (const w of parsed.warnings) io.err(w + '\n');
  if (parsed.printVersion) {
    io.err(`${NACRE_VERSION}, Node.js ${process.version}\n`);
    return 0;
  }
  if (parsed.query !== undefined) {
    const { algorithmNames } = await import('../../index.js');
    const names = algorithmNames(parsed.query);
    if (!names) throw new CliExit(255, `Unsupported query "${parsed.query}"`);
    io.out(names.map((n) => n + '\n').join(''));
    return 0;
  }
  if (parsed.host === undefined) usage('');
  const host = parsed.host;
  const command = parsed.command.join(' ');
  // Only the light entry so far: a command through a shared connection needs
  // no more (connection-flow.ts loads the rest when it connects itself).
  const lib = await import('../../mux-entry.js');
  let stdioTarget: ForwardEndpoint | undefined;
  if (parsed.stdioForward !== undefined) {
    try {
      stdioTarget = lib.parseStdioForward(parsed.stdioForward, deps.env);
    } catch (err) {
      throw new CliExit(255, err instanceof Error ? err.message : String(err));
    }
  }
  const config = await readToolConfig(
    {
      host,
      commandLine: parsed.configLines,
      ...(parsed.configFile !== undefined ? { configFile: parsed.configFile } : {}),
      ...(command !== '' ? { command } : {}),
      sessionType: parsed.subsystem ? 'subsystem' : parsed.configLines.includes('SessionType none') ? 'none' : command !== '' ? 'exec' : 'shell',
    },
    deps,
  );
  const settings = settingsFromValues(config.values);
  const log = logger(parsed, config, settings, io);
  if (parsed.printConfig) {
    const { printSshConfig } = await import('../../index.js');
    io.out(printSshConfig(config, deps.env));
    return 0;
  }
  for (const f of parsed.ignored) log.debug(1, `${f} is accepted and ignored (not supported by Nacre)`);

  const requestTty = parseRequestTty(settings.get('RequestTTY'));
  if (requestTty === null) throw new CliExit(255, `nacre: unsupported RequestTTY value "${settings.get('RequestTTY')}"`);
  const type = sessionType(parsed, settings);
  const remoteCommand = command !== '' ? command : (settings.get('RemoteCommand') ?? '');
  if (type === 'subsystem' && remoteCommand === '') usage('');
  const fork = flag(settings, 'ForkAfterAuthentication', false);
  if (fork && type === 'default' && remoteCommand === '' && !stdioTarget) throw new CliExit(255, 'Cannot fork into background without a command to execute.');

  const { runConnection } = await import('./connection-flow.js');
  return runConnection({
    config,
    settings,
    log,
    io,
    deps,
    ...(parsed.controlCommand !== undefined ? { controlCommand: parsed.controlCommand } : {}),
    ...(stdioTarget ? { stdioTarget } : {}),
    fork,
    commandLine: parsed,
    session: { type, command: remoteCommand, requestTty, env: sessionEnv(settings, deps.env), stdinNull: fork || flag(settings, 'StdinNull', false) },
  });
}
