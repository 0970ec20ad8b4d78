// nacre's connection sharing, as ssh does it: ControlMaster, ControlPath,
// ControlPersist and `-O`. The main flow calls, in this order:
//
//   const ctl = controlSettings(config)
//   -O given:                 return controlCommand(op, ctl, forwards, io)
//   not the persist master:   shared = await joinMaster(ctl, log) ?? await startPersistentMaster(ctl, log)
//                             if (shared) return runSharedSession(shared, plan, io)
//   connect, forwardings ...
//   persist master copy:      return servePersistentMaster(client, ctl, log)
//   else:                     master = await becomeMaster(client, ctl, log)
//                             run the session; then await master?.finish()
//
// ControlPersist: the first command starts a background copy of itself
// (background.ts) that connects, listens on the ControlPath and reports
// ready; the first command then runs its own session through that master,
// as ssh's first command does after forking its master away.
import type { ControlForwarding, ControlMaster, MuxForward, Client } from '../../index.js';
import type { ControlClient, ForwardSpec, ForwardEndpoint, SharedProcess, SshConfig } from '../../mux-entry.js';
import { CliExit } from '../common/exit.js';
import type { Logger } from '../common/log.js';
import { backgroundChild, startInBackground } from '../common/background.js';
import { spawn } from 'node:child_process';
import { unlinkSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { remoteCommand } from './session.js';

export type ControlMasterMode = 'yes' | 'no' | 'auto' | 'ask' | 'autoask';

/** What the three keywords say for this host. */
export interface ControlSettings {
  readonly master: ControlMasterMode;
  /** The socket path with tokens expanded; null for none (unset or `none`). */
  readonly path: string | null;
  /** ControlPersist: false (no), true (yes: until -O exit), or idle seconds (0 is yes, as ssh). */
  readonly persist: boolean | number;
}

/** Marks the background copy that is a ControlPersist master (beside background.ts's own marker). */
export const PERSIST_ENV = 'NACRE_CONTROL_PERSIST';

/**
 * ControlMaster, ControlPath and ControlPersist from a resolved config (-M,
 * -MM and -S arrive there as ControlMaster yes/ask and ControlPath lines).
 * `expand` is the config module's token expansion (expandConfigPath).
 */
export function controlSettings(config: SshConfig, expand: (value: string) => string): ControlSettings {
  const v = config.values;
  const raw = v.ControlPath;
  const path = raw === undefined || raw === 'none' ? null : expand(raw);
  const persist = v.ControlPersist ?? false;
  return { master: v.ControlMaster ?? 'no', path, persist: persist === 0 ? true : persist };
}

/** Whether this process is the background copy serving as ControlPersist master. */
let persistCopy: boolean | undefined;
export function isPersistentMasterProcess(): boolean {
  if (persistCopy === undefined) {
    persistCopy = process.env[PERSIST_ENV] === '1' && backgroundChild() !== null;
    delete process.env[PERSIST_ENV];
  }
  return persistCopy;
}

/** The library: loaded only to serve as a master. */
async function lib() {
  return import('../../index.js');
}

/** The light entry: enough to reach a master. */
async function muxLib() {
  return import('../../mux-entry.js');
}

/** ssh's fatal for -O without a master: "Control socket connect(path): No such file or directory", 255. */
function noMaster(err: unknown, path: string): never {
  const m = err instanceof Error ? err.message : String(err);
  throw new CliExit(255, m.startsWith('Control socket') ? m : `Control socket connect(${path}): ${m}`);
}

/** A ForwardSpec as MUX_C_OPEN_FWD carries it. */
export function muxForward(spec: ForwardSpec): MuxForward {
  const STREAMLOCAL = 0xfffffffe;
  const side = (e: ForwardEndpoint | undefined): [string, number] => (e === undefined ? ['', 0] : e.kind === 'unix' ? [e.path, STREAMLOCAL] : [e.host ?? '', e.port]);
  const [listenHost, listenPort] = side(spec.listen);
  const [connectHost, connectPort] = side(spec.type === 'local' || spec.type === 'remote' ? spec.connect : undefined);
  const kind = spec.type === 'local' ? 'local' : spec.type === 'dynamic' ? 'dynamic' : 'remote';
  return { kind, listenHost, listenPort, connectHost, connectPort };
}

export interface ControlIo {
  out(text: string): void;
  err(text: string): void;
}

/**
 * `-O check|forward|cancel|exit|stop` against the master at the ControlPath,
 * with ssh's messages; the exit status (255 when there is no master or it
 * refuses). `forwards` are the -L/-R/-D specs for forward and cancel.
 */
export async function controlCommand(op: string, settings: ControlSettings, forwards: readonly ForwardSpec[], io: ControlIo): Promise<number> {
  if (!['check', 'forward', 'cancel', 'exit', 'stop', 'proxy'].includes(op)) throw new CliExit(255, `Invalid multiplex command.`);
  if (settings.path === null) throw new CliExit(255, 'No ControlPath specified for "-O" command');
  if (op === 'proxy') throw new CliExit(255, 'nacre: -O proxy is not supported');
  const { connectControl } = await muxLib();
  let ctl: ControlClient;
  try {
    ctl = await connectControl(settings.path);
  } catch (err) {
    noMaster(err, settings.path);
  }
  try {
    switch (op) {
      case 'check':
        io.err(`Master running (pid=${await ctl.check()})\r\n`);
        return 0;
      case 'exit':
        await ctl.exit();
        io.err('Exit request sent.\r\n');
        return 0;
      case 'stop':
        await ctl.stopListening();
        io.err('Stop listening request sent.\r\n');
        return 0;
      default:
        for (const spec of forwards) {
          const f = muxForward(spec);
          if (op === 'cancel') {
            await ctl.cancel(f).catch((err: Error) => {
              throw new CliExit(255, `Master refused forwarding cancel request: ${err.message}`);
            });
            continue;
          }
          const port = await ctl.forward(f).catch((err: Error) => {
            throw new CliExit(255, `Master refused forwarding request: ${err.message}`);
          });
          if (port !== null) io.out(`${port}\n`);
        }
        return 0;
    }
  } finally {
    ctl.close();
  }
}

/**
 * ssh's muxclient(): a ControlClient when a master listens at the ControlPath
 * and takes sessions; null to connect normally. A stale socket is removed
 * when this command may become the master itself (ControlMaster auto or
 * autoask), as ssh does; ControlMaster yes/ask never joins another master.
 */
export async function joinMaster(settings: ControlSettings, log: Logger): Promise<ControlClient | null> {
  if (settings.path === null || settings.master === 'yes' || settings.master === 'ask') return null;
  const { connectControl, ControlSocketError } = await muxLib();
  try {
    const ctl = await connectControl(settings.path);
    if (!(await ctl.supportsSessions())) {
      log.debug(1, `control master at ${settings.path} takes no sessions over the socket (an OpenSSH master); connecting directly`);
      ctl.close();
      return null;
    }
    log.debug(1, `mux_client: using the master at ${settings.path}`);
    return ctl;
  } catch (err) {
    if (err instanceof ControlSocketError && err.problem === 'stale' && (settings.master === 'auto' || settings.master === 'autoask')) {
      log.debug(1, `Stale control socket ${settings.path}, unlinking`);
      try {
        unlinkSync(settings.path);
      } catch {
        // someone else did
      }
    } else if (err instanceof ControlSocketError && err.problem === 'unsafe') {
      log.error(err.message);
    } else {
      log.debug(1, `Control socket connect(${settings.path}): ${err instanceof Error ? err.message : String(err)}`);
    }
    return null;
  }
}

/** Whether this command should make a new master (ControlMaster yes/ask, or auto/autoask with no master found). */
function wantsMaster(settings: ControlSettings): boolean {
  return settings.path !== null && settings.master !== 'no';
}

/**
 * ControlPersist in the first command: starts the background master (this
 * program again, which connects and listens) and joins it once it is ready.
 * Null when ControlPersist is off or this command is not to be a master.
 * A master that fails before it is ready ends this command with its status;
 * its messages (host key questions, errors) were already on the terminal.
 */
export async function startPersistentMaster(settings: ControlSettings, log: Logger): Promise<ControlClient | null> {
  if (settings.persist === false || !wantsMaster(settings) || isPersistentMasterProcess()) return null;
  log.debug(1, `starting a background master for ${settings.path} (ControlPersist)`);
  const outcome = await startInBackground({ stdio: 'detach', env: { [PERSIST_ENV]: '1' } });
  if (outcome.code !== 0) throw new CliExit(outcome.code, outcome.message);
  const { connectControl } = await muxLib();
  try {
    return await connectControl(settings.path!);
  } catch (err) {
    noMaster(err, settings.path!);
  }
}

/**
 * In the ControlPersist copy, once connected (and forwardings up): listens,
 * tells the foreground it is ready, and serves until `-O exit`, the
 * connection's end, or ControlPersist's idle time with no session. The
 * status to exit with.
 */
export async function servePersistentMaster(client: Client, settings: ControlSettings, log: Logger, hooks: MasterHooks = {}): Promise<number> {
  const bg = backgroundChild();
  let master: ControlMaster;
  try {
    master = await listen(client, settings, hooks);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    bg?.fail(255, message);
    await client.close().catch(() => undefined);
    return 255;
  }
  bg?.ready();
  const idleMs = typeof settings.persist === 'number' ? settings.persist * 1000 : null;
  let timer: NodeJS.Timeout | null = null;
  const arm = (): void => {
    if (idleMs === null) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      log.debug(1, 'ControlPersist timeout expired');
      void master.close().then(() => client.close());
    }, idleMs);
  };
  const disarm = (): void => {
    if (timer) clearTimeout(timer);
    timer = null;
  };
  master.on('idle', arm);
  master.on('session', disarm);
  // Idle from the start: the first command's session is on its way.
  arm();
  const error = await client.closed;
  disarm();
  await master.close();
  return error ? 255 : 0;
}

