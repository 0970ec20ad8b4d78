// sftp's interactive commands, run as OpenSSH's sftp runs them
// (parse_dispatch_command and its helpers in sftp.c): the remote working
// directory, globbing, the messages and errors in sftp's words, and the
// status each command leaves for batch mode. Remote work goes through
// RemoteFs (the SFTP client), local work through LocalOps; output through
// two callbacks, so the whole language is tested against fakes.
import type { ProgressReporter } from '../common/progress.js';
import { COMMANDS, CommandLineError, errorPrefix, escapeGlob, parseCommandLine, type LsFlags, type ParsedCommand } from './command-line.js';
import { glob, GlobLimitError, type GlobFs, type GlobMatch } from './glob.js';
import type { LocalOps } from './local.js';
import { columnLayout, formatDf, lsLongLine, sortEntries, type LsAttrs } from './ls-format.js';
import { baseName, fxText, makeAbsolute, pathAppend, pathStrip, remoteReason, sftpStatus, type RemoteAttrs, type RemoteFs, type RemoteTransferOptions } from './remote.js';
import { strerror } from '../common/exit.js';

const S_IFMT = 0o170000;
/** The statuses the client gives when the channel is gone (FX.NO_CONNECTION, FX.CONNECTION_LOST). */
const FX_NO_CONNECTION = 6;
const FX_CONNECTION_LOST = 7;
const isDir = (a: LsAttrs | null | undefined): boolean => a?.mode !== undefined && (a.mode & S_IFMT) === 0o040000;
const isRegular = (a: LsAttrs | null | undefined): boolean => a?.mode !== undefined && (a.mode & S_IFMT) === 0o100000;

/** realpath's failure as sftp words it: the server's own message when it sent one. */
function serverWords(err: unknown): string {
  const m = (err as { serverMessage?: unknown })?.serverMessage;
  return typeof m === 'string' && m !== '' ? m : remoteReason(err);
}

/** sftp's MAX_DIR_DEPTH for recursive transfers. */
const MAX_DIR_DEPTH = 64;

/** Most matches a remote glob keeps (sftp-glob.c caps its readdir work too). */
const MAX_GLOB_MATCHES = 100_000;

export const HELP_TEXT = `Available commands:
bye                                Quit sftp
cd path                            Change remote directory to 'path'
chgrp [-h] grp path                Change group of file 'path' to 'grp'
chmod [-h] mode path               Change permissions of file 'path' to 'mode'
chown [-h] own path                Change owner of file 'path' to 'own'
copy oldpath newpath               Copy remote file
cp oldpath newpath                 Copy remote file
df [-hi] [path]                    Display statistics for current directory or
                                   filesystem containing 'path'
exit                               Quit sftp
get [-afpR] remote [local]         Download file
help                               Display this help text
lcd path                           Change local directory to 'path'
lls [ls-options [path]]            Display local directory listing
lmkdir path                        Create local directory
ln [-s] oldpath newpath            Link remote file (-s for symlink)
lpwd                               Print local working directory
ls [-1afhlnrSt] [path]             Display remote directory listing
lumask umask                       Set local umask to 'umask'
mkdir path                         Create remote directory
progress                           Toggle display of progress meter
put [-afpR] local [remote]         Upload file
pwd                                Display remote working directory
quit                               Quit sftp
reget [-fpR] remote [local]        Resume download file
rename oldpath newpath             Rename remote file
reput [-fpR] local [remote]        Resume upload file
rm path                            Delete remote file
rmdir path                         Remove remote directory
symlink oldpath newpath            Symlink remote file
version                            Show SFTP version
!command                           Execute 'command' in local shell
!                                  Escape to local shell
?                                  Synonym for help
`;

export interface ShellOptions {
  /** sftp's `quiet` (-q, batch mode): no "Fetching ..." lines. */
  quiet: boolean;
  /** Whether the progress meter is on (the `progress` command toggles it). */
  progress: boolean;
  /** -a -p -r -f for every get and put. */
  resume: boolean;
  preserve: boolean;
  recursive: boolean;
  fsync: boolean;
  /** -R, -B, -l. */
  concurrency?: number;
  chunkSize?: number;
  bandwidthLimit?: number;
}

export interface ShellDeps {
  readonly remote: RemoteFs;
  readonly local: LocalOps;
  out(text: string): void;
  err(text: string): void;
  /** A progress bar for one transfer (a quiet one when output is not a terminal). */
  progressMeter(): ProgressReporter;
  /** Seconds since the epoch (ls's dates). */
  nowSeconds(): number;
  /** The terminal's width for short listings (80 when unknown). */
  columns(): number;
}

