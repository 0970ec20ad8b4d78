// How nacre, nacre-sftp and nacre-scp make their connection, shared (the
// ssh_config and the logger come from tool-config.ts): nacre's connect options
// (src/cli/ssh/connect-options.ts), each jump host resolved through the same
// ssh_config as ssh resolves it (jump-route.ts), and the connection itself,
// whose failure is ssh's message and status 255.
import type { Client, ConnectOptions, SshConfig } from '../../client-entry.js';
import { CliExit } from './exit.js';
import type { Logger } from './log.js';
import { readToolConfig, type ToolEnv } from './tool-config.js';
import { settingsFromValues, flag, type Settings } from '../ssh/settings.js';
import { Prompter } from '../ssh/prompter.js';
import type { ConnectionPlan } from '../ssh/connect-options.js';

export interface ToolConnectDeps extends ToolEnv {
  /** The prompter to use for the target and every hop (tests give one); else one per connection, with its BatchMode. */
  readonly prompter?: Prompter;
}

/** What the command line said that jump hosts are resolved with too (nacre's parsed arguments have both). */
export interface ToolCommandLine {
  /** -F. */
  readonly configFile?: string;
  /** The flags' and -o's ssh_config lines: the hops take those not naming the destination. */
  readonly configLines: readonly string[];
}

/**
 * A plan with its jump hosts: `speaking` is the connection (a hop's plan,
 * or the target's) that last traced a step, so a failure is told in the
 * words of the connection that failed, as ssh's jump process would tell it.
 */
export interface ToolPlan extends ConnectionPlan {
  readonly speaking?: { plan: ConnectionPlan };
}

/**
 * nacre's ConnectOptions for a resolved config, with its ProxyJump (from -J
 * or the config) resolved hop by hop through ssh_config (each hop's own
 * HostName, User, Port, identities, host keys and questions), as the list of
 * hops' options the library connects through.
 */
export async function planToolConnection(config: SshConfig, settings: Settings, log: Logger, deps: ToolConnectDeps, line: ToolCommandLine): Promise<ToolPlan> {
  const { planConnection } = await import('../ssh/connect-options.js');
  const prompterFor = (s: Settings) => deps.prompter ?? new Prompter({ env: deps.env, batchMode: flag(s, 'BatchMode', false) });
  const plan = await planConnection(config, settings, { log, prompter: prompterFor(settings), env: deps.env });
  const jump = plan.options.proxyJump;
  if (typeof jump !== 'string' || jump.trim().toLowerCase() === 'none') return plan;
  const [{ resolveJumpRoute }, { hopCommandLine }] = await Promise.all([import('../../client-entry.js'), import('./jump-route.js')]);
  let hops: ConnectOptions[];
  const speaking = { plan: plan as ConnectionPlan };
  try {
    hops = await resolveJumpRoute(jump, { host: config.host, port: plan.port, username: plan.user }, async (hop, extra) => {
      const hopConfig = await readToolConfig(
        {
          host: hop.host,
          commandLine: hopCommandLine(line.configLines, hop, extra),
          ...(line.configFile !== undefined ? { configFile: line.configFile } : {}),
          // ssh reaches a hop with `ssh -W`: no session.
          sessionType: 'none',
        },
        deps,
      );
      const hopSettings = settingsFromValues(hopConfig.values);
      const hopPlan = await planConnection(hopConfig, hopSettings, { log, prompter: prompterFor(hopSettings), env: deps.env });
      log.debug(1, `Jump host ${hop.host}: ${hopPlan.user}@${hopPlan.host} port ${hopPlan.port}.`);
      const debug = (depth: 1 | 2 | 3, message: string): void => {
        speaking.plan = hopPlan;
        log.debug(depth, message);
      };
      return { ...hopPlan.options, debug };
    });
  } catch (err) {
    if (err instanceof CliExit) throw err;
    throw new CliExit(255, err instanceof Error ? err.message : String(err));
  }
  return { ...plan, options: { ...plan.options, proxyJump: hops }, speaking };
}

/**
 * Connects with `plan`; a failure is ssh's message for it (then `suffix`,
 * e.g. scp's "Connection closed"), status 255.
 */
export async function connectPlanned(plan: ToolPlan, debug: (depth: 1 | 2 | 3, message: string) => void, suffix = ''): Promise<Client> {
  const [lib, { describeConnectFailure }] = await Promise.all([import('../../client-entry.js'), import('../ssh/failures.js')]);
  const speaking = plan.speaking;
  const traced = speaking
    ? (depth: 1 | 2 | 3, message: string): void => {
        speaking.plan = plan;
        debug(depth, message);
      }
    : debug;
  try {
    return await lib.connect({ ...plan.options, debug: traced });
  } catch (err) {
    throw new CliExit(255, describeConnectFailure(err, speaking?.plan ?? plan) + suffix);
  }
}
