// What scp does with its operands, in OpenSSH 10's SFTP mode: toremote
// (local sources uploaded, remote ones copied through this host with -3 or
// by scp on the origin with -R), tolocal (remote sources downloaded, local
// ones given to cp), each source on its own: a failure is reported in scp's
// words, counted, and the next source goes on; the status is 1 when any
// failed. Fatal conditions (a missing local source of an upload, a
// connection that cannot be made) end the run with 255 as scp's fatal().
import { mkdir, stat } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { fsPath } from '../../sftp-entry.js';
import { CliExit, strerror } from '../common/exit.js';
import { drawsProgress, progressCallbacks, progressName, type ProgressReporter } from '../common/progress.js';
import type { ScpArgs } from './args.js';
import { crossloadDirectory, crossloadFile, type CrossloadOptions } from './crossload.js';
import { expandRemoteGlob } from '../common/glob.js';
import { badUserName, isRemoteText, nameUnderDirectory, OperandError, parseOperand, pathAppend, prepareRemotePath, type Operand, type RemoteOperand } from './paths.js';
import { LegacyCopies } from './legacy-copy.js';
import type { LegacyProcess } from './legacy.js';
import { describeDownloadFailure, describeFailure, describeUploadFailure, isDirectoryMode, isRegularMode, remoteIsDirectory, type RemoteFs, type RemoteTransferOptions } from './remote.js';

/** Where a remote operand connects: user, host, port. */
export interface Endpoint {
  readonly host: string;
  readonly user?: string;
  readonly port?: number;
}

/** What a run needs from outside: connections, programs, the terminal. */
export interface ScpRunDeps {
  /** An SFTP session to the endpoint; throws CliExit(255, ...) when it cannot be made. */
  connect(endpoint: Endpoint): Promise<RemoteFs>;
  /** Runs `cp` for a local-to-local copy (argument list after the program); its exit status. */
  localCopy(args: readonly string[]): Promise<number>;
  /** -R: runs `command` on the origin host (ssh with scp's remote-remote arguments); its exit status. */
  remoteCommand(endpoint: Endpoint, command: string): Promise<number>;
  /** -O: runs `command` on the operand's host, its standard streams ours to speak the legacy protocol on. */
  spawn(endpoint: Endpoint, command: string): Promise<LegacyProcess>;
  /** scp's diagnostics, a line at a time (the newline is added). */
  error(line: string): void;
  /** Standard error as is (what a remote scp writes there). */
  stderr(text: string): void;
  /** scp's own debug lines under -v (`debug1: ...`); optional. */
  debug?(level: 1 | 2 | 3, message: string): void;
  readonly progress: ProgressReporter;
  /** Aborts the transfers under way (a signal to end scp). */
  readonly signal?: AbortSignal;
}

function endpointOf(op: RemoteOperand): Endpoint {
  return { host: op.host, ...(op.user !== undefined ? { user: op.user } : {}), ...(op.port !== undefined ? { port: op.port } : {}) };
}

export class ScpRun {
  /** scp's `errs`: the exit status is 1 when it is not 0. */
  errors = 0;

  /** -O's copies, when asked for. */
  private readonly legacy: LegacyCopies | undefined;
  /** SFTP transfers under way (an ending signal waits for them to settle). */
  transfers = 0;

  constructor(
    private readonly args: ScpArgs,
    private readonly deps: ScpRunDeps,
  ) {
    if (args.legacy) {
      this.legacy = new LegacyCopies(
        args,
        { spawn: (op, command) => deps.spawn(endpointOf(op), command), stderr: (t) => deps.error(t.replace(/\n$/, '')), progress: deps.progress },
        () => void this.errors++,
        () => this.errors,
      );
    }
  }

  /** Runs the copy the operands ask for; the exit status. */
  async run(): Promise<number> {
    const operands = this.args.operands;
    const targetText = operands[operands.length - 1]!;
    try {
      if (isRemoteText(targetText)) await this.toRemote(targetText, operands.slice(0, -1));
      else {
        if (this.args.targetShouldBeDirectory) await this.verifyDirectory(targetText);
        await this.toLocal(targetText, operands.slice(0, -1));
      }
    } catch (err) {
      this.legacy?.abort();
      throw err;
    }
    await this.legacy?.close();
    return this.errors !== 0 ? 1 : 0;
  }