/** What a command left: 'ok', 'error' (a failure batch mode stops on), 'quit', or 'lost' (the connection is gone). */
export type CommandOutcome = 'ok' | 'error' | 'quit' | 'lost';

export class SftpShell {
  /** The remote working directory and where the session started (`cd` alone goes back). */
  pwd: string;
  readonly startDir: string;
  readonly options: ShellOptions;
  /** Aborted when the user interrupts the running command (Ctrl-C). */
  private signal: AbortSignal | undefined;
  private interrupted = false;
  /** Set when a request failed because the connection went away: the session cannot go on. */
  connectionLost = false;

  constructor(
    private readonly deps: ShellDeps,
    startDir: string,
    options: ShellOptions,
  ) {
    this.pwd = startDir;
    this.startDir = startDir;
    this.options = { ...options };
  }

  private out(text: string): void {
    this.deps.out(text);
  }

  private error(text: string): void {
    this.deps.err(text + '\n');
  }

  /** The remote glob's view of the server. */
  readonly remoteGlobFs: GlobFs = {
    readdir: async (dir) => {
      try {
        return (await this.readDirectory(dir)).map((e) => ({ name: e.filename, attrs: e.attrs }));
      } catch {
        return null;
      }
    },
    lstat: async (path) => {
      try {
        return await this.deps.remote.lstat(path);
      } catch {
        return null;
      }
    },
    stat: async (path) => {
      try {
        return await this.deps.remote.stat(path);
      } catch {
        return null;
      }
    },
  };

  /** A whole directory, `.` and `..` included (ls -a shows them). */
  async readDirectory(path: string): Promise<{ filename: string; longname: string; attrs: RemoteAttrs }[]> {
    const r = this.deps.remote;
    const handle = await r.opendir(path);
    const out: { filename: string; longname: string; attrs: RemoteAttrs }[] = [];
    try {
      for (;;) {
        if (this.interrupted) break;
        const batch = await r.readdir(handle);
        if (batch === null) break;
        out.push(...batch);
      }
    } finally {
      await r.close(handle).catch(() => undefined);
    }
    return out;
  }

  private async remoteGlob(pattern: string, options: { mark?: boolean; nocheck?: boolean; nosort?: boolean }): Promise<{ matches: GlobMatch[]; matched: number } | 'too-many'> {
    try {
      return await glob(pattern, this.remoteGlobFs, { ...options, limit: MAX_GLOB_MATCHES });
    } catch (err) {
      if (err instanceof GlobLimitError) return 'too-many';
      throw err;
    }
  }

  /**
   * Runs one line. `errAbort` is batch mode's: an error ends the session
   * unless the line starts with `-`; `echo` prints `sftp> line` first
   * (unless it starts with `@`), as batch mode and piped input do.
   */
  async runLine(line: string, options: { errAbort: boolean; echo: boolean; signal?: AbortSignal }): Promise<CommandOutcome> {
    let parsed;
    try {
      parsed = parseCommandLine(line);
    } catch (err) {
      if (!(err instanceof CommandLineError)) throw err;
      // sftp reports a line it cannot parse before echoing it.
      this.error(err.message);
      const prefix = errorPrefix(err);
      if (options.echo && !prefix.noEcho) this.out(`sftp> ${line}\n`);
      return options.errAbort && !prefix.ignoreErrors ? 'error' : 'ok';
    }
    if (options.echo && !parsed.noEcho) this.out(`sftp> ${line}\n`);
    if (!parsed.command) return 'ok';
    this.signal = options.signal;
    this.interrupted = false;
    const onAbort = (): void => {
      this.interrupted = true;
    };
    options.signal?.addEventListener('abort', onAbort);
    let ok: boolean;
    try {
      ok = await this.dispatch(parsed.command, options.errAbort && !parsed.ignoreErrors);
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
      this.signal = undefined;
    }
    if (this.connectionLost) return 'lost';
    if (!ok && options.errAbort && !parsed.ignoreErrors) return 'error';
    return parsed.command.command === 'quit' ? 'quit' : 'ok';
  }

  /** `nacre-sftp host:file [local]`: fetches a remote path (globs allowed) as `get` does; false when it failed. */
  async fetch(remotePath: string, localPath: string | undefined, signal?: AbortSignal): Promise<boolean> {
    this.signal = signal;
    this.interrupted = false;
    const onAbort = (): void => {
      this.interrupted = true;
    };
    signal?.addEventListener('abort', onAbort);
    try {
      return await this.processGet(remotePath, localPath, false, false, this.options.resume);
    } finally {
      signal?.removeEventListener('abort', onAbort);
      this.signal = undefined;
    }
  }

