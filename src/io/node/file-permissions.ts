// sshd's StrictModes, for the files Nacre trusts: a file that another user
// could change, or whose secret another user could read, is not used. On a
// system without POSIX owners (Windows) there is nothing to check.
import { chmodSync, mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { KeyFileError } from '../../keys/pem.js';

function currentUid(): number | undefined {
  return process.getuid?.();
}

/**
 * A trust file (authorized_keys, a public key), or a directory above it up
 * to `home`, that another user owns or could write lets that user add keys.
 * Returns why the file may not be trusted, or null when it may (or does not
 * exist: then there is nothing to trust anyway). Files owned by root count
 * as safe, as in sshd.
 */
export function unsafeTrustFile(path: string, home: string): string | null {
  const uid = currentUid();
  if (uid === undefined) return null;
  const checks = [path];
  for (let d = dirname(path); ; d = dirname(d)) {
    checks.push(d);
    if (d === home || dirname(d) === d) break;
  }
  for (const p of checks) {
    let st;
    try {
      st = statSync(p);
    } catch {
      return null; // absent: nothing to trust anyway
    }
    if (st.uid !== uid && st.uid !== 0) return `${p} belongs to another user (uid ${st.uid})`;
    if ((st.mode & 0o022) !== 0) return `${p} is writable by group or others (mode ${(st.mode & 0o777).toString(8)})`;
  }
  return null;
}

/**
 * Refuses a private key file that belongs to another user or that group or
 * others may read or write (sshd's rule for host keys). `what` names the key
 * in messages. Throws a KeyFileError (`unsafe-permissions`, or `io` when it
 * cannot be examined).
 */
export function checkPrivateKeyFile(path: string, what = 'private key'): void {
  const uid = currentUid();
  if (uid === undefined) return;
  let st;
  try {
    st = statSync(path);
  } catch (err) {
    throw new KeyFileError(`cannot read key file (${(err as Error).message})`, 'io', { path, cause: err });
  }
  if (st.uid !== uid) throw new KeyFileError(`the ${what} belongs to another user (uid ${st.uid})`, 'unsafe-permissions', { path });
  if ((st.mode & 0o077) !== 0) {
    throw new KeyFileError(`permissions ${(st.mode & 0o777).toString(8)} are too open for a ${what} (chmod 600 it)`, 'unsafe-permissions', { path });
  }
}

/**
 * Makes `dir` (and its parents) if missing, refuses it if another user owns
 * it, and takes away any access group and others have: the directory will
 * hold private keys. `what` names it in messages.
 */
export function ensurePrivateDirectory(dir: string, what = 'directory'): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const uid = currentUid();
  const st = statSync(dir);
  if (uid !== undefined && st.uid !== uid) {
    throw new KeyFileError(`the ${what} belongs to another user (uid ${st.uid})`, 'unsafe-permissions', { path: dir });
  }
  if ((st.mode & 0o077) !== 0) chmodSync(dir, 0o700);
}