  private fail(message: string): void {
    this.deps.error(message);
    this.errors++;
  }

  /** An operand, or null (reported and counted) for a bad URI or user name. */
  private operand(text: string): Operand | null {
    let op: Operand;
    try {
      op = parseOperand(text);
    } catch (err) {
      if (!(err instanceof OperandError)) throw err;
      this.fail(`${text}: invalid uri`);
      return null;
    }
    if (op.kind === 'remote' && op.user !== undefined) {
      const bad = badUserName(op.user);
      if (bad) {
        this.fail(bad);
        return null;
      }
    }
    return op;
  }

  /** scp's verifydir: several sources need an existing local directory; otherwise scp exits 1 before copying anything. */
  private async verifyDirectory(path: string): Promise<void> {
    let why: string;
    try {
      if ((await stat(fsPath(path))).isDirectory()) return;
      why = 'Not a directory';
    } catch (err) {
      why = strerror(err);
    }
    throw new CliExit(1, `${path}: ${why}`);
  }

  private transferOptions(): RemoteTransferOptions & { finish(): void } {
    const cb = progressCallbacks(this.deps.progress, progressName);
    return {
      preserve: this.args.preserve,
      ...(this.args.requests !== undefined ? { concurrency: this.args.requests } : {}),
      ...(this.args.chunkSize !== undefined ? { chunkSize: this.args.chunkSize } : {}),
      ...(this.args.limitKbps !== undefined ? { bandwidthLimit: this.args.limitKbps * 1024 } : {}),
      // scp follows symbolic links in the trees it copies.
      followSymlinks: true,
      // As scp, which writes in place: a copy cut short leaves what arrived under its own name.
      keepPartial: true,
      ...(this.deps.signal ? { signal: this.deps.signal } : {}),
      // A bar per file needs the files one after another (as scp copies them); unwatched, several at once.
      ...(drawsProgress(this.deps.progress) ? { parallelFiles: 1 } : {}),
      onSkip: (path, reason) => this.deps.error(`scp: ${path}: ${reason}`),
      onFile: cb.onFile,
      onProgress: cb.onProgress,
      finish: cb.finish,
    };
  }

  /** A remote path as sent: `~` forms resolved (expand-path for `~user`); null when that cannot be done (reported). */
  private async remotePath(sftp: RemoteFs, path: string): Promise<string | null> {
    const p = prepareRemotePath(path);
    if ('path' in p) return p.path;
    if (!sftp.extensions.has('expand-path@openssh.com')) {
      this.deps.error('scp: server expand-path extension is required for ~user paths in SFTP mode');
      return null;
    }
    try {
      return await sftp.expandPath(p.expand);
    } catch (err) {
      this.deps.error(`scp: ${path}: ${describeFailure(err).replace(/^.*: /, '')}`);
      return null;
    }
  }

  // ---- to a remote target ----

  private async toRemote(targetText: string, sources: readonly string[]): Promise<void> {
    let target: Operand;
    try {
      target = parseOperand(targetText);
    } catch (err) {
      if (!(err instanceof OperandError)) throw err;
      this.fail(`${targetText}: invalid uri`);
      return;
    }
    if (target.kind !== 'remote') {
      this.fail(`${targetText}: invalid target`);
      return;
    }
    for (const text of sources) {
      const src = this.operand(text);
      if (!src) continue;
      if (this.legacy && src.kind === 'remote' && this.args.throughLocal) {
        await this.legacy.throughLocal(src, target);
      } else if (this.legacy && src.kind === 'local') {
        await this.legacy.upload(target, src.path);
      } else if (src.kind === 'remote' && this.args.throughLocal) {
        const to = await this.deps.connect(endpointOf(target));
        const from = await this.deps.connect(endpointOf(src));
        await this.throughLocal(from, to, src.path, target.path);
      } else if (src.kind === 'remote') {
        await this.remoteToRemote(src, target);
      } else {
        let st: Stats;
        try {
          st = await stat(fsPath(src.path));
        } catch (err) {
          throw new CliExit(255, `scp: stat local "${src.path}": ${strerror(err)}`);
        }
        const sftp = await this.deps.connect(endpointOf(target));
        await this.upload(sftp, src.path, st, target.path);
      }
    }
  }