  /** One command; false when it failed. */
  private async dispatch(c: ParsedCommand, errAbort: boolean): Promise<boolean> {
    const r = this.deps.remote;
    switch (c.command) {
      case 'get':
      case 'reget':
        return this.processGet(c.path1!, c.path2, c.flags.p, c.flags.r, c.command === 'reget' || c.flags.a);
      case 'put':
      case 'reput':
        return this.processPut(c.path1!, c.path2, c.flags.p, c.flags.r, c.command === 'reput' || c.flags.a);
      case 'copy':
        return this.copy(makeAbsolute(c.path1!, this.pwd), makeAbsolute(c.path2!, this.pwd));
      case 'rename': {
        if (c.flags.l) {
          // The library renames with posix-rename@openssh.com when offered; the plain RENAME is not exposed.
          this.error('rename: -l (the legacy RENAME request) is not supported');
          return false;
        }
        const from = makeAbsolute(c.path1!, this.pwd);
        const to = makeAbsolute(c.path2!, this.pwd);
        return this.attempt(() => r.rename(from, to), (e) => `remote rename "${from}" to "${to}": ${e}`);
      }
      case 'symlink':
      case 'ln': {
        const symbolic = c.command === 'symlink' || c.flags.s;
        // A symbolic link's target is kept as typed; a hard link's is made absolute.
        const from = symbolic ? c.path1! : makeAbsolute(c.path1!, this.pwd);
        const to = makeAbsolute(c.path2!, this.pwd);
        if (symbolic) return this.attempt(() => r.symlink(from, to), (e) => `remote symlink file "${from}" to "${to}": ${e}`);
        if (!r.extensions.has('hardlink@openssh.com')) {
          this.error('Server does not support hardlink@openssh.com extension');
          return false;
        }
        return this.attempt(() => r.hardlink(from, to), (e) => `remote link "${from}" to "${to}": ${e}`);
      }
      case 'rm':
        return this.forEachGlob(c.path1!, errAbort, async (path) => {
          if (!this.options.quiet) this.out(`Removing ${path}\n`);
          return this.attempt(() => r.unlink(path), (e) => `remote delete ${path}: ${e}`);
        });
      case 'mkdir': {
        const path = makeAbsolute(c.path1!, this.pwd);
        return this.attempt(() => r.mkdir(path, { mode: 0o777 }), (e) => `remote mkdir "${path}": ${e}`);
      }
      case 'rmdir': {
        const path = makeAbsolute(c.path1!, this.pwd);
        return this.attempt(() => r.rmdir(path), (e) => `remote rmdir "${path}": ${e}`);
      }
      case 'cd':
        return this.changeDirectory(c.path1);
      case 'ls':
        return this.list(c.path1, c.ls!);
      case 'df': {
        const path = makeAbsolute(c.path1 ?? this.pwd, this.pwd);
        if (!r.extensions.has('statvfs@openssh.com')) {
          this.error('Server does not support statvfs@openssh.com extension');
          return false;
        }
        try {
          const st = await r.statvfs(path);
          this.out(formatDf(st, c.flags.i ? 'inodes' : c.flags.h ? 'human' : 'blocks'));
          return true;
        } catch (err) {
          this.error(`remote statvfs: ${this.reason(err)}`);
          return false;
        }
      }
      case 'lcd': {
        let path = c.path1 === undefined || c.path1 === '' ? '~' : c.path1;
        if (path === '~' || path.startsWith('~/')) path = this.deps.local.home() + path.slice(1);
        try {
          this.deps.local.chdir(path);
          return true;
        } catch (err) {
          this.error(`Couldn't change local directory to "${path}": ${strerror(err)}`);
          return false;
        }
      }
      case 'lmkdir':
        try {
          await this.deps.local.mkdir(c.path1!);
          return true;
        } catch (err) {
          this.error(`Couldn't create local directory "${c.path1!}": ${strerror(err)}`);
          return false;
        }
      case 'lls':
        await this.shell(c.rest ? `ls ${c.rest}` : 'ls');
        return true;
      case 'shell':
        await this.shell(c.rest ? c.rest : null);
        return true;
      case 'lumask':
        this.deps.local.umask(c.number!);
        this.out(`Local umask: ${c.number!.toString(8).padStart(3, '0')}\n`);
        return true;
      case 'chmod':
        return this.forEachGlob(c.path1!, errAbort, async (path) => {
          if (!this.options.quiet) this.out(`Changing mode on ${path}\n`);
          const attrs = { mode: c.number! };
          return c.flags.h ? this.lsetstat(path, attrs) : this.attempt(() => r.setstat(path, attrs), (e) => `remote setstat "${path}": ${e}`);
        });
      case 'chown':
      case 'chgrp':
        return this.changeOwnership(c, errAbort);
      case 'pwd':
        this.out(`Remote working directory: ${this.pwd}\n`);
        return true;
      case 'lpwd':
        this.out(`Local working directory: ${this.deps.local.cwd()}\n`);
        return true;
      case 'quit':
        return true;
      case 'help':
        this.out(HELP_TEXT);
        return true;
      case 'version':
        this.out(`SFTP protocol version ${r.version}\n`);
        return true;
      case 'progress':
        this.options.progress = !this.options.progress;
        this.out(this.options.progress ? 'Progress meter enabled\n' : 'Progress meter disabled\n');
        return true;
    }
  }

