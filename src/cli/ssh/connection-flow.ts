// What nacre does once the config is resolved, in ssh's order: `-O` to a
// master; joining a master (ControlMaster auto) or starting a persistent
// one; -f (the work moves to a background copy, which tells this process
// when it is logged in and its forwardings are up); the connection itself;
// WarnWeakCrypto; the forwardings; then serving as a master, -W, or the
// session. Every step that needs another module loads it when it runs.
import type { ForwardEndpoint, SshConfig } from '../../mux-entry.js';
import { CliExit } from '../common/exit.js';
import type { CliIo } from '../common/io.js';
import type { Logger } from '../common/log.js';
import { backgroundChild, startInBackground } from '../common/background.js';
import { peerDisconnectLines } from '../common/peer-disconnect.js';
import type { NacreDeps } from './deps.js';
import type { ToolCommandLine } from '../common/connect.js';
import { flag, type Settings } from './settings.js';
import { runPlainSession, wantsTty, type SessionPlan } from './session.js';

/** Post-quantum key exchanges: WarnWeakCrypto is quiet for these. */
const PQ_KEX = new Set(['mlkem768x25519-sha256', 'sntrup761x25519-sha512', 'sntrup761x25519-sha512@openssh.com']);

export interface ConnectionRequest {
  readonly config: SshConfig;
  readonly settings: Settings;
  readonly log: Logger;
  readonly io: CliIo;
  readonly deps: NacreDeps;
  /** -O ctl_cmd. */
  readonly controlCommand?: string;
  /** -W host:port. */
  readonly stdioTarget?: ForwardEndpoint;
  /** -f / ForkAfterAuthentication. */
  readonly fork: boolean;
  readonly session: SessionPlan;
  /** -F and the command line's ssh_config lines: jump hosts are resolved with them too. */
  readonly commandLine: ToolCommandLine;
}

/** OpenSSH 10.1's warning after a key exchange without post-quantum protection. */
export function warnWeakCrypto(kex: string | undefined, setting: string | undefined, log: Logger): void {
  const v = (setting ?? 'yes').toLowerCase();
  if (!kex || PQ_KEX.has(kex) || v === 'no' || v === 'no-pq-kex') return;
  log.info('** WARNING: connection is not using a post-quantum key exchange algorithm.');
  log.info('** This session may be vulnerable to "store now, decrypt later" attacks.');
  log.info('** The server may need to be upgraded. See https://openssh.com/pq.html');
}

/** Runs the connection; the exit status. In a background copy, failures are reported to the foreground instead of printed twice. */
export async function runConnection(req: ConnectionRequest): Promise<number> {
  const bg = backgroundChild();
  try {
    return await run(req);
  } catch (err) {
    if (bg && !bg.reported) {
      const e = err instanceof CliExit ? err : new CliExit(255, `nacre: ${err instanceof Error ? err.message : String(err)}`);
      bg.fail(e.code, e.message);
      throw new CliExit(e.code);
    }
    throw err;
  }
}

