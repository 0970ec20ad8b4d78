// `nacred passwd`: sets, changes or deletes a user's line in the password file
// nacred checks passwords against (scrypt hashes; the format is documented in
// docs/SECURITY.md). The password is asked twice with echo off, or read from
// standard input's first line with -s for scripts. The file is replaced
// atomically and created 0600; a file with a malformed line is not rewritten.
import { statSync } from 'node:fs';
import { userInfo } from 'node:os';
import { ConfigError, NACRE_DEFAULT_PASSWORD_FILE, deletePasswordFromFile, isValidUserName, setPasswordInFile, type ScryptParams } from '../../index.js';
import { getopt, lastValue, UsageError } from '../common/getopt.js';
import type { CliIo } from '../common/io.js';

/** Where the password file is unless `-f` says otherwise (sshd_config's PasswordFile default). */
export const DEFAULT_PASSWORD_FILE = NACRE_DEFAULT_PASSWORD_FILE;

const USAGE = 'usage: nacred passwd [-s] [-f password_file] [user]\n       nacred passwd -d [-f password_file] user\n';

export interface PasswdOptions {
  /** scrypt parameters of new hashes (tests use cheap ones); default the library's. */
  readonly params?: ScryptParams;
}

/** Runs `nacred passwd` with `argv` (the words after `passwd`); returns the exit status. */
export async function runPasswd(argv: readonly string[], io: CliIo, options: PasswdOptions = {}): Promise<number> {
  let parsed;
  try {
    parsed = getopt(argv, 'dhsf:');
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.err(`nacred passwd: ${err.message}\n${USAGE}`);
    return 1;
  }
  const has = (flag: string) => parsed.options.some((o) => o.flag === flag);
  if (has('h') || parsed.operands.length > 1) {
    io.err(USAGE);
    return has('h') ? 0 : 1;
  }
  const file = lastValue(parsed, 'f') ?? DEFAULT_PASSWORD_FILE;
  const user = parsed.operands[0] ?? (has('d') ? undefined : currentUser());
  if (user === undefined) {
    io.err(`nacred passwd: -d needs the user to delete\n${USAGE}`);
    return 1;
  }
  if (!isValidUserName(user)) {
    io.err(`nacred passwd: "${user}" is not a valid user name\n`);
    return 1;
  }
  try {
    if (has('d')) {
      if (!deletePasswordFromFile(file, user)) {
        io.err(`nacred passwd: ${user} is not in ${file}\n`);
        return 1;
      }
      io.out(`Password of ${user} deleted from ${file}.\n`);
      return 0;
    }
    const password = has('s') ? passwordFromStdin(io) : await askTwice(io, user);
    if (password === null) return 1;
    await setPasswordInFile(file, user, password, options.params ? { params: options.params } : {});
    io.out(`Password of ${user} set in ${file}.\n`);
    warnIfOpen(io, file);
    return 0;
  } catch (err) {
    // A ConfigError names the file and line; anything else (permissions, a full disk) says what it is.
    io.err(`nacred passwd: ${err instanceof ConfigError ? err.message : `${file}: ${err instanceof Error ? err.message : String(err)}`}\n`);
    return 1;
  }
}

function currentUser(): string {
  return process.env.USER || userInfo().username;
}

/** The first line of standard input (no trailing CR), or null with a message when there is none or it is empty. */
function passwordFromStdin(io: CliIo): string | null {
  const line = io.readLine();
  if (line === null || line.replace(/\r$/, '') === '') {
    io.err('nacred passwd: no password on standard input\n');
    return null;
  }
  return line.replace(/\r$/, '');
}

async function askTwice(io: CliIo, user: string): Promise<string | null> {
  const first = await io.readPassphrase(`New password for ${user}: `);
  if (first === '') {
    io.err('nacred passwd: empty password; nothing changed\n');
    return null;
  }
  const second = await io.readPassphrase('Retype new password: ');
  if (first !== second) {
    io.err('nacred passwd: passwords do not match; nothing changed\n');
    return null;
  }
  return first;
}

/** An existing file keeps its mode on update: say so when nacred will refuse it, or when anyone may read it. */
function warnIfOpen(io: CliIo, file: string): void {
  const mode = statSync(file).mode & 0o777;
  if ((mode & 0o022) !== 0) io.err(`nacred passwd: warning: ${file} is writable by group or others (mode ${mode.toString(8)}); nacred will not use it until you chmod 600 it\n`);
  else if ((mode & 0o004) !== 0) io.err(`nacred passwd: warning: ${file} is readable by everyone (mode ${mode.toString(8)}); chmod 600 it\n`);
}