  /** sftp's words for a failed request; notes a lost connection, which ends the session. */
  private reason(err: unknown): string {
    const status = sftpStatus(err);
    if (status === FX_NO_CONNECTION || status === FX_CONNECTION_LOST) this.connectionLost = true;
    return remoteReason(err);
  }

  private async attempt(op: () => Promise<unknown>, message: (reason: string) => string): Promise<boolean> {
    try {
      await op();
      return true;
    } catch (err) {
      this.error(message(this.reason(err)));
      return false;
    }
  }

  /** sftp_copy(): a server-side copy with copy-data, the new file getting the old one's permission bits. */
  private async copy(from: string, to: string): Promise<boolean> {
    const r = this.deps.remote;
    if (!r.extensions.has('copy-data')) {
      this.error('Server does not support copy-data extension');
      return false;
    }
    let attrs: RemoteAttrs;
    try {
      attrs = await r.stat(from);
    } catch (err) {
      this.error(`stat remote: ${this.reason(err)}`);
      return false;
    }
    let mode = 0o666;
    if (attrs.mode !== undefined) {
      if (!isRegular(attrs)) {
        this.error(`Cannot copy non-regular file: ${from}`);
        return false;
      }
      mode = attrs.mode & 0o777;
    }
    let source;
    try {
      source = await r.open(from, 'r');
    } catch (err) {
      this.error(`remote open("${from}"): ${this.reason(err)}`);
      return false;
    }
    try {
      let target;
      try {
        target = await r.open(to, 'w', { mode });
      } catch (err) {
        this.error(`remote open("${to}"): ${this.reason(err)}`);
        return false;
      }
      try {
        await r.copyData(source, 0, 0, target, 0);
        return true;
      } catch (err) {
        this.error(`Couldn't copy file "${from}" to "${to}": ${this.reason(err)}`);
        return false;
      } finally {
        await r.close(target).catch(() => undefined);
      }
    } finally {
      await r.close(source).catch(() => undefined);
    }
  }

  private async lsetstat(path: string, attrs: RemoteAttrs): Promise<boolean> {
    if (!this.deps.remote.extensions.has('lsetstat@openssh.com')) {
      this.error('Server does not support lsetstat@openssh.com extension');
      return false;
    }
    return this.attempt(() => this.deps.remote.lsetstat(path, attrs), (e) => `remote lsetstat "${path}": ${e}`);
  }

  private async shell(command: string | null): Promise<void> {
    const status = await this.deps.local.shell(command);
    if (status === null) this.error('Shell exited abnormally');
    else if (status !== 0) this.error(`Shell exited with status ${status}`);
  }

  /** rm, chmod, chown, chgrp: every match of a pattern (the pattern itself when none), stopping at a failure in batch mode. */
  private async forEachGlob(pattern: string, errAbort: boolean, op: (path: string) => Promise<boolean>): Promise<boolean> {
    const abs = makeAbsolute(pattern, escapeGlob(this.pwd));
    const g = await this.remoteGlob(abs, { nocheck: true });
    if (g === 'too-many') {
      this.error(`Too many matches for "${abs}".`);
      return false;
    }
    let ok = true;
    for (const m of g.matches) {
      if (this.interrupted) break;
      ok = await op(m.path);
      if (!ok && errAbort) break;
    }
    return ok;
  }

