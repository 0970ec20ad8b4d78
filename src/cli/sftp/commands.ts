// sftp's interactive commands, run as OpenSSH's sftp runs them
// (parse_dispatch_command and its helpers in sftp.c): the remote working
// directory, globbing, the messages and errors in sftp's words, and the
// status each command leaves for batch mode. Remote work goes through
// RemoteFs (the SFTP client), local work through LocalOps; output through
// two callbacks, so the whole language is tested against fakes.
import { COMMANDS, CommandLineError, errorPrefix, escapeGlob, parseCommandLine, type ParsedCommand } from './command-line.js';
import type { CommandContext, ShellDeps, ShellOptions } from './context.js';
import { glob, GlobLimitError, type GlobFs, type GlobMatch } from '../common/glob.js';
import { list } from './listing.js';
import { formatDf, type LsAttrs } from './ls-format.js';
import { makeAbsolute, remoteReason, sftpStatus, type RemoteAttrs } from './remote.js';
import { processGet, processPut, serverWords } from './transfers.js';
import { strerror } from '../common/exit.js';

export type { ShellDeps, ShellOptions } from './context.js';

const S_IFMT = 0o170000;
/** The statuses the client gives when the channel is gone (FX.NO_CONNECTION, FX.CONNECTION_LOST). */
const FX_NO_CONNECTION = 6;
const FX_CONNECTION_LOST = 7;
const isDir = (a: LsAttrs | null | undefined): boolean => a?.mode !== undefined && (a.mode & S_IFMT) === 0o040000;
const isRegular = (a: LsAttrs | null | undefined): boolean => a?.mode !== undefined && (a.mode & S_IFMT) === 0o100000;

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

/** What a command left: 'ok', 'error' (a failure batch mode stops on), 'quit', or 'lost' (the connection is gone). */
export type CommandOutcome = 'ok' | 'error' | 'quit' | 'lost';

export class SftpShell implements CommandContext {
  /** The remote working directory and where the session started (`cd` alone goes back). */
  pwd: string;
  readonly startDir: string;
  readonly options: ShellOptions;
  /** Aborted when the user interrupts the running command (Ctrl-C). */
  signal: AbortSignal | undefined;
  interrupted = false;
  /** Set when a request failed because the connection went away: the session cannot go on. */
  connectionLost = false;

  constructor(
    readonly deps: ShellDeps,
    startDir: string,
    options: ShellOptions,
  ) {
    this.pwd = startDir;
    this.startDir = startDir;
    this.options = { ...options };
  }

  out(text: string): void {
    this.deps.out(text);
  }

  error(text: string): void {
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

  async remoteGlob(pattern: string, options: { mark?: boolean; nocheck?: boolean; nosort?: boolean; brace?: boolean }): Promise<{ matches: GlobMatch[]; matched: number } | 'too-many'> {
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
      return await processGet(this, remotePath, localPath, false, false, this.options.resume);
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
        return processGet(this, c.path1!, c.path2, c.flags.p, c.flags.r, c.command === 'reget' || c.flags.a, c.flags.f);
      case 'put':
      case 'reput':
        return processPut(this, c.path1!, c.path2, c.flags.p, c.flags.r, c.command === 'reput' || c.flags.a, c.flags.f);
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
        return list(this, c.path1, c.ls!);
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
  reason(err: unknown): string {
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
    const attrs = await this.statOrSay(from);
    if (!attrs) return false;
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

  /** The remote stat of `path`, or null after sftp's "stat remote: ..." line. */
  private async statOrSay(path: string): Promise<RemoteAttrs | null> {
    try {
      return await this.deps.remote.stat(path);
    } catch (err) {
      this.error(`stat remote: ${this.reason(err)}`);
      return null;
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
    // A file that cannot be stat'ed is skipped (false stops batch mode; otherwise the outcome is not used).
    return this.forEachGlob(c.path1!, errAbort, async (path) => {
      let current: RemoteAttrs;
      try {
        current = c.flags.h ? await r.lstat(path) : await r.stat(path);
      } catch (err) {
        this.error(`stat remote: ${this.reason(err)}`);
        return false;
      }
      if (current.uid === undefined || current.gid === undefined) {
        this.error(`Can't get current ownership of remote file "${path}"`);
        return false;
      }
      const owner = { uid: current.uid, gid: current.gid };
      if (c.command === 'chown') {
        if (!this.options.quiet) this.out(`Changing owner on ${path}\n`);
        owner.uid = c.number!;
      } else {
        if (!this.options.quiet) this.out(`Changing group on ${path}\n`);
        owner.gid = c.number!;
      }
      return c.flags.h ? this.lsetstat(path, owner) : this.attempt(() => r.setstat(path, owner), (e) => `remote setstat "${path}": ${e}`);
    });
  }

  /** cd: to `path1` (relative to the working directory), or back to the start without one; false after printing why not. */
  async changeDirectory(path1: string | undefined): Promise<boolean> {
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
    const a = await this.statOrSay(real);
    if (!a) return false;
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

}

/** The command names for completion, in sftp's table order. */
export const COMMAND_NAMES: readonly string[] = COMMANDS.map((c) => c.name);
