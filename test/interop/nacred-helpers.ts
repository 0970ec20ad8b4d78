// Runs the real `nacred` (node dist/src/cli/nacred.js) on loopback with a
// private sshd_config, host key and AuthorizedKeysFile (an absolute path in
// a temp directory, so nothing under ~/.ssh is read or written), and
// OpenSSH's ssh against it.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, rmSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { freePort, keygen, runSsh, tempDir, type OpenSsh, type SshRun } from './openssh.js';

export const repoRoot = resolve(dirname(new URL(import.meta.url).pathname), '../../..');
export const nacredJs = join(repoRoot, 'dist/src/cli/nacred.js');
export const user = userInfo().username;

/** Runs nacred to completion (for -t, -T, bad flags). */
export function runNacred(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [nacredJs, ...args], { encoding: 'utf8', timeout: 20_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

export interface NacredFixture {
  readonly dir: string;
  readonly hostKey: string;
  readonly userKey: string;
  readonly userKeyLine: string;
  readonly authorizedKeys: string;
  readonly knownHosts: string;
  /** Writes sshd_config: the fixture's basics, then `lines`. */
  writeConfig(lines: readonly string[], port: number, path?: string): string;
  cleanup(): void;
}

export function nacredFixture(o: OpenSsh): NacredFixture {
  const dir = tempDir('nacred');
  chmodSync(dir, 0o700);
  const host = keygen(o, dir, 'ed25519', 'host_key');
  const u = keygen(o, dir, 'ed25519', 'user_key');
  const authorizedKeys = join(dir, 'authorized_keys');
  writeFileSync(authorizedKeys, u.publicLine + '\n', { mode: 0o600 });
  const knownHosts = join(dir, 'known_hosts');
  return {
    dir,
    hostKey: host.privatePath,
    userKey: u.privatePath,
    userKeyLine: u.publicLine,
    authorizedKeys,
    knownHosts,
    writeConfig(lines, port, path = join(dir, 'sshd_config')) {
      const base = [
        `Port ${port}`,
        'ListenAddress 127.0.0.1',
        `HostKey ${host.privatePath}`,
        `AuthorizedKeysFile ${authorizedKeys}`,
        // The temp directory sits under /tmp (mode 1777), which StrictModes refuses, as sshd would.
        'StrictModes no',
        // Root in CI: keys only, as sshd's default.
        'PermitRootLogin prohibit-password',
        `PidFile ${join(dir, 'nacred.pid')}`,
      ];
      // Global settings first: a Match block in `lines` lasts to the end of the file.
      writeFileSync(path, [...base, ...lines].join('\n') + '\n', { mode: 0o600 });
      return path;
    },
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface RunningNacred {
  readonly port: number;
  readonly process: ChildProcess;
  readonly config: string;
  /** Everything logged so far. */
  log(): string;
  /** Waits for a log line matching `re` (after `from` characters of the log). */
  waitForLog(re: RegExp, from?: number, ms?: number): Promise<string>;
  /** Sends a signal; resolves with the exit code once it exited (for SIGTERM). */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** ssh to the server with the fixture's key; `extra` before the destination, `command` after. */
  ssh(extra: string[], command?: string[], input?: string, key?: string): Promise<SshRun>;
}

export async function startNacred(o: OpenSsh, f: NacredFixture, lines: readonly string[] = [], args: string[] = []): Promise<RunningNacred> {
  const port = await freePort();
  const config = f.writeConfig(lines, port);
  const child = spawn(process.execPath, [nacredJs, '-D', '-e', '-f', config, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const waitForLog = async (re: RegExp, from = 0, ms = 10_000): Promise<string> => {
    const until = Date.now() + ms;
    for (;;) {
      const m = re.exec(log.slice(from));
      if (m) return m[0];
      if (child.exitCode !== null) throw new Error(`nacred exited (${child.exitCode}) before logging ${re}:\n${log}`);
      if (Date.now() > until) throw new Error(`nacred did not log ${re} in ${ms} ms:\n${log}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  await waitForLog(/Server listening on 127\.0\.0\.1 port \d+\./);
  return {
    port,
    process: child,
    config,
    log: () => log,
    waitForLog,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null) return child.exitCode;
      child.kill(signal);
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
    ssh(extra, command = [], input, key = f.userKey) {
      return runSsh(
        o,
        [
          '-o', 'BatchMode=yes',
          '-o', 'StrictHostKeyChecking=no',
          '-o', `UserKnownHostsFile=${f.knownHosts}`,
          '-o', 'IdentitiesOnly=yes',
          '-o', 'ConnectTimeout=10',
          '-i', key,
          // Before -p: ssh keeps the first -p it is given.
          ...extra,
          '-p', String(port),
          `${user}@127.0.0.1`,
          ...command,
        ],
        20_000,
        input,
      );
    },
  };
}