  private async changeOwnership(c: ParsedCommand, errAbort: boolean): Promise<boolean> {
    const r = this.deps.remote;
    const abs = makeAbsolute(c.path1!, escapeGlob(this.pwd));
    const g = await this.remoteGlob(abs, { nocheck: true });
    if (g === 'too-many') {
      this.error(`Too many matches for "${abs}".`);
      return false;
    }
    let ok = true;
    for (const m of g.matches) {
      if (this.interrupted) break;
      let current: RemoteAttrs;
      try {
        current = c.flags.h ? await r.lstat(m.path) : await r.stat(m.path);
      } catch (err) {
        this.error(`stat remote: ${this.reason(err)}`);
        if (errAbort) return false;
        continue;
      }
      if (current.uid === undefined || current.gid === undefined) {
        this.error(`Can't get current ownership of remote file "${m.path}"`);
        if (errAbort) return false;
        continue;
      }
      const owner = { uid: current.uid, gid: current.gid };
      if (c.command === 'chown') {
        if (!this.options.quiet) this.out(`Changing owner on ${m.path}\n`);
        owner.uid = c.number!;
      } else {
        if (!this.options.quiet) this.out(`Changing group on ${m.path}\n`);
        owner.gid = c.number!;
      }
      ok = c.flags.h ? await this.lsetstat(m.path, owner) : await this.attempt(() => r.setstat(m.path, owner), (e) => `remote setstat "${m.path}": ${e}`);
      if (!ok && errAbort) break;
    }
    return ok;
  }

  private async changeDirectory(path1: string | undefined): Promise<boolean> {
    const r = this.deps.remote;
    const target = makeAbsolute(path1 === undefined || path1 === '' ? this.startDir : path1, this.pwd);
    let real: string;
    try {
      real = await r.realpath(target);
    } catch (err) {
      this.reason(err);
      this.error(`realpath ${target}: ${serverWords(err)}`);
      return false;
    }
    let a: RemoteAttrs;
    try {
      a = await r.stat(real);
    } catch (err) {
      this.error(`stat remote: ${this.reason(err)}`);
      return false;
    }
    if (a.mode === undefined) {
      this.error("Can't change directory: Can't check target");
      return false;
    }
    if (!isDir(a)) {
      this.error(`Can't change directory: "${real}" is not a directory`);
      return false;
    }
    this.pwd = real;
    return true;
  }

  /** The names users-groups-by-id@openssh.com gives for these ids (empty maps when not offered). */
  private async ownerNames(attrs: readonly LsAttrs[]): Promise<{ users: Map<number, string>; groups: Map<number, string> }> {
    const users = new Map<number, string>();
    const groups = new Map<number, string>();
    const uids = [...new Set(attrs.map((a) => a.uid).filter((u): u is number => u !== undefined))];
    const gids = [...new Set(attrs.map((a) => a.gid).filter((g): g is number => g !== undefined))];
    if (!this.deps.remote.extensions.has('users-groups-by-id@openssh.com') || (uids.length === 0 && gids.length === 0)) return { users, groups };
    try {
      const names = await this.deps.remote.namesById(uids, gids);
      uids.forEach((u, i) => names.users[i] && users.set(u, names.users[i]!));
      gids.forEach((g, i) => names.groups[i] && groups.set(g, names.groups[i]!));
    } catch {
      // numbers are shown instead
    }
    return { users, groups };
  }

  private async list(path1: string | undefined, ls: LsFlags): Promise<boolean> {
    if (path1 === undefined) {
      await this.listDirectory(this.pwd, this.pwd, ls);
      return true;
    }
    const strip = path1.startsWith('/') ? undefined : this.pwd;
    const abs = makeAbsolute(path1, escapeGlob(this.pwd));
    const g = await this.remoteGlob(abs, { mark: true, nocheck: true, nosort: true });
    if (g === 'too-many') {
      this.error(`Can't ls: Too many matches for "${abs}"`);
      return false;
    }
    if (g.matched === 0) {
      this.error(`Can't ls: "${abs}" not found`);
      return false;
    }
    if (this.interrupted) return true;
    const only = g.matches[0]!;
    // A single directory (not a link to one: the glob's lstat decides, as sftp's) lists its contents.
    if (g.matches.length === 1 && isDir(only.attrs)) return this.listDirectory(only.path, strip, ls);
    const entries = g.matches.map((m) => ({ name: m.path, attrs: m.attrs ?? {} }));
    sortEntries(entries, ls.sort, ls.reverse);
    if (ls.view === 'long') {
      const names = ls.numeric ? { users: new Map<number, string>(), groups: new Map<number, string>() } : await this.ownerNames(entries.map((e) => e.attrs));
      const now = this.deps.nowSeconds();
      let text = '';
      for (const e of entries) {
        text += lsLongLine(pathStrip(e.name, strip), e.attrs, now, this.lsOwner(e.attrs, names, ls.si)) + '\n';
      }
      this.out(text);
    } else if (ls.view === 'short') {
      this.out(entries.map((e) => pathStrip(e.name, strip) + '\n').join(''));
    } else {
      // The width comes from the full paths, as sftp measures them.
      const longest = Math.max(0, ...entries.map((e) => e.name.length));
      const shown = entries.map((e) => pathStrip(e.name, strip));
      this.out(columnLayout(shown, this.deps.columns(), longest - Math.max(0, ...shown.map((s) => s.length))));
    }
    return true;
  }

