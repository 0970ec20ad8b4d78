// What the pure ssh_config resolver (src/config) needs from Node: reading
// the files (bounded), Include's glob, `Match exec` through the user's shell,
// and who and where the local user is.
import { readdirSync, statSync } from 'node:fs';
import { homedir, hostname, networkInterfaces, userInfo } from 'node:os';
import { spawnSync } from 'node:child_process';
import { ConfigError } from '../../errors.js';
import { globMatch } from '../../wire/glob.js';
import { resolveSshConfig, type SshConfig, type SshConfigIO, type SshConfigRequest } from '../../config/ssh-config-resolve.js';
import { isMissingFile, readBounded } from './files.js';

/** Far past any real ssh_config; bounds what a file can take. */
const MAX_CONFIG_BYTES = 4 << 20;

function readConfigFile(path: string, checkPermissions: boolean): string | null {
  let text: string;
  try {
    text = readBounded(path, MAX_CONFIG_BYTES, 'ssh_config file').toString('utf8');
  } catch (err) {
    if (isMissingFile(err)) return null;
    throw new ConfigError(`cannot read: ${(err as Error).message}`, { file: path }, { cause: err });
  }
  if (checkPermissions) {
    // As ssh: another user able to write the file could run commands as this one (ProxyCommand, Match exec).
    const st = statSync(path);
    const uid = process.getuid?.();
    if ((uid !== undefined && st.uid !== 0 && st.uid !== uid) || (st.mode & 0o022) !== 0) throw new ConfigError(`Bad owner or permissions on ${path}`, { file: path });
  }
  return text;
}

const WILD = /[*?]/;

/**
 * glob(3) for Include: `*` and `?` in any path segment (not matching a
 * leading `.`, as glob does), results sorted. Character classes are taken
 * literally.
 */
export function globPaths(pattern: string): string[] {
  if (!pattern.startsWith('/')) return [];
  const parts = pattern.split('/').filter((p) => p !== '');
  let found = ['/'];
  for (const [i, part] of parts.entries()) {
    const last = i === parts.length - 1;
    const next: string[] = [];
    for (const dir of found) {
      const base = dir.endsWith('/') ? dir : dir + '/';
      if (!WILD.test(part)) {
        next.push(base + part);
        continue;
      }
      let names: string[];
      try {
        names = readdirSync(dir);
      } catch {
        continue;
      }
      for (const n of names.sort()) if (!(n.startsWith('.') && !part.startsWith('.')) && globMatch(n, part)) next.push(base + n);
    }
    found = next;
    if (!last && found.length === 0) break;
  }
  return found.sort();
}

function runMatchExec(command: string): boolean {
  const shell = process.env.SHELL || '/bin/sh';
  const r = spawnSync(shell, ['-c', command], { stdio: ['ignore', 'ignore', 'inherit'] });
  return r.status === 0;
}

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? 'root';
  }
}

/** The Node side of the resolver: this process's user, host, home, environment and files. */
export function nodeSshConfigIO(overrides: Partial<SshConfigIO> = {}): SshConfigIO {
  return {
    readFile: readConfigFile,
    glob: globPaths,
    exec: runMatchExec,
    localUser: safeUser(),
    localHost: hostname(),
    home: homedir(),
    uid: process.getuid?.() ?? 0,
    env: process.env,
    localAddresses: Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((i) => i.address)),
    ...overrides,
  };
}

/** resolveSshConfig with this machine's files (`~/.ssh/config`, `/etc/ssh/ssh_config`, or `configFile`). */
export function readSshConfig(request: SshConfigRequest, overrides: Partial<SshConfigIO> = {}): SshConfig {
  return resolveSshConfig(request, nodeSshConfigIO(overrides));
}