  /** source_sftp: one local file or tree to the target (a directory, or the name to write). */
  private async upload(sftp: RemoteFs, src: string, st: Stats, targ: string): Promise<void> {
    const target = await this.remotePath(sftp, targ);
    if (target === null) throw new CliExit(255);
    let targetIsDir = await remoteIsDirectory(sftp, target);
    if (this.args.targetShouldBeDirectory && !targetIsDir) {
      this.deps.debug?.(1, `target directory "${target}" does not exist`);
      try {
        await sftp.mkdir(target, { mode: (st.mode | 0o700) & 0o7777 });
      } catch (err) {
        throw new CliExit(255, `scp: remote mkdir "${target}": ${describeFailure(err).replace(/^.*: /, '')}`);
      }
      targetIsDir = true;
    }
    const dst = targetIsDir ? pathAppend(target, nameUnderDirectory(src)) : target;
    this.deps.debug?.(3, `copying local ${src} to remote ${dst}`);
    const recursive = st.isDirectory() && this.args.recursive;
    if (!recursive && !st.isFile()) {
      this.deps.error(`scp: local "${src}" is not a regular file`);
      this.fail(`scp: failed to upload file ${src} to ${targ}`);
      return;
    }
    const options = this.transferOptions();
    this.transfers++;
    try {
      await sftp.put(src, dst, { ...options, recursive });
    } catch (err) {
      options.finish(); // the bar's last line before the messages
      this.deps.error(`scp: ${recursive ? describeFailure(err) : describeUploadFailure(err, dst)}`);
      this.fail(`scp: failed to upload ${recursive ? 'directory' : 'file'} ${src} to ${targ}`);
    } finally {
      this.transfers--;
      options.finish();
    }
  }

  /** -R: scp run on the origin host, copying straight to the target host. */
  private async remoteToRemote(src: RemoteOperand, target: RemoteOperand): Promise<void> {
    if (target.port !== undefined && target.port !== 22) throw new CliExit(255, 'target port not supported with two remote hosts and the -R option');
    const a = this.args;
    const cmd = `scp${a.verbose > 0 ? ' -v' : ''}${a.recursive ? ' -r' : ''}${a.preserve ? ' -p' : ''}${a.targetShouldBeDirectory ? ' -d' : ''}`;
    const host = target.host.includes(':') ? `[${target.host}]` : target.host;
    const to = `${target.user !== undefined ? `${target.user}@` : ''}${host}:${target.path}`;
    // As scp's own argument list, joined with spaces by ssh: the words reach the origin's shell as typed.
    const status = await this.deps.remoteCommand(endpointOf(src), `${cmd} ${src.path} ${to}`);
    if (status !== 0) this.errors = Math.max(this.errors, 1);
  }

  /** Expands a remote source's wildcards; null (reported) when it names nothing. */
  private async matches(sftp: RemoteFs, pattern: string, shown: string): Promise<string[] | null> {
    let result;
    try {
      result = await expandRemoteGlob(pattern, {
        list: (p) => sftp.list(p),
        isDirectory: (p) => remoteIsDirectory(sftp, p),
        exists: (p) => sftp.stat(p).then(
          () => true,
          () => false,
        ),
      });
    } catch {
      this.fail(`scp: ${shown}: too many glob matches`);
      return null;
    }
    if (result.matched === 0) {
      try {
        await sftp.stat(result.paths[0]!);
      } catch {
        this.fail(`scp: ${shown}: No such file or directory`);
        return null;
      }
    }
    return [...result.paths];
  }