  private lsOwner(a: LsAttrs, names: { users: Map<number, string>; groups: Map<number, string> }, si: boolean): { si: boolean; user?: string; group?: string } {
    const user = a.uid !== undefined ? names.users.get(a.uid) : undefined;
    const group = a.gid !== undefined ? names.groups.get(a.gid) : undefined;
    return { si, ...(user !== undefined ? { user } : {}), ...(group !== undefined ? { group } : {}) };
  }

  /** do_ls_dir(): one directory's entries, named relative to `strip`. */
  private async listDirectory(path: string, strip: string | undefined, ls: LsFlags): Promise<boolean> {
    let all;
    try {
      all = await this.readDirectory(path);
    } catch (err) {
      this.error(`remote readdir("${path}"): ${this.reason(err)}`);
      return false;
    }
    const entries = all.filter((e) => ls.all || !e.filename.startsWith('.')).map((e) => ({ name: e.filename, attrs: e.attrs, longname: e.longname }));
    sortEntries(entries, ls.sort, ls.reverse);
    const shown = (e: { name: string }): string => pathStrip(pathAppend(path, e.name), strip);
    if (ls.view === 'long') {
      const own = ls.numeric || ls.si || this.deps.remote.extensions.has('users-groups-by-id@openssh.com');
      const names = own && !ls.numeric ? await this.ownerNames(entries.map((e) => e.attrs)) : { users: new Map<number, string>(), groups: new Map<number, string>() };
      const now = this.deps.nowSeconds();
      let text = '';
      for (const e of entries) {
        if (this.interrupted) break;
        text += (own ? lsLongLine(shown(e), e.attrs, now, this.lsOwner(e.attrs, names, ls.si)) : e.longname) + '\n';
      }
      this.out(text);
    } else if (ls.view === 'short') {
      this.out(entries.map((e) => shown(e) + '\n').join(''));
    } else {
      this.out(columnLayout(entries.map(shown), this.deps.columns(), 0));
    }
    return true;
  }

  private transferOptions(preserve: boolean, resume: boolean, recursive: boolean): RemoteTransferOptions {
    const o = this.options;
    return {
      preserve: preserve || o.preserve,
      resume,
      recursive,
      ...(o.concurrency !== undefined ? { concurrency: o.concurrency } : {}),
      ...(o.chunkSize !== undefined ? { chunkSize: o.chunkSize } : {}),
      ...(o.bandwidthLimit !== undefined ? { bandwidthLimit: o.bandwidthLimit } : {}),
      ...(this.signal ? { signal: this.signal } : {}),
    };
  }

  /** Runs one transfer with a progress bar per file (when on); false after printing why it failed. */
  private async withProgress(run: (o: Pick<RemoteTransferOptions, 'onFile' | 'onProgress' | 'parallelFiles'>) => Promise<void>, describe: (err: unknown) => string): Promise<boolean> {
    const meter = this.options.progress ? this.deps.progressMeter() : undefined;
    try {
      // With a bar on the terminal, a tree's files go one after another (as
      // sftp moves them), each with its own bar; the bar follows its own file only.
      let current: string | undefined;
      await run(
        meter
          ? {
              parallelFiles: 1,
              onFile: (path, size) => {
                current = path;
                if (size > 0) meter.start(baseName(path), size);
                else if (meter.active) meter.stop();
              },
              onProgress: (p) => {
                if (p.path === current) meter.update(p.transferred);
              },
            }
          : {},
      );
      return true;
    } catch (err) {
      if (meter?.active) meter.stop();
      if (this.interrupted || (err as { name?: unknown })?.name === 'AbortError') {
        return false;
      }
      this.error(describe(err));
      return false;
    } finally {
      if (meter?.active) meter.stop();
    }
  }

  private async localIsDir(path: string): Promise<boolean> {
    return isDir(await this.deps.local.stat(path));
  }