/** What the master does beyond the library's defaults. */
export interface MasterHooks {
  /**
   * ControlMaster ask/autoask: asks the user to allow each shared session,
   * forwarding, -O exit and -O stop. Default askpassConfirm(), as ssh: a
   * master without a working askpass program refuses every such request.
   */
  readonly confirm?: (question: string) => Promise<boolean>;
  /** -O forward/cancel; default: the library's clientForwarding (TCP -L and -R). */
  readonly forwarding?: ControlForwarding;
}

/** ssh's default askpass program. */
const DEFAULT_ASKPASS = '/usr/bin/ssh-askpass';

/**
 * ssh's ask_permission(): runs SSH_ASKPASS (else ssh-askpass) with
 * SSH_ASKPASS_PROMPT=confirm; an empty answer or "yes" allows, anything else
 * (including a program that fails or is missing) refuses.
 */
export function askpassConfirm(env: Readonly<Record<string, string | undefined>> = process.env): (question: string) => Promise<boolean> {
  return (question) =>
    new Promise((resolve) => {
      const program = env.SSH_ASKPASS || DEFAULT_ASKPASS;
      let out = '';
      const child = spawn(program, [question + ' '], { stdio: ['ignore', 'pipe', 'ignore'], env: { ...env, SSH_ASKPASS_PROMPT: 'confirm' } });
      child.stdout.on('data', (b: Buffer) => {
        if (out.length < 4096) out += b.toString('utf8');
      });
      child.on('error', () => resolve(false));
      child.on('close', (code) => {
        const answer = out.replace(/\r?\n[\s\S]*$/, '');
        resolve(code === 0 && (answer === '' || answer.toLowerCase() === 'yes'));
      });
    });
}