  /** throughlocal_sftp: `-3`, origin to destination through this host. */
  private async throughLocal(from: RemoteFs, to: RemoteFs, src: string, targ: string): Promise<void> {
    const absSrc = await this.remotePath(from, src);
    const target = await this.remotePath(to, targ);
    if (absSrc === null || target === null) throw new CliExit(255);
    const targetIsDir = await remoteIsDirectory(to, target);
    if (!targetIsDir && this.args.targetShouldBeDirectory) {
      this.fail(`scp: ${targ}: destination is not a directory`);
      return;
    }
    const paths = await this.matches(from, absSrc, src);
    if (!paths) return;
    const options: CrossloadOptions = {
      preserve: this.args.preserve,
      ...(this.args.requests !== undefined ? { concurrency: this.args.requests } : {}),
      ...(this.args.chunkSize !== undefined ? { chunkSize: this.args.chunkSize } : {}),
      ...(this.args.limitKbps !== undefined ? { bandwidthLimit: this.args.limitKbps * 1024 } : {}),
      progress: this.deps.progress,
      error: (m) => this.deps.error(`scp: ${m}`),
    };
    for (const path of paths) {
      const dst = targetIsDir ? pathAppend(target, nameUnderDirectory(path)) : target;
      this.deps.debug?.(1, `Fetching ${path} to ${dst}`);
      const isDir = await remoteIsDirectory(from, path);
      const ok = isDir && this.args.recursive ? await crossloadDirectory(from, to, path, dst, options) : await crossloadFile(from, to, path, dst, options);
      if (!ok) this.errors++;
    }
  }

  // ---- to a local target ----

  private async toLocal(targetText: string, sources: readonly string[]): Promise<void> {
    for (const text of sources) {
      const src = this.operand(text);
      if (!src) continue;
      if (src.kind === 'local') {
        const a = this.args;
        const status = await this.deps.localCopy([...(a.recursive ? ['-r'] : []), ...(a.preserve ? ['-p'] : []), '--', src.path, targetText]);
        if (status !== 0) this.errors++;
        continue;
      }
      if (this.legacy) {
        await this.legacy.download(src, targetText);
        continue;
      }
      // A connection that cannot be made is fatal here too (scp's sftp_init: "Connection closed").
      const sftp = await this.deps.connect(endpointOf(src));
      await this.download(sftp, src.path, targetText);
    }
  }

  /** sink_sftp: a remote source (wildcards expanded) to a local file or directory. */
  private async download(sftp: RemoteFs, src: string, dst: string): Promise<void> {
    const absSrc = await this.remotePath(sftp, src);
    if (absSrc === null) {
      this.errors++;
      return;
    }
    const paths = await this.matches(sftp, absSrc, src);
    if (!paths) return;
    let dstIsDir = false;
    let dstExists = false;
    try {
      dstIsDir = (await stat(fsPath(dst))).isDirectory();
      dstExists = true;
    } catch {
      // made below when several files match
    }
    if (paths.length > 1 && !dstIsDir) {
      if (dstExists) {
        this.fail(`scp: Multiple files match pattern, but destination "${dst}" is not a directory`);
        return;
      }
      try {
        await mkdir(fsPath(dst), { mode: 0o777 });
      } catch (err) {
        this.fail(`scp: local mkdir "${dst}": ${strerror(err)}`);
        return;
      }
      dstIsDir = true;
    }
    for (const path of paths) {
      const to = dstIsDir ? pathAppend(dst, nameUnderDirectory(path)) : dst;
      this.deps.debug?.(1, `Fetching ${path} to ${to}`);
      let mode: number | undefined;
      try {
        mode = (await sftp.stat(path)).mode;
      } catch (err) {
        this.fail(`scp: ${describeFailure(err)}`);
        continue;
      }
      const recursive = isDirectoryMode(mode) && this.args.recursive;
      if (!recursive && !isRegularMode(mode)) {
        this.fail(`scp: download ${path}${isDirectoryMode(mode) && !path.endsWith('/') ? '/' : ''}: not a regular file`);
        continue;
      }
      const options = this.transferOptions();
      this.transfers++;
      try {
        await sftp.get(path, to, { ...options, recursive });
      } catch (err) {
        this.fail(`scp: ${recursive ? describeFailure(err) : describeDownloadFailure(err, to)}`);
      } finally {
        this.transfers--;
        options.finish();
      }
    }
  }
}
