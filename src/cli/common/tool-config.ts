// What nacre, nacre-sftp and nacre-scp read before they connect, shared: the
// ssh_config resolved for the destination (flags as its command-line lines,
// -F), and the log level with the config's warnings. Light: a command that
// runs through a shared connection loads no more than this (connect.ts has
// the connection itself).
import type { SshConfig, SshConfigRequest } from '../../mux-entry.js';
import { CliExit } from './exit.js';
import { LOG_LEVEL_NAMES, Logger } from './log.js';
import type { Settings } from '../ssh/settings.js';

type Env = Readonly<Record<string, string | undefined>>;

export interface ToolEnv {
  readonly env: Env;
  readonly localUser: string;
}

/**
 * The ssh_config for `request` with this machine's files (the light entry
 * only, so a command through a shared connection loads no more); a broken
 * file is ssh's message and status 255.
 */
export async function readToolConfig(request: SshConfigRequest, deps: ToolEnv): Promise<SshConfig> {
  const lib = await import('../../mux-entry.js');
  try {
    return lib.readSshConfig(request, { env: deps.env, localUser: deps.localUser });
  } catch (err) {
    if (err instanceof lib.ConfigError) throw new CliExit(255, err.message);
    throw err;
  }
}

/**
 * The tool's logger at the config's LogLevel (an unknown level: `strict`
 * refuses it as nacre does, otherwise INFO), with the config's warnings
 * logged: the user's files at INFO, the system-wide file's under -v (not the
 * user's to fix).
 */
export function toolLogger(config: SshConfig, settings: Settings, write: (text: string) => void, strict?: { readonly program: string }): Logger {
  const name = settings.get('LogLevel') ?? 'info';
  const level = LOG_LEVEL_NAMES[name.toLowerCase()];
  if (!level && strict) throw new CliExit(255, `${strict.program}: unsupported LogLevel "${name}"`);
  const log = new Logger(write, level ?? 'info');
  for (const w of config.warnings) {
    if (w.startsWith('/etc/ssh/')) log.debug(1, w);
    else log.info(w);
  }
  return log;
}
