// What the interop tests of names that are not UTF-8 on the command line
// and at nacre-sftp's local side share: OpenSSH's sftp-server behind a
// stand-in ssh (a script given with -S, so no sshd is needed), and a runner
// that gives a program arguments made of any bytes (through /bin/sh: Node's
// spawn takes strings only) and keeps its output byte for byte (latin1).
import { spawn } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const SFTP_SERVER = '/usr/lib/openssh/sftp-server';

/** An executable script `name` in `dir` with `body` after `#!/bin/sh`; its path. */
export function script(dir: string, name: string, body: string): string {
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

/** A stand-in for ssh in `dir`: ignores its arguments and is OpenSSH's sftp-server (in the directory it starts in). */
export function standInSsh(dir: string): string {
  return script(dir, 'fake-ssh', `exec ${SFTP_SERVER}`);
}

/** A word for /bin/sh that is exactly `bytes` (every byte as printf's octal escape). */
function shWord(bytes: Uint8Array | string): string {
  const b = typeof bytes === 'string' ? Buffer.from(bytes) : bytes;
  return `"$(printf '${[...b].map((c) => '\\' + c.toString(8).padStart(3, '0')).join('')}')"`;
}

export interface RawRun {
  code: number | null;
  /** Output as latin1: one character a byte. */
  stdout: string;
  stderr: string;
}

/** Runs `argv` (bytes allowed) in `cwd` with `env`. */
export function runRaw(cwd: string, argv: readonly (string | Uint8Array)[], env: Record<string, string>): Promise<RawRun> {
  return new Promise((resolve) => {
    const child = spawn('/bin/sh', ['-c', 'exec ' + argv.map(shWord).join(' ')], { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('latin1')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('latin1')));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
