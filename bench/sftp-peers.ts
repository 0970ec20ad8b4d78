// The servers of the `sftp` bench section (bench/sftp.ts): a private sshd
// serving SFTP through OpenSSH's own helper process (`sftp-server`, as
// Debian's default sshd_config has it; test/interop's startSshd says
// internal-sftp first, and sshd keeps the first Subsystem line), and the
// `nacred` command serving it in-process (`Subsystem sftp internal-sftp`).
// Both: loopback, a free port, one ed25519 host key, publickey logins from
// the bench key only, LogLevel ERROR.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseOpenSshPublicKeyLine } from '../src/keys/index.js';
import { freePort, keygen, waitForPort, type OpenSsh } from '../test/interop/openssh.js';
import { processCpuMs } from './server.js';

export const SFTP_SERVER = '/usr/lib/openssh/sftp-server';

export interface SftpServer {
  readonly name: string;
  readonly port: number;
  /** The listening process; its CPU (children reaped included) is read from /proc. */
  readonly pid: number;
  readonly hostKeyBlob: Buffer;
  /** A known_hosts file holding exactly this server's key. */
  readonly knownHosts: string;
  cpuMs(): number | null;
  stop(): Promise<void>;
}

function hostKey(o: OpenSsh, dir: string): { path: string; line: string } {
  const k = keygen(o, dir, 'ed25519', 'host_ed25519');
  return { path: k.privatePath, line: k.publicLine };
}

async function launch(name: string, cmd: string, args: readonly string[], dir: string, port: number, hostLine: string): Promise<SftpServer> {
  const child: ChildProcess = spawn(cmd, [...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (d: Buffer) => {
    log += d.toString();
    // LogLevel ERROR: anything said here is worth seeing.
    process.stderr.write(`${name}: ${d.toString()}`);
  });
  await waitForPort(port, 10_000, () => (child.exitCode !== null ? `${name} exited early (${child.exitCode}): ${log}` : null));
  const knownHosts = join(dir, 'known_hosts');
  writeFileSync(knownHosts, `[127.0.0.1]:${port} ${hostLine}\n`);
  return {
    name,
    port,
    pid: child.pid!,
    hostKeyBlob: Buffer.from(parseOpenSshPublicKeyLine(hostLine).blob),
    knownHosts,
    cpuMs: () => processCpuMs(child.pid!),
    stop: () =>
      new Promise<void>((done) => {
        const gone = () => (rmSync(dir, { recursive: true, force: true }), done());
        if (child.exitCode !== null || child.signalCode !== null) return gone();
        child.once('exit', gone);
        child.kill('SIGTERM');
      }),
  };
}

/** sshd with `Subsystem sftp <subsystem>` (default: OpenSSH's sftp-server helper). */
export async function startSftpSshd(o: OpenSsh, authorizedLine: string, subsystem: string = SFTP_SERVER): Promise<SftpServer> {
  const dir = mkdtempSync(join(tmpdir(), 'nacre-bench-sftp-sshd-'));
  const port = await freePort();
  const key = hostKey(o, dir);
  writeFileSync(join(dir, 'authorized_keys'), authorizedLine + '\n');
  const config = [
    'ListenAddress 127.0.0.1',
    `Port ${port}`,
    `HostKey ${key.path}`,
    `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
    `PidFile ${join(dir, 'sshd.pid')}`,
    'StrictModes no',
    'UsePAM no',
    'LogLevel ERROR',
    'PermitRootLogin yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'PerSourcePenalties no',
    `Subsystem sftp ${subsystem}`,
  ];
  writeFileSync(join(dir, 'sshd_config'), config.join('\n') + '\n');
  const name = subsystem === SFTP_SERVER ? 'sshd (sftp-server)' : `sshd (${subsystem})`;
  return launch(name, o.sshd, ['-D', '-e', '-f', join(dir, 'sshd_config')], dir, port, key.line);
}

export const NACRED_JS = fileURLToPath(new URL('../src/cli/nacred.js', import.meta.url));

/** The `nacred` command with `Subsystem sftp internal-sftp`, run with this Node. */
export async function startSftpNacred(o: OpenSsh, authorizedLine: string): Promise<SftpServer> {
  if (!existsSync(NACRED_JS)) throw new Error(`${NACRED_JS} is not built`);
  const dir = mkdtempSync(join(tmpdir(), 'nacre-bench-sftp-nacred-'));
  const port = await freePort();
  const key = hostKey(o, dir);
  writeFileSync(join(dir, 'authorized_keys'), authorizedLine + '\n');
  const config = writeNacredSftpConfig(dir, port, key.path, join(dir, 'authorized_keys'));
  return launch('nacred (internal-sftp)', process.execPath, [NACRED_JS, '-D', '-e', '-f', config], dir, port, key.line);
}

/** Writes the bench's nacred configuration (internal-sftp, one key, quiet) into `dir`; returns its path. */
export function writeNacredSftpConfig(dir: string, port: number, hostKeyPath: string, authorizedKeysFile: string): string {
  const config = join(dir, 'nacred_config');
  writeFileSync(
    config,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${hostKeyPath}`,
      `AuthorizedKeysFile ${authorizedKeysFile}`,
      // The bench directory sits under /tmp (mode 1777), which StrictModes refuses.
      'StrictModes no',
      'PermitRootLogin yes',
      'PasswordAuthentication no',
      'LogLevel ERROR',
      'PerSourcePenalties no',
      'Subsystem sftp internal-sftp',
      `PidFile ${join(dir, 'nacred.pid')}`,
    ].join('\n') + '\n',
    { mode: 0o600 },
  );
  return config;
}

/** The ed25519 user key every client logs in with. */
export interface SftpCredentials {
  readonly user: string;
  readonly keyPath: string;
  readonly keyText: string;
  readonly publicLine: string;
}

export function userKey(o: OpenSsh, dir: string, user: string): SftpCredentials {
  const k = keygen(o, dir, 'ed25519', 'id_ed25519');
  return { user, keyPath: k.privatePath, keyText: readFileSync(k.privatePath, 'utf8'), publicLine: k.publicLine };
}