async function listen(client: Client, settings: ControlSettings, hooks: MasterHooks): Promise<ControlMaster> {
  const { listenControl } = await lib();
  const asks = settings.master === 'ask' || settings.master === 'autoask';
  return listenControl(client, {
    path: settings.path!,
    ...(asks ? { confirm: hooks.confirm ?? askpassConfirm() } : {}),
    ...(hooks.forwarding ? { forwarding: hooks.forwarding } : {}),
  });
}

/** A master that serves beside the command's own session (ControlMaster without ControlPersist). */
export interface ActiveMaster {
  readonly master: ControlMaster;
  /** After the own session: waits for the shared sessions still running, then stops (ssh's master does the same). */
  finish(): Promise<void>;
}

/**
 * ControlMaster yes/ask/auto/autoask without ControlPersist: after
 * connecting, listen on the ControlPath. A path another master holds is a
 * warning and no sharing ("ControlSocket ... already exists, disabling
 * multiplexing"), as in ssh. Null when there is nothing to listen on.
 */
export async function becomeMaster(client: Client, settings: ControlSettings, log: Logger, hooks: MasterHooks = {}): Promise<ActiveMaster | null> {
  if (!wantsMaster(settings)) return null;
  let master: ControlMaster;
  try {
    master = await listen(client, settings, hooks);
  } catch (err) {
    log.info(err instanceof Error ? err.message : String(err));
    return null;
  }
  log.debug(1, `setting up multiplex master socket ${settings.path}`);
  return {
    master,
    async finish() {
      master.stopListening();
      if (master.sessions > 0) await new Promise<void>((r) => master.once('idle', () => r()));
      await master.close();
    },
  };
}