  /** process_get(): a remote glob, each match fetched (trees with -r) to `dst` or the local working directory. */
  private async processGet(src: string, dst: string | undefined, pflag: boolean, rflag: boolean, resumeFlag: boolean): Promise<boolean> {
    const abs = makeAbsolute(src, escapeGlob(this.pwd));
    const g = await this.remoteGlob(abs, { mark: true });
    if (g === 'too-many') {
      this.error(`Too many matches for "${abs}".`);
      return false;
    }
    if (g.matched === 0) {
      this.error(`File "${abs}" not found.`);
      return false;
    }
    if (g.matched > 1 && dst !== undefined && !(await this.localIsDir(dst))) {
      this.error(`Multiple source paths, but destination "${dst}" is not a directory`);
      return false;
    }
    let ok = true;
    for (const m of g.matches) {
      if (this.interrupted) break;
      let filename = baseName(m.path);
      if (filename === '..') filename = '.';
      let target: string;
      if (g.matched === 1 && dst !== undefined) target = (await this.localIsDir(dst)) ? pathAppend(dst, filename) : dst;
      else if (dst !== undefined) target = pathAppend(dst, filename);
      else target = filename;
      const resume = resumeFlag || this.options.resume;
      if (!this.options.quiet) this.out(resume ? `Resuming ${m.path} to ${target}\n` : `Fetching ${m.path} to ${target}\n`);
      const remotePath = m.path.length > 1 ? m.path.replace(/\/+$/, '') : m.path;
      if (m.isDir && (rflag || this.options.recursive)) {
        await this.announceTree('Retrieving', await this.canonical(remotePath), (dir) => this.remoteSubdirectories(dir));
        const done = await this.withProgress(
          (cb) => this.deps.remote.get(remotePath, target, { ...this.transferOptions(pflag, resume, true), ...cb }),
          (err) => this.describeTransferError(err, 'download', remotePath, target),
        );
        if (!done) ok = false;
      } else if (!(await this.downloadFile(m.path, remotePath, target, pflag, resume))) {
        ok = false;
      }
    }
    return ok;
  }

  private async downloadFile(shownPath: string, remotePath: string, target: string, pflag: boolean, resume: boolean): Promise<boolean> {
    let attrs: RemoteAttrs;
    try {
      attrs = await this.deps.remote.stat(remotePath);
    } catch (err) {
      this.error(`stat remote: ${this.reason(err)}`);
      return false;
    }
    if (attrs.mode !== undefined && !isRegular(attrs)) {
      this.error(`download ${shownPath}: not a regular file`);
      return false;
    }
    if (resume) {
      const local = await this.deps.local.stat(target);
      const size = attrs.size ?? 0;
      if (local && local.size !== undefined) {
        if (local.size > size) {
          this.error(`Unable to resume download of "${target}": local file is larger than remote`);
          return false;
        }
        if (local.size === size) {
          this.error(`File "${target}" was not modified`);
          return true;
        }
      }
    }
    return this.withProgress(
      (cb) => this.deps.remote.get(remotePath, target, { ...this.transferOptions(pflag, resume, false), ...cb }),
      (err) => this.describeTransferError(err, 'download', remotePath, target),
    );
  }

  /** process_put(): a local glob, each match uploaded (trees with -r) to `dst` or the remote working directory. */
  private async processPut(src: string, dst: string | undefined, pflag: boolean, rflag: boolean, resumeFlag: boolean): Promise<boolean> {
    const r = this.deps.remote;
    const tmpDst = dst !== undefined ? makeAbsolute(dst, this.pwd) : undefined;
    const g = await glob(src, this.deps.local.globFs, { mark: true, nocheck: true });
    let dstIsDir = true;
    if (tmpDst !== undefined) {
      try {
        dstIsDir = isDir(await r.stat(tmpDst));
      } catch {
        dstIsDir = false;
      }
    }
    if (g.matches.length > 1 && tmpDst !== undefined && !dstIsDir) {
      this.error(`Multiple paths match, but destination "${tmpDst}" is not a directory`);
      return false;
    }
    let ok = true;
    for (const m of g.matches) {
      if (this.interrupted) break;
      const localPath = m.path.length > 1 ? m.path.replace(/\/+$/, '') : m.path;
      const st = await this.deps.local.stat(localPath);
      if (!st) {
        this.error(`stat ${m.path}: No such file or directory`);
        ok = false;
        continue;
      }
      let filename = baseName(m.path);
      if (filename === '..') filename = '.';
      let target: string;
      if (g.matches.length === 1 && tmpDst !== undefined) target = dstIsDir ? pathAppend(tmpDst, filename) : tmpDst;
      else if (tmpDst !== undefined) target = pathAppend(tmpDst, filename);
      else target = makeAbsolute(filename, this.pwd);
      const resume = resumeFlag || this.options.resume;
      if (!this.options.quiet) this.out(resume ? `Resuming upload of ${m.path} to ${target}\n` : `Uploading ${m.path} to ${target}\n`);
      const recursive = isDir(st) && (rflag || this.options.recursive);
      if (!recursive) {
        if (!isRegular(st)) {
          this.error(`local "${localPath}" is not a regular file`);
          ok = false;
          continue;
        }
        if (resume) {
          let remoteSize: number;
          try {
            remoteSize = (await r.stat(target)).size ?? 0;
          } catch (err) {
            this.error(`stat remote: ${this.reason(err)}`);
            ok = false;
            continue;
          }
          if (remoteSize >= (st.size ?? 0)) {
            this.error(`resume "${localPath}": destination file same size or larger`);
            ok = false;
            continue;
          }
        }
      }
      if (recursive) {
        // sftp canonicalizes the destination of a tree first (its parent must exist).
        try {
          await r.realpath(target);
        } catch (err) {
          this.error(`realpath ${target}: ${serverWords(err)}`);
          this.error(`upload "${target}": path canonicalization failed`);
          ok = false;
          continue;
        }
        await this.announceTree('Entering', m.path, (dir) => this.localSubdirectories(dir));
      }
      const done = await this.withProgress(
        (cb) => r.put(localPath, target, { ...this.transferOptions(pflag, resume, recursive), ...cb }),
        (err) => this.describeTransferError(err, 'upload', localPath, target),
      );
      if (!done) ok = false;
    }
    return ok;
  }

