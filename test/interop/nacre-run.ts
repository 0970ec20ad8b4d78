// Running the built `nacre` command as a real process, for the interop
// tests: its path, and a run to its end with stdout, stderr and the status.
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { keygen, startSshd, tempDir, type OpenSsh, type Sshd } from './openssh.js';

/** The compiled nacre entry (dist/src/cli/nacre.js). */
export const NACRE = join(dirname(fileURLToPath(import.meta.url)), '../../src/cli/nacre.js');

export interface NacreRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface NacreRunOptions {
  /** HOME for the run (a temporary directory: the user's own ~/.ssh is never read). */
  readonly home: string;
  readonly input?: string;
  readonly env?: Record<string, string>;
  /** Resolve when the process exits, not when its output pipes close (a -f background copy keeps them open). */
  readonly untilExit?: boolean;
}

/** Runs nacre to its end (killed after 30 s). */
export function runNacre(args: readonly string[], options: NacreRunOptions): Promise<NacreRun> {
  return runCommand(process.execPath, [NACRE, ...args], options);
}

/** Runs any program as runNacre runs nacre (PATH and HOME only, plus `env`), in `cwd` when given. */
export function runCommand(program: string, args: readonly string[], options: NacreRunOptions & { readonly cwd?: string }): Promise<NacreRun> {
  return new Promise((resolve) => {
    const child = spawn(program, [...args], { stdio: ['pipe', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '', HOME: options.home, ...options.env }, ...(options.cwd !== undefined ? { cwd: options.cwd } : {}) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30000);
    child.on(options.untilExit ? 'exit' : 'close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    // A program that exits without reading its input (a usage error, a -D run
    // that never looks at stdin) makes this write fail with EPIPE: not the test's concern.
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
  });
}

/** An sshd of OpenSSH's that lets in one fresh ed25519 client key. */
export interface KeyedSshd {
  readonly sshd: Sshd;
  /** A temporary directory holding the client key (removed by stop()). */
  readonly dir: string;
  /** The client's private key file. */
  readonly key: string;
  stop(): Promise<void>;
}

/** Starts an sshd (ed25519 host key only) that authorizes a new client key made in a temporary directory named after `prefix`. */
export async function startKeyedSshd(o: OpenSsh, prefix: string, extraConfig: string[] = []): Promise<KeyedSshd> {
  const dir = tempDir(prefix);
  const k = keygen(o, dir, 'ed25519', 'client');
  const sshd = await startSshd(o, extraConfig, { hostKeyTypes: ['ed25519'], authorizedKeys: k.publicLine + '\n' });
  return {
    sshd,
    dir,
    key: k.privatePath,
    async stop() {
      await sshd.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
