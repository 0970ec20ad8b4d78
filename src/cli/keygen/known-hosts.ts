// -F (find), -R (remove) and -H (hash) on a known_hosts file, with
// ssh-keygen's output, exit codes and backup: -R and -H keep the previous
// contents as <file>.old (a hard link to the old file) and replace the file
// atomically, and refuse to replace a file holding lines OpenSSH would call
// invalid. The edits themselves are the pure functions of
// src/trust/known-hosts-edit.ts.
import { copyFileSync, linkSync, realpathSync, statSync, unlinkSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import {
  findKnownHostLines,
  hashKnownHostEntry,
  hashKnownHosts,
  MAX_TRUST_FILE_BYTES,
  parseOpenSshPublicKeyLine,
  readBounded,
  removeKnownHost,
  writeFileAtomic,
  type KnownHostsEdit,
} from '../../keys-entry.js';
import { CliExit, describeError, errnoCode, fatal, strerror } from '../common/exit.js';
import type { CliIo } from '../common/io.js';
import type { KeygenOptions } from './options.js';
import { fingerprintFor, randomArt } from './keys.js';
import { shortKeyType } from './key-info.js';

export function defaultKnownHostsPath(): string {
  return join(homedir(), '.ssh', 'known_hosts');
}

function readKnownHosts(path: string): { text: string; mode: number } {
  let mode: number;
  try {
    mode = statSync(path).mode;
  } catch (err) {
    return fatal(`Cannot stat ${path}: ${strerror(err)}`);
  }
  try {
    return { text: readBounded(path, MAX_TRUST_FILE_BYTES, 'known_hosts file').toString('utf8'), mode };
  } catch (err) {
    return fatal(`${path}: ${strerror(err)}`);
  }
}

/** `-F host`: the lines naming the host (hashed with -H, as fingerprints with -l); exit 1 when none does. */
function findHost(opts: KeygenOptions, io: CliIo, path: string, name: string): number {
  const { text } = readKnownHosts(path);
  let found = false;
  for (const l of findKnownHostLines(text, name)) {
    let key: ReturnType<typeof parseOpenSshPublicKeyLine> | undefined;
    if (opts.fingerprint && !opts.hashHosts) {
      try {
        key = parseOpenSshPublicKeyLine(l.rawKey);
      } catch {
        continue; // a key ssh-keygen could not parse: the line does not count
      }
    }
    found = true;
    if (!opts.quiet) io.out(`# Host ${name} found: line ${l.line} ${l.marker === 'cert-authority' ? 'CA' : l.marker === 'revoked' ? 'REVOKED' : ''}\n`);
    if (opts.hashHosts) {
      for (const h of hashKnownHostEntry(l)) io.out(h + '\n');
    } else if (key) {
      const fp = fingerprintFor(key.blob, opts.fingerprintHash);
      const art = opts.verbose > 0 ? randomArt(key.blob, opts.fingerprintHash) : undefined;
      io.out(`${name} ${shortKeyType(key.type)} ${fp}${key.comment ? ' ' + key.comment : ''}\n`);
      if (art !== undefined) io.out(art + '\n');
    } else {
      io.out(l.text + '\n');
    }
  }
  return found ? 0 : 1;
}

/** Replaces the file with `edit.text`, keeping the old contents as <path>.old, as ssh-keygen's do_known_hosts. */
function replaceKnownHosts(io: CliIo, path: string, mode: number, edit: KnownHostsEdit): void {
  const old = `${path}.old`;
  try {
    unlinkSync(old);
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') fatal(`unlink ${old}: ${strerror(err)}`);
  }
  // The backup is the old inode of the file the name leads to: writeFileAtomic
  // follows a symlink and replaces its target, so a hard link of the symlink
  // itself would show the new contents.
  let target = path;
  try {
    target = realpathSync(path);
  } catch {
    // missing or unreadable: link() below says why
  }
  try {
    linkSync(target, old);
  } catch (err) {
    // The target on another file system than the name: a copy is the backup.
    if (errnoCode(err) === 'EXDEV') {
      try {
        copyFileSync(target, old);
      } catch (copyErr) {
        fatal(`copy ${path} to ${old}: ${strerror(copyErr)}`);
      }
    } else {
      fatal(`link ${old} to ${path}: ${strerror(err)}`);
    }
  }
  try {
    writeFileAtomic(path, edit.text, mode & 0o644, { what: 'known_hosts file' });
  } catch (err) {
    try {
      unlinkSync(old);
    } catch {
      // the backup is only a convenience; the file itself is unchanged
    }
    throw new CliExit(1, describeError(err));
  }
  io.out(`${path} updated.\n`);
  io.out(`Original contents retained as ${old}\n`);
}

function refuseInvalid(io: CliIo, path: string, edit: KnownHostsEdit): void {
  if (edit.invalidLines.length === 0) return;
  io.err(`${path} is not a valid known_hosts file.\n`);
  throw new CliExit(1, 'Not replacing existing known_hosts file because of errors');
}

/** `-R host`: remove the plain entries naming the host. */
function removeHost(opts: KeygenOptions, io: CliIo, path: string, name: string): number {
  const { text, mode } = readKnownHosts(path);
  const edit = removeKnownHost(text, name);
  for (const l of edit.invalidLines) io.err(`${path}:${l.line}: invalid line\n`);
  if (!opts.quiet) for (const n of edit.removedLines) io.out(`# Host ${name} found: line ${n}\n`);
  refuseInvalid(io, path, edit);
  if (edit.removedLines.length === 0) {
    io.err(`Host ${name} not found in ${path}\n`);
    return 0;
  }
  replaceKnownHosts(io, path, mode, edit);
  return 0;
}

/** `-H`: hash every plain host name in the file. */
function hashHosts(io: CliIo, path: string): number {
  const { text, mode } = readKnownHosts(path);
  const edit = hashKnownHosts(text);
  for (const l of edit.wildcardLines) io.err(`${path}:${l.line}: ignoring host name with wildcard: ${l.hosts.slice(0, 64)}\n`);
  for (const l of edit.invalidLines) io.err(`${path}:${l.line}: invalid line\n`);
  refuseInvalid(io, path, edit);
  replaceKnownHosts(io, path, mode, edit);
  if (edit.hashedAny) {
    io.err(`WARNING: ${path}.old contains unhashed entries\n`);
    io.err('Delete this file to ensure privacy of hostnames\n');
  }
  return 0;
}

export function knownHostsCommand(opts: KeygenOptions, io: CliIo): number {
  const path = opts.file ?? defaultKnownHostsPath();
  if (opts.findHost !== undefined) return findHost(opts, io, path, opts.findHost);
  if (opts.removeHost !== undefined) return removeHost(opts, io, path, opts.removeHost);
  return hashHosts(io, path);
}