  /**
   * The lines sftp prints for each directory of a recursive transfer
   * ("Retrieving dir", "Entering dir"), in its depth-first order, printed
   * before the transfer since the library moves a tree's files itself.
   */
  private async announceTree(verb: string, top: string, subdirectories: (dir: string) => Promise<string[]>): Promise<void> {
    const visit = async (dir: string, depth: number): Promise<void> => {
      if (depth > MAX_DIR_DEPTH || this.interrupted) return;
      this.out(`${verb} ${dir}\n`);
      for (const sub of await subdirectories(dir)) await visit(pathAppend(dir, sub), depth + 1);
    };
    await visit(top, 0);
  }

  private async canonical(path: string): Promise<string> {
    try {
      return await this.deps.remote.realpath(path);
    } catch {
      return path;
    }
  }

  private async remoteSubdirectories(dir: string): Promise<string[]> {
    try {
      return (await this.readDirectory(dir)).filter((e) => e.filename !== '.' && e.filename !== '..' && isDir(e.attrs)).map((e) => e.filename);
    } catch {
      return [];
    }
  }

  private async localSubdirectories(dir: string): Promise<string[]> {
    const entries = await this.deps.local.globFs.readdir(dir);
    return (entries ?? []).filter((e) => e.name !== '.' && e.name !== '..' && isDir(e.attrs)).map((e) => e.name);
  }

  /** A failed get/put in sftp's words: the remote status with the operation, or the local error. */
  private describeTransferError(err: unknown, direction: 'download' | 'upload', from: string, to: string): string {
    const status = sftpStatus(err);
    if (status === FX_NO_CONNECTION || status === FX_CONNECTION_LOST) this.connectionLost = true;
    const e = err as { operation?: unknown; path?: unknown; syscall?: unknown; code?: unknown };
    if (status !== undefined) {
      const op = typeof e.operation === 'string' ? e.operation : '';
      const path = typeof e.path === 'string' ? e.path : direction === 'download' ? from : to;
      const words = fxText(status);
      if (op === 'read') return `read remote "${path}" : ${words}`;
      if (op === 'write') return `write remote "${path}": ${words}`;
      if (op === 'stat' || op === 'lstat') return `stat remote: ${words}`;
      if (op === 'mkdir') return `remote mkdir "${path}": ${words}`;
      if (op === 'opendir' || op === 'readdir') return `remote readdir("${path}"): ${words}`;
      // Opening the file (or the library's whole-file step failing on it): sftp's send_open tags.
      if (direction === 'upload') return `dest open "${path}": ${words}`;
      return `remote open("${path}"): ${words}`;
    }
    if (typeof e.code === 'string' && e.code.startsWith('E')) {
      // The name the user gave, not the library's temporary one.
      const local = direction === 'download' ? to : from;
      if (e.syscall === 'mkdir') return `mkdir ${typeof e.path === 'string' && !e.path.includes('.nacre-part') ? e.path : local}: ${strerror(err)}`;
      return `open local "${local}": ${strerror(err)}`;
    }
    return err instanceof Error ? err.message : String(err);
  }
}

/** The command names for completion, in sftp's table order. */
export const COMMAND_NAMES: readonly string[] = COMMANDS.map((c) => c.name);