/** What runSharedSession runs, as the nacre main flow plans a session. */
export interface SharedSessionPlan {
  readonly type: 'default' | 'none' | 'subsystem';
  readonly command: string;
  /** Whether to ask for a PTY (the main flow's RequestTTY decision). */
  readonly tty: boolean;
  readonly term?: string;
  readonly columns?: number;
  readonly rows?: number;
  readonly env: Readonly<Record<string, string>>;
  readonly stdinNull: boolean;
}

export interface SharedSessionIo {
  readonly stdin: Readable;
  readonly stdout: Writable;
  readonly stderr: Writable;
}

/**
 * Runs the session through the master and returns ssh's exit status for it
 * (the remote code; 255 for a signal or a master that went away). `-N`
 * through a master waits until the master ends, as ssh's mux client does.
 */
export async function runSharedSession(ctl: ControlClient, plan: SharedSessionPlan, io: SharedSessionIo): Promise<number> {
  try {
    if (plan.type === 'none') {
      await ctl.closed;
      return 0;
    }
    const pty = plan.tty ? { ...(plan.term ? { term: plan.term } : {}), ...(plan.columns ? { cols: plan.columns } : {}), ...(plan.rows ? { rows: plan.rows } : {}) } : false;
    let proc: SharedProcess;
    try {
      proc =
        plan.type === 'subsystem'
          ? await ctl.subsystem(plan.command)
          : plan.command === ''
            ? await ctl.shell({ pty, env: plan.env })
            : await ctl.spawn(remoteCommand(plan.command), { pty, env: plan.env });
    } catch (err) {
      throw new CliExit(255, `nacre: the master refused the session: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (plan.stdinNull) proc.stdin.end();
    else io.stdin.pipe(proc.stdin);
    proc.stdout.pipe(io.stdout, { end: false });
    proc.stderr.pipe(io.stderr, { end: false });
    const ended = (s: Readable) => new Promise<void>((r) => (s.readableEnded ? r() : s.once('end', () => r())));
    const [exit] = await Promise.all([proc.exit, ended(proc.stdout), ended(proc.stderr)]);
    if (!plan.stdinNull) io.stdin.unpipe(proc.stdin);
    if (exit.message) io.stderr.write(`nacre: ${exit.message}\n`);
    return exit.code !== null && exit.signal === null ? exit.code & 0xff : 255;
  } finally {
    ctl.close();
  }
}