async function run(req: ConnectionRequest): Promise<number> {
  const { config, settings, log, deps } = req;
  // Up to a shared session, only the light entry (nacre/mux) is loaded: a
  // command through a master never loads the transport, crypto or keys.
  const [control, { expandConfigPath }] = await Promise.all([import('./control.js'), import('../../mux-entry.js')]);
  const ctl = control.controlSettings(config, (value) => expandConfigPath(value, 'ControlPath', config.tokens, deps.env));
  const forwardings = async () => {
    const f = await import('./forwardings.js');
    return { ...f, forwards: f.forwardingsFromConfig(config, deps.env) };
  };
  if (req.controlCommand !== undefined) {
    // Only -O forward and cancel need the forwardings (and the library that reads them).
    const op = req.controlCommand;
    const specs = op === 'forward' || op === 'cancel' ? (await forwardings()).forwards.specs : [];
    return control.controlCommand(op, ctl, specs, req.io);
  }

  const bg = backgroundChild();
  if (req.fork && !bg) {
    // -f: a copy of this command does the work; this one waits until it is logged in.
    const outcome = await startInBackground({ stdio: 'inherit' });
    if (outcome.message) throw new CliExit(outcome.code, outcome.message);
    return outcome.code;
  }

  if (!control.isPersistentMasterProcess() && !req.stdioTarget) {
    const shared = (await control.joinMaster(ctl, log)) ?? (await control.startPersistentMaster(ctl, log));
    if (shared) {
      // -f through a master: the session is the master's now; the foreground may go.
      bg?.ready();
      // -f -N: nothing is left for this copy to do (the master serves the forwardings).
      if (bg && req.session.type === 'none') {
        shared.close();
        return 0;
      }
      const s = deps.session;
      const tty = wantsTty(req.session, s.stdinIsTty, log);
      return control.runSharedSession(
        shared,
        { ...req.session, tty, ...(s.term ? { term: s.term } : {}), ...(s.columns ? { columns: s.columns } : {}), ...(s.rows ? { rows: s.rows } : {}) },
        s,
      );
    }
  }

  const [{ planToolConnection, connectPlanned }, { startForwardings, forwards }] = await Promise.all([import('../common/connect.js'), forwardings()]);
  const plan = await planToolConnection(config, settings, log, deps, req.commandLine);
  log.debug(1, `Connecting to ${plan.host} port ${plan.port}.`);
  let method = '';
  let kexSeen = false;
  const debug = (level: 1 | 2 | 3, message: string): void => {
    log.debug(level, message);
    const m = /^Authentication succeeded \((.*)\)\.$/.exec(message);
    if (m) method = m[1]!;
    // ssh warns once the first key exchange is done, before authentication (so before any password prompt).
    const kex = /^kex: algorithm: (\S+)$/.exec(message);
    if (kex && !kexSeen) {
      kexSeen = true;
      warnWeakCrypto(kex[1], settings.get('WarnWeakCrypto'), log);
    }
  };
  const client = await connectPlanned(plan, debug);
  let closeError: unknown = null;
  client.on('close', (err) => (closeError = err));
  // -N: a signal ends it as it ends ssh -N, from before the forwardings listen.
  const endedBy = req.session.type === 'none' && !req.stdioTarget ? watchEndingSignals(client) : undefined;
  try {
    log.verbose(`Authenticated to ${plan.host} ([${plan.host}]:${plan.port}) using "${method}".`);
    // Started even without specs: the escape command line (~C) adds to it.
    const forwardings = await startForwardings(client, forwards.specs, log, forwards.settings);
    if (control.isPersistentMasterProcess()) return await control.servePersistentMaster(client, ctl, log);
    const master = await control.becomeMaster(client, ctl, log);
    // -f: logged in and forwarding; the foreground may go.
    bg?.ready();
    let status: number;
    if (req.stdioTarget) {
      const { runStdioForward } = await import('./stdio-forward.js');
      status = await runStdioForward(client, req.stdioTarget, deps.session.stdin, deps.session.stdout, log);
    } else if (req.session.type === 'none') {
      status = endedBy?.(await runPlainSession(client, req.session, deps.session, log)) ?? 255;
    } else if (req.session.type !== 'default') {
      status = await runPlainSession(client, req.session, deps.session, log);
    } else {
      const [{ runSession, processSessionIo }, { parseEscapeChar }] = await Promise.all([import('./interactive.js'), import('./escape.js')]);
      const permitLocalCommand = flag(settings, 'PermitLocalCommand', false);
      const { runLocalCommand } = permitLocalCommand ? await import('./local-command.js') : { runLocalCommand: undefined };
      status = await runSession(
        client,
        {
          ...(req.session.command !== '' ? { command: req.session.command } : {}),
          pty: wantsTty(req.session, deps.session.stdinIsTty, log),
          ...(deps.session.term !== undefined ? { term: deps.session.term } : {}),
          // The resolver has made `^X` the control character already (and refused what ssh refuses).
          escapeChar: parseEscapeChar(settings.get('EscapeChar') ?? '~'),
          // OpenSSH 10 turns the ~C command line off unless asked for.
          escapeCommandLine: flag(settings, 'EnableEscapeCommandline', false),
          env: req.session.env,
          stdinNull: req.session.stdinNull,
          host: config.host,
          quiet: settings.get('LogLevel') === 'QUIET',
        },
        {
          forwarding: forwardings,
          changeLogLevel: (step) => log.step(step).toUpperCase(),
          ...(runLocalCommand ? { localCommand: (command: string) => runLocalCommand(command, deps.env) } : {}),
        },
        deps.interactive ?? processSessionIo(),
      );
    }
    await master?.finish();
    // The server's DISCONNECT, in ssh's words (the reason is what admins use to tell users why).
    for (const line of peerDisconnectLines(closeError, plan.host, plan.port) ?? []) log.error(line);
    return status;
  } catch (err) {
    if (err instanceof CliExit) throw err;
    throw new CliExit(255, `nacre: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    endedBy?.stop();
    await client.close().catch(() => undefined);
  }
}

const ENDING_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'];

/**
 * -N: the connection serves its forwardings until it ends, or until a signal
 * ends it as it ends ssh -N (checked against OpenSSH 10): the connection is
 * closed (a DISCONNECT, not a cut), then status 0 for SIGTERM, 255 for
 * SIGINT, SIGHUP and SIGQUIT. Not dying of the signal lets a script that
 * kills its tunnel and waits for it go on under `set -e`. The function
 * returned gives the status (the session's own when no signal came); `stop`
 * lets the signals be again.
 */
function watchEndingSignals(client: { close(): Promise<void> }): ((status: number) => number) & { stop(): void } {
  let received: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (received !== undefined) return;
    received = signal;
    client.close().catch(() => undefined);
  };
  for (const s of ENDING_SIGNALS) process.on(s, onSignal);
  const status = (own: number): number => (received === undefined ? own : received === 'SIGTERM' ? 0 : 255);
  return Object.assign(status, {
    stop: () => {
      for (const s of ENDING_SIGNALS) process.off(s, onSignal);
    },
  });
}
