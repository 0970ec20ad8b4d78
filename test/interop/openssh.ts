// Runs real OpenSSH binaries on loopback for interop tests: a private sshd
// with its own config, keys and log, and the ssh client with a private
// known_hosts. Nothing here touches the system's SSH setup.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, rmSync, existsSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface OpenSsh {
  readonly ssh: string;
  readonly sshd: string;
  readonly keygen: string;
  readonly version: string;
}

function which(name: string, extra: string[] = []): string | null {
  for (const dir of [...(process.env.PATH ?? '').split(':'), ...extra]) {
    const p = join(dir, name);
    if (dir && existsSync(p)) return p;
  }
  return null;
}

let cached: OpenSsh | null | undefined;
/** The OpenSSH binaries, or null (with a loud message) when they are absent. */
export function findOpenSsh(): OpenSsh | null {
  if (cached !== undefined) return cached;
  const ssh = which('ssh');
  const sshd = which('sshd', ['/usr/sbin', '/usr/local/sbin']);
  const keygen = which('ssh-keygen');
  if (!ssh || !sshd || !keygen) {
    const msg = 'OpenSSH binaries (ssh, sshd, ssh-keygen) not found: INTEROP TESTS ARE SKIPPED. Run scripts/install-test-peers.sh.';
    if (process.env.CI) throw new Error(msg + ' (CI must run them)');
    console.warn('\n' + '!'.repeat(80) + '\n' + msg + '\n' + '!'.repeat(80) + '\n');
    cached = null;
    return null;
  }
  const version = spawnSync(ssh, ['-V'], { encoding: 'utf8' }).stderr.trim();
  if (!/^OpenSSH_(\d+)/.test(version) || Number(/^OpenSSH_(\d+)/.exec(version)![1]) < 10) {
    console.warn(`interop: expected OpenSSH 10, found ${version}; post-quantum methods may be missing`);
  }
  cached = { ssh, sshd, keygen, version };
  return cached;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `nacre-${prefix}-`));
}

export function keygen(o: OpenSsh, dir: string, type: 'ed25519' | 'ecdsa' | 'rsa', name: string, bits?: number): { privatePath: string; publicLine: string } {
  const path = join(dir, name);
  const args = ['-q', '-t', type, '-N', '', '-C', name, '-f', path];
  if (bits) args.push('-b', String(bits));
  const r = spawnSync(o.keygen, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ssh-keygen failed: ${r.stderr}`);
  return { privatePath: path, publicLine: readFileSync(path + '.pub', 'utf8').trim() };
}

type HostKeyFile = 'ed25519' | 'ecdsa' | 'rsa';

export interface Sshd {
  readonly port: number;
  readonly dir: string;
  /** The listening sshd; the per-connection processes it forks inherit its CPU affinity. */
  readonly pid: number;
  /** Public key lines of the host keys, by type (those `hostKeyTypes` asked for). */
  readonly hostKeys: Partial<Record<HostKeyFile, string>>;
  log(): string;
  stop(): Promise<void>;
}

export interface SshdOptions {
  /** Host keys to make and serve; default all three (RSA is 3072 bits). */
  readonly hostKeyTypes?: readonly HostKeyFile[];
  /**
   * Default DEBUG1, which the tests read. Not settable through `extraConfig`:
   * sshd keeps the first value of a keyword.
   */
  readonly logLevel?: string;
  /** Contents of authorized_keys; default empty. */
  readonly authorizedKeys?: string;
}

/** Whether this sshd knows PerSourcePenalties (OpenSSH 9.8 and later). */
function hasPerSourcePenalties(o: OpenSsh): boolean {
  const m = /^OpenSSH_(\d+)\.(\d+)/.exec(o.version);
  if (!m) return false;
  const [major, minor] = [Number(m[1]), Number(m[2])];
  return major > 9 || (major === 9 && minor >= 8);
}

/** Starts a private sshd on a free loopback port. `extraConfig` lines are appended. */
export async function startSshd(o: OpenSsh, extraConfig: string[] = [], options: SshdOptions = {}): Promise<Sshd> {
  const dir = tempDir('sshd');
  const port = await freePort();
  const hostKeys: Partial<Record<HostKeyFile, string>> = {};
  for (const type of options.hostKeyTypes ?? ['ed25519', 'ecdsa', 'rsa']) {
    hostKeys[type] = keygen(o, dir, type, `host_${type}`, type === 'rsa' ? 3072 : undefined).publicLine;
  }
  writeFileSync(join(dir, 'authorized_keys'), options.authorizedKeys ?? '');
  const config = [
    `ListenAddress 127.0.0.1`,
    `Port ${port}`,
    ...Object.keys(hostKeys).map((type) => `HostKey ${join(dir, `host_${type}`)}`),
    `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
    `PidFile ${join(dir, 'sshd.pid')}`,
    'StrictModes no',
    'UsePAM no',
    `LogLevel ${options.logLevel ?? 'DEBUG1'}`,
    'Subsystem sftp internal-sftp',
    // OpenSSH 9.8+ penalises a source address for connections that never
    // authenticate (1 s each, enforced past 15 s) and then refuses it: the
    // transport tests make dozens of such connections from 127.0.0.1 on purpose.
    ...(hasPerSourcePenalties(o) ? ['PerSourcePenalties no'] : []),
    ...extraConfig,
  ];
  writeFileSync(join(dir, 'sshd_config'), config.join('\n') + '\n');
  const logPath = join(dir, 'sshd.log');
  const child: ChildProcess = spawn(o.sshd, ['-D', '-e', '-f', join(dir, 'sshd_config'), '-E', logPath], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  await waitForPort(port, 5000, () => (child.exitCode !== null ? `sshd exited: ${stderr}${safeRead(logPath)}` : null));
  return {
    port,
    dir,
    pid: child.pid!,
    hostKeys,
    log: () => safeRead(logPath) + stderr,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function safeRead(p: string): string {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return '';
  }
}

/** Waits until something accepts on 127.0.0.1:`port`; `failed` returns a reason to give up early. */
export async function waitForPort(port: number, ms: number, failed: () => string | null = () => null): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    const why = failed();
    if (why) throw new Error(why);
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`port ${port} did not open in ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface SshRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * OpenSSH's ssh logging in with `password` through sshpass (password
 * authentication only, one prompt), no user config; `options` are -o
 * settings such as UserKnownHostsFile. Resolves with the time it took too.
 */
export function runSshPass(o: OpenSsh, password: string, port: number, login: string, command: string, options: readonly string[]): Promise<SshRun & { readonly ms: number }> {
  const args = [
    '-p', password, o.ssh, '-F', 'none', '-p', String(port),
    ...options.flatMap((opt) => ['-o', opt]),
    '-o', 'PreferredAuthentications=password', '-o', 'PubkeyAuthentication=no', '-o', 'NumberOfPasswordPrompts=1',
    `${login}@127.0.0.1`, command,
  ];
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn('sshpass', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - started });
    });
  });
}

/** Runs the OpenSSH client with a private known_hosts and no user config. */
export function runSsh(o: OpenSsh, args: string[], timeoutMs = 20000, input?: string): Promise<SshRun> {
  return new Promise((resolve) => {
    const child = spawn(o.ssh, ['-F', 'none', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    // A program that exits before reading its input (ssh -O, a usage error) fails this write with EPIPE: not the test's concern.
    child.stdin.on('error', () => undefined);
    child.stdin.end(input ?? '');
  });
}
