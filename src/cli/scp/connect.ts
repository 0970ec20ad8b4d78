// nacre-scp's connections, made as nacre makes them: the ssh arguments scp
// builds for a host (args.ts) read by nacre's parser, the ssh_config files
// resolved for it, nacre's connect options (identities, host key checks,
// prompts), then the `sftp` subsystem (or, for -O, a command). One
// connection per endpoint, kept for the whole run and closed at its end.
import { peerDisconnectLines } from '../common/peer-disconnect.js';
// A master listening at the host's ControlPath (a nacre master: OpenSSH's
// takes sessions only as file descriptors) serves the run instead, as ssh
// run by scp (with -oControlMaster=no) joins one (common/shared-connection.ts).
import type { Client } from '../../client-entry.js';
import type { ControlClient } from '../../mux-entry.js';
import { hasEscapedBytes, pathToBytes } from '../../sftp-entry.js';
import { joinControlMaster, sftpThroughMaster } from '../common/shared-connection.js';
import { CliExit } from '../common/exit.js';
import { connectPlanned, planToolConnection } from '../common/connect.js';
import { readToolConfig, toolLogger } from '../common/tool-config.js';
import { NacreUsageError, identityFileCheck, parseNacreArgs } from '../ssh/args.js';
import { homedir } from 'node:os';
import { settingsFromValues } from '../ssh/settings.js';
import { Prompter } from '../ssh/prompter.js';
import { connectionArgs, type ScpArgs } from './args.js';
import type { Endpoint } from './copy.js';
import type { RemoteFs } from './remote.js';
import { failedProcess, type LegacyProcess } from './legacy.js';


/**
 * The connection to `endpoint` kept in `open` (one per user, host and port
 * for the whole run), started by `start` when there is none. A failed
 * attempt is not kept: the next source tries again, as scp reconnects per
 * source.
 */
export function onePerEndpoint<T>(open: Map<string, Promise<T>>, endpoint: Endpoint, start: () => Promise<T>): Promise<T> {
  const key = JSON.stringify([endpoint.user ?? null, endpoint.host, endpoint.port ?? null]);
  let c = open.get(key);
  if (!c) {
    c = start();
    open.set(key, c);
    c.catch(() => open.delete(key));
  }
  return c;
}

export interface ConnectDeps {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly localUser: string;
  /** ssh's diagnostics (stderr). */
  readonly err: (text: string) => void;
  readonly prompter?: Prompter;
}

type Connection = (
  | { readonly client: Client; readonly shared?: undefined }
  /** Through the master at the ControlPath. */
  | { readonly client?: undefined; readonly shared: ControlClient }
) & {
  /** The SFTP session, started when first asked for (-O runs without one). */
  sftp?: Promise<RemoteFs>;
};

/** Opens the connections of one run, one per endpoint, and closes them all at the end. */
export class Connections {
  private readonly open = new Map<string, Promise<Connection>>();

  constructor(
    private readonly args: ScpArgs,
    private readonly deps: ConnectDeps,
  ) {}

  /** The SFTP session for `endpoint`; CliExit(255) with ssh's message when it cannot be had. */
  async sftp(endpoint: Endpoint): Promise<RemoteFs> {
    const c = await this.connection(endpoint);
    c.sftp ??= (c.shared ? sftpThroughMaster(c.shared) : c.client.sftp()).catch((err: unknown) => {
      c.sftp = undefined;
      throw new CliExit(255, `scp: ${err instanceof Error ? err.message : String(err)}\nscp: Connection closed`);
    });
    return c.sftp;
  }

  /** -O: runs `command` on the endpoint's host (the legacy protocol's remote scp), a name's escaped bytes sent as those bytes (through a master too). */
  async spawn(endpoint: Endpoint, command: string): Promise<LegacyProcess> {
    const c = await this.connection(endpoint);
    const remote = hasEscapedBytes(command) ? pathToBytes(command) : command;
    try {
      return await (c.shared ? c.shared.spawn(remote) : c.client.spawn(remote));
    } catch (err) {
      // As ssh reports it and exits, leaving scp to find its far end gone.
      const message = err instanceof Error ? err.message : String(err);
      // (The refusal's wording is pinned by test/node/client-exec-bytes.test.ts.)
      return failedProcess(message.startsWith('the server refused to run') ? 'exec request failed on channel 0' : message);
    }
  }

  private connection(endpoint: Endpoint): Promise<Connection> {
    return onePerEndpoint(this.open, endpoint, () => this.connect(endpoint));
  }

  async closeAll(): Promise<void> {
    const all = [...this.open.values()];
    this.open.clear();
    await Promise.all(
      all.map(async (p) => {
        try {
          const c = await p;
          if (c.sftp) await (await c.sftp.catch(() => undefined))?.end().catch(() => undefined);
          if (c.shared) c.shared.close();
          else await c.client.close().catch(() => undefined);
        } catch {
          // never opened
        }
      }),
    );
  }

  private async connect(endpoint: Endpoint): Promise<Connection> {
    const { env, localUser } = this.deps;
    let parsed;
    try {
      parsed = parseNacreArgs(connectionArgs(this.args, endpoint.host, endpoint.user, endpoint.port), env, identityFileCheck(env.HOME ?? homedir()));
    } catch (err) {
      if (err instanceof NacreUsageError || err instanceof CliExit) throw new CliExit(255, err.message || `scp: bad host "${endpoint.host}"`);
      throw err;
    }
    for (const w of parsed.warnings) this.deps.err(w + '\n');
    const config = await readToolConfig(
      {
        host: parsed.host!,
        commandLine: parsed.configLines,
        ...(parsed.configFile !== undefined ? { configFile: parsed.configFile } : {}),
        command: 'sftp',
        sessionType: 'subsystem',
      },
      this.deps,
    );
    const settings = settingsFromValues(config.values);
    const log = toolLogger(config, settings, this.deps.err);
    const shared = await joinControlMaster(config, env, log);
    if (shared) return { shared };
    const plan = await planToolConnection(config, settings, log, this.deps, parsed);
    log.debug(1, `Connecting to ${plan.host} port ${plan.port}.`);
    const client = await connectPlanned(plan, (depth, message) => log.debug(depth, message), '\nscp: Connection closed');
    // The server's DISCONNECT in ssh's words, as scp's ssh says it.
    client.on('close', (err) => {
      for (const line of peerDisconnectLines(err, plan.host, plan.port) ?? []) log.error(line);
    });
    return { client };
  }
}
