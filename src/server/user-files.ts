// The files of a user's that a session reads on their behalf, as sshd does:
// ~/.ssh/environment (PermitUserEnvironment), ~/.hushlogin, and /etc/motd.
// A server running as root reads ~/.ssh/environment as root, so a file is
// used only when it is a regular file the user owns, opened without
// following a symlink at its own name: a link to another user's file (or to
// /etc/shadow) is refused, and what a user can make us read is what they can
// read themselves.
import { constants as fsConstants } from 'node:fs';
import { lstat, open } from 'node:fs/promises';
import { join } from 'node:path';
import { acceptEnvPatterns } from './login-env.js';
import type { PermitUserEnvironment } from './restrictions.js';

/** ~/.ssh/environment larger than this is ignored. */
const MAX_ENVIRONMENT_FILE = 64 * 1024;
/** Variables one environment file may set at most. */
const MAX_ENVIRONMENT_LINES = 1024;
/** /etc/motd larger than this is cut there. */
const MAX_MOTD = 64 * 1024;

/**
 * Parses ~/.ssh/environment as sshd reads it: `NAME=value` lines, leading
 * blanks and `#` comments and empty lines skipped, lines without `=` (or with
 * an empty name) ignored, a later line for a name replacing an earlier one.
 * `permit`: true for every name, a pattern list for some, false for none.
 */
export function parseEnvironmentFile(text: string, permit: PermitUserEnvironment = true): Record<string, string> {
  const env: Record<string, string> = Object.create(null) as Record<string, string>;
  if (permit === false) return env;
  const allowed = permit === true ? () => true : acceptEnvPatterns(permit);
  let count = 0;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '').replace(/^[ \t]+/, '');
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    const name = line.slice(0, eq);
    if (name.includes('\0') || line.includes('\0') || !allowed(name)) continue;
    if (!(name in env) && ++count > MAX_ENVIRONMENT_LINES) break;
    env[name] = line.slice(eq + 1);
  }
  return env;
}

/**
 * Reads `path` when it is a regular file owned by `uid`, of at most
 * `maxBytes`, not through a symlink at its own name; null otherwise.
 */
export async function readOwnedFile(path: string, uid: number, maxBytes: number): Promise<string | null> {
  let handle;
  try {
    handle = await open(path, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW | fsConstants.O_NONBLOCK | fsConstants.O_NOCTTY);
  } catch {
    return null;
  }
  try {
    const st = await handle.stat();
    if (!st.isFile() || st.uid !== uid || st.size > maxBytes) return null;
    const buf = Buffer.alloc(maxBytes + 1);
    const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
    return bytesRead > maxBytes ? null : buf.subarray(0, bytesRead).toString('utf8');
  } catch {
    return null;
  } finally {
    await handle.close();
  }
}

/** The variables of `home`/.ssh/environment the user `uid` owns, filtered by `permit`; {} without one. */
export async function userEnvironmentFile(home: string, uid: number, permit: PermitUserEnvironment): Promise<Record<string, string>> {
  if (permit === false || (Array.isArray(permit) && permit.length === 0)) return {};
  const text = await readOwnedFile(join(home, '.ssh', 'environment'), uid, MAX_ENVIRONMENT_FILE);
  return text === null ? {} : parseEnvironmentFile(text, permit);
}

/** The text of the nologin file when it exists (empty if unreadable), else null; `path` null: no check. */
export async function nologinText(path: string | null): Promise<string | null> {
  if (path === null) return null;
  try {
    await lstat(path);
  } catch {
    return null;
  }
  return (await readText(path, MAX_MOTD, false)) ?? '';
}

/** Whether `home`/.hushlogin exists (sshd then prints no motd). */
export async function hushLogin(home: string): Promise<boolean> {
  try {
    await lstat(join(home, '.hushlogin'));
    return true;
  } catch {
    return false;
  }
}

/**
 * The message of the day for a terminal: the file's text (at most 64 KiB)
 * with line ends as a terminal wants them (CR LF), or null when it cannot be
 * read. It is written to the session's channel, not through the terminal.
 */
export function motdText(path: string): Promise<string | null> {
  return readText(path, MAX_MOTD, true);
}

/** A regular file's first `max` bytes as text (line ends CR LF for a terminal), or null. */
async function readText(path: string, max: number, crlf: boolean): Promise<string | null> {
  let handle;
  try {
    handle = await open(path, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK | fsConstants.O_NOCTTY);
  } catch {
    return null;
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) return null;
    const buf = Buffer.alloc(max);
    const { bytesRead } = await handle.read(buf, 0, max, 0);
    const text = buf.subarray(0, bytesRead).toString('utf8');
    return crlf ? text.replace(/\r?\n/g, '\r\n') : text;
  } catch {
    return null;
  } finally {
    await handle.close();
  }
}
