// scp -O's plan, as OpenSSH's toremote and tolocal run it in SCP mode: all
// local sources sent to one `scp -t target` on the target host; each remote
// source received from its own `scp -f source`; between two hosts with -3,
// the origin's `scp -f` relayed to the destination's `scp -t`. The remote
// scp's stderr is ours; its exit status counts when nothing else failed.
import { pathFromBytes } from '../../sftp-entry.js';
import { CliExit } from '../common/exit.js';
import type { ProgressReporter } from '../common/progress.js';
import type { ScpArgs } from './args.js';
import { RateLimit } from './crossload.js';
import { LegacySender, legacyCommand, receiveFiles, relay, type LegacyContext, type LegacyProcess } from './legacy.js';
import type { RemoteOperand } from './paths.js';

export interface LegacyDeps {
  /** Runs `command` on the endpoint's host (an exec channel through its connection). */
  spawn(operand: RemoteOperand, command: string): Promise<LegacyProcess>;
  /** Our stderr: text as given. */
  stderr(text: string): void;
  readonly progress: ProgressReporter;
}

function pacer(bitsPerSecond: number): (bytesSoFar: number) => Promise<void> {
  const limit = new RateLimit(bitsPerSecond);
  return (n) => limit.pass(n);
}

export class LegacyCopies {
  private sender: { proc: LegacyProcess; sender: LegacySender | null } | undefined;
  private readonly ctx: LegacyContext;

  constructor(
    private readonly args: ScpArgs,
    private readonly deps: LegacyDeps,
    private readonly countError: () => void,
    private readonly errorCount: () => number,
  ) {
    this.ctx = {
      recursive: args.recursive,
      preserve: args.preserve,
      trustNames: args.trustNames,
      progress: deps.progress,
      stderr: (t) => deps.stderr(t),
      countError,
      // -l: each file paced from its own start, as scp's bandwidth_limit.
      ...(args.limitKbps !== undefined ? { pace: () => pacer(args.limitKbps! * 1024) } : {}),
    };
  }

  private command(direction: 't' | 'f', path: string): string {
    const a = this.args;
    return legacyCommand(direction, path, { verbose: a.verbose > 0, recursive: a.recursive, preserve: a.preserve, targetShouldBeDirectory: a.targetShouldBeDirectory });
  }

  private async spawn(op: RemoteOperand, command: string): Promise<LegacyProcess> {
    const proc = await this.deps.spawn(op, command);
    // Bytes that are not UTF-8 kept (escaped), to be shown as scp shows names.
    proc.stderr.on('data', (d: Buffer) => this.deps.stderr(pathFromBytes(d)));
    return proc;
  }

  /** A remote scp has finished: its stdin closed, its exit awaited; a failure counts when nothing else did. */
  private async finish(proc: LegacyProcess): Promise<void> {
    proc.stdin.end();
    const exit = await proc.exit;
    if ((exit.code !== 0 || exit.signal) && this.errorCount() === 0) this.countError();
  }

  /** One local source to the target (one `scp -t` for all of them). */
  async upload(target: RemoteOperand, source: string): Promise<void> {
    if (!this.sender) {
      const proc = await this.spawn(target, this.command('t', target.path));
      this.sender = { proc, sender: await LegacySender.start(proc, this.ctx) };
    }
    // A refused start (an error answer) ends the uploads, as scp exits then.
    if (!this.sender.sender) throw new CliExit(1);
    try {
      await this.sender.sender.send(source);
    } catch (err) {
      this.abort();
      throw err;
    }
  }

  /** The run broke off: the remote scp of the uploads is closed, not waited for. */
  abort(): void {
    this.sender?.proc.close();
    this.sender = undefined;
  }

  /** One remote source to the local target, through its own `scp -f`. */
  async download(source: RemoteOperand, target: string): Promise<void> {
    const proc = await this.spawn(source, this.command('f', source.path));
    try {
      await receiveFiles(proc, target, source.path, this.ctx);
    } catch (err) {
      // The far end may be blocked writing what we will not read: no waiting for it.
      proc.close();
      throw err;
    }
    await this.finish(proc);
  }

  /** -3: origin to destination through this host. */
  async throughLocal(source: RemoteOperand, target: RemoteOperand): Promise<void> {
    const from = await this.spawn(source, this.command('f', source.path));
    const to = await this.spawn(target, this.command('t', target.path));
    await relay(from, to);
    for (const p of [from, to]) {
      const exit = await p.exit;
      if (exit.code !== 0 || exit.signal) this.countError();
    }
  }

  /** The end of the run: the `scp -t` of the uploads finished. */
  async close(): Promise<void> {
    const s = this.sender;
    this.sender = undefined;
    if (s) await this.finish(s.proc);
  }
}
