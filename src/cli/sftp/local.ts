// The local side of nacre-sftp's commands, over node:fs and the process:
// the working directory (lcd, lpwd), lmkdir, lumask, the local glob of put,
// and the shell that `!` and `lls` run. An interface, so the commands run
// against a fake in unit tests.
import { spawn } from 'node:child_process';
import { mkdtempSync, promises as fsp, realpathSync, rmdirSync, symlinkSync, unlinkSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fsPath, hasEscapedBytes, pathFromBytes } from '../../sftp-entry.js';
import { shellProgram } from '../common/shell-bytes.js';
import type { GlobFs } from '../common/glob.js';
import type { LsAttrs } from './ls-format.js';

export interface LocalOps {
  cwd(): string;
  chdir(path: string): void;
  home(): string;
  mkdir(path: string): Promise<void>;
  /** stat (following links); null when it does not exist. */
  stat(path: string): Promise<LsAttrs | null>;
  umask(mask: number): void;
  /** Flushes a file to disk (get -f). */
  fsync(path: string): Promise<void>;
  /** The glob's view of the local file system. */
  readonly globFs: GlobFs;
  /**
   * Runs `command` with $SHELL -c (or an interactive shell for null) on the
   * terminal, resolving with its exit status, or null when a signal ended it.
   */
  shell(command: string | null): Promise<number | null>;
}

function attrsOf(st: import('node:fs').Stats): LsAttrs {
  return { size: st.size, uid: st.uid, gid: st.gid, mode: st.mode, mtime: Math.floor(st.mtimeMs / 1000) };
}

async function statOrNull(path: string, follow: boolean): Promise<LsAttrs | null> {
  try {
    return attrsOf(follow ? await fsp.stat(fsPath(path)) : await fsp.lstat(fsPath(path)));
  } catch {
    return null;
  }
}

/**
 * The process's working directory as the kernel has it (getcwd through
 * realpath, as bytes: process.cwd() puts U+FFFD in place of bytes that are
 * not UTF-8); process.cwd() when that fails (a removed directory).
 */
export function physicalCwd(): string {
  try {
    return pathFromBytes(realpathSync.native('.', { encoding: 'buffer' }));
  } catch {
    return process.cwd();
  }
}

/**
 * chdir(2) to `path`, which may hold bytes that are not UTF-8 (escaped as
 * pathFromBytes escapes them). process.chdir takes only strings, so such a
 * directory is entered through a symbolic link to it, made in a private
 * temporary directory (mkdtemp, 0700) and removed at once: chdir follows the
 * link, so the process ends up in the directory itself, with chdir's own
 * errors (ENOENT, ENOTDIR, EACCES) when it cannot. Relative paths are taken
 * from `cwd`, the process's directory as bytes.
 */
export function changeProcessDirectory(path: string, cwd: string): void {
  if (!hasEscapedBytes(path)) {
    process.chdir(path);
    return;
  }
  const absolute = path.startsWith('/') ? path : cwd === '/' ? `/${path}` : `${cwd}/${path}`;
  const dir = mkdtempSync(join(tmpdir(), 'nacre-sftp-lcd-'));
  const link = join(dir, 'dir');
  try {
    symlinkSync(fsPath(absolute), link);
    process.chdir(link);
  } finally {
    try {
      unlinkSync(link);
    } catch {
      // never made
    }
    rmdirSync(dir);
  }
}

export interface NodeLocalOptions {
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Called around a shell command so the line editor gives the terminal up and takes it back. */
  readonly beforeShell?: () => void;
  readonly afterShell?: () => void;
}

export function nodeLocalOps(options: NodeLocalOptions): LocalOps {
  // The working directory is the process's own (so relative local paths, the
  // glob, `lls` and `!` all start there), its name kept here as bytes.
  let cwd: string | undefined;
  return {
    cwd: () => (cwd ??= physicalCwd()),
    chdir: (path) => {
      changeProcessDirectory(path, (cwd ??= physicalCwd()));
      cwd = physicalCwd();
    },
    home: () => options.env.HOME || homedir(),
    mkdir: async (path) => {
      await fsp.mkdir(fsPath(path), 0o777);
    },
    stat: (path) => statOrNull(path, true),
    umask: (mask) => void process.umask(mask),
    fsync: async (path) => {
      const h = await fsp.open(fsPath(path), 'r+');
      try {
        await h.sync();
      } finally {
        await h.close();
      }
    },
    globFs: {
      readdir: async (dir) => {
        try {
          // Names as bytes, escaped where not UTF-8: a glob finds every file under its own name.
          const names = (await fsp.readdir(fsPath(dir), { encoding: 'buffer' })).map((b) => pathFromBytes(b));
          const out: { name: string; attrs: LsAttrs }[] = [];
          for (const name of names) {
            const a = await statOrNull(dir === '/' ? `/${name}` : `${dir}/${name}`, false);
            if (a) out.push({ name, attrs: a });
          }
          return out;
        } catch {
          return null;
        }
      },
      lstat: (path) => statOrNull(path, false),
      stat: (path) => statOrNull(path, true),
    },
    shell: (command) =>
      new Promise((resolve) => {
        const shell = options.env.SHELL || '/bin/sh';
        options.beforeShell?.();
        // A command naming bytes that are not UTF-8 (`lls x\377`) reaches the shell with them.
        const program = command === null ? { file: shell, args: [] } : shellProgram(shell, command);
        const child = spawn(program.file, program.args, { stdio: 'inherit' });
        const done = (status: number | null): void => {
          options.afterShell?.();
          resolve(status);
        };
        child.once('error', () => done(127));
        child.once('exit', (code) => done(code));
      }),
  };
}
