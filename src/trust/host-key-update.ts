// UpdateHostKeys, the known_hosts half (pure): given the host keys a server
// announced after login (OpenSSH's hostkeys-00@openssh.com) and the user's
// known_hosts files, which keys are new (the server must prove it holds
// them before they are written), which lines are deprecated (keys the server
// no longer has), and whether the files are simple enough to edit at all.
// The rules are OpenSSH's (clientloop.c, client_input_hostkeys): any doubt
// leaves the files alone, since a wrong edit would make ssh distrust a host.
import { constantTimeEqual } from '../wire/bytes.js';
import { formatKnownHostLine, knownHostEntryMatches, parseKnownHosts, type KnownHostEntry } from './known-hosts.js';

/** A known_hosts file as read: its path and text ('' when absent). */
export interface KnownHostsFileText {
  readonly path: string;
  readonly text: string;
}

/** A line of a known_hosts file holding a key the server no longer announces. */
export interface DeprecatedHostKey {
  readonly file: string;
  readonly line: number;
  readonly key: Uint8Array;
}

export interface HostKeyUpdatePlan {
  /** Announced keys no line lists for the host, in the server's order: the ones to prove. */
  readonly newKeys: readonly Uint8Array[];
  /** Announced keys known_hosts already lists for the host. */
  readonly knownKeys: readonly Uint8Array[];
  /** Lines for the host whose keys the server did not announce. */
  readonly deprecated: readonly DeprecatedHostKey[];
  /**
   * Why the files are left alone, when they are: nothing changed, a
   * `@cert-authority`/`@revoked` line or a wildcard or multi-name entry for
   * the host, an announced key filed under another name, a deprecated key
   * also filed under another name. Absent when the update may go ahead.
   */
  readonly skip?: string;
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && constantTimeEqual(a, b);
}

/** A host field ssh would not have written for one host: wildcards, or more than `host,address`. */
function isComplexHostField(entry: KnownHostEntry): boolean {
  if (entry.hashed) return false;
  if (entry.patterns.some((p) => p.includes('*') || p.includes('?'))) return true;
  return entry.patterns.length > 2;
}

function entriesOf(files: readonly KnownHostsFileText[]): KnownHostEntry[] {
  return files.flatMap((f) => parseKnownHosts(f.text, f.path).entries);
}

/**
 * What announcing `announced` means for the host known as `name`
 * (knownHostName form: `host` or `[host]:port`) in the user's known_hosts
 * `files` (global files are not considered, as ssh does not edit them).
 * `announced` is the server's list, already stripped of certificates and
 * of key types the client does not accept; duplicates are the caller's to refuse.
 */
export function planHostKeyUpdate(files: readonly KnownHostsFileText[], name: string, announced: readonly Uint8Array[]): HostKeyUpdatePlan {
  const known = new Array<boolean>(announced.length).fill(false);
  const deprecated: DeprecatedHostKey[] = [];
  let skip: string | undefined;
  const entries = entriesOf(files);
  for (const e of entries) {
    const index = announced.findIndex((k) => same(k, e.blob));
    if (!knownHostEntryMatches(e, name)) {
      if (index >= 0) skip ??= `the ${e.keyType} key is also listed under another name (${e.source}:${e.line})`;
      continue;
    }
    if (e.marker !== null) {
      skip ??= `known_hosts has a @${e.marker} line for ${name} (${e.source}:${e.line})`;
      continue;
    }
    if (isComplexHostField(e)) {
      skip ??= `known_hosts lists ${name} with wildcards or several names (${e.source}:${e.line})`;
      continue;
    }
    if (index >= 0) known[index] = true;
    else deprecated.push({ file: e.source ?? '', line: e.line, key: e.blob });
  }
  const newKeys = announced.filter((_, i) => !known[i]);
  const knownKeys = announced.filter((_, i) => known[i]);
  if (newKeys.length === 0 && deprecated.length === 0) return { newKeys, knownKeys, deprecated, skip: 'no new or deprecated keys' };
  // A deprecated key that also names another host: removing it here would
  // leave the files disagreeing about which hosts share it.
  if (!skip) {
    const other = entries.find((e) => !knownHostEntryMatches(e, name) && deprecated.some((d) => same(d.key, e.blob)));
    if (other) skip = `the deprecated ${other.keyType} key is also listed under another name (${other.source}:${other.line})`;
  }
  return skip === undefined ? { newKeys, knownKeys, deprecated } : { newKeys, knownKeys, deprecated, skip };
}

export interface ReplaceHostKeysOptions {
  /** Write added names hashed (HashKnownHosts). */
  readonly hash?: boolean;
  /** Salt for hashed names (tests); random otherwise. */
  readonly salt?: () => Uint8Array;
}

export interface ReplacedHostKeys {
  readonly text: string;
  /** Key blobs whose lines were removed. */
  readonly removed: readonly Uint8Array[];
  /** Key blobs appended. */
  readonly added: readonly Uint8Array[];
}

/**
 * One known_hosts file rewritten so that the host `name` (for `host` on
 * `port`) is listed with exactly `keys`: plain lines naming it with another
 * key are dropped, lines with one of `keys` are kept as they are, and the
 * keys no line holds yet are appended. Every other line (comments,
 * other hosts, markers, lines that do not parse) is kept byte for byte.
 * With `keys` empty, the host's plain lines are only removed (ssh's edit of
 * the user's other known_hosts files).
 */
export function replaceHostKeys(text: string, host: string, port: number, name: string, keys: readonly Uint8Array[], options: ReplaceHostKeysOptions = {}): ReplacedHostKeys {
  const byLine = new Map<number, KnownHostEntry>();
  for (const e of parseKnownHosts(text).entries) byLine.set(e.line, e);
  const present = new Array<boolean>(keys.length).fill(false);
  const removed: Uint8Array[] = [];
  const out: string[] = [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  lines.forEach((raw, i) => {
    const e = byLine.get(i + 1);
    if (e && e.marker === null && knownHostEntryMatches(e, name)) {
      const index = keys.findIndex((k) => same(k, e.blob));
      if (index < 0) {
        removed.push(e.blob);
        return;
      }
      present[index] = true;
    }
    out.push(raw);
  });
  const added = keys.filter((_, i) => !present[i]);
  for (const k of added) {
    out.push(formatKnownHostLine(host, port, k, { ...(options.hash ? { hash: true } : {}), ...(options.salt ? { salt: options.salt() } : {}) }));
  }
  return { text: out.map((l) => l + '\n').join(''), removed, added };
}
