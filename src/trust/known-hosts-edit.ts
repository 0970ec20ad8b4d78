// The known_hosts edits behind `ssh-keygen -F`, `-R` and `-H`: find the
// lines naming a host, remove them, or replace host names by their hashes.
// Lines are classified as OpenSSH's hostkeys_foreach does (without parsing
// the key), and every line an edit does not concern is kept byte for byte:
// comments, blank lines, @cert-authority and @revoked lines, and lines
// OpenSSH would call invalid (which make -R and -H refuse to write).
// Pure: text in, text out; the tool reads and writes the file.
import { hashHostName, matchPatternList, parseHashedHostName, type KnownHostMarker } from './known-hosts.js';

/** One line of a known_hosts file as OpenSSH sorts it. */
export type ClassifiedKnownHostsLine =
  | { readonly kind: 'comment'; readonly line: number; readonly text: string }
  | { readonly kind: 'invalid'; readonly line: number; readonly text: string; readonly reason: string }
  | {
      readonly kind: 'entry';
      readonly line: number;
      readonly text: string;
      readonly marker: KnownHostMarker | null;
      /** The host field as written: patterns separated by commas, or one `|1|salt|hash`. */
      readonly hosts: string;
      /** Everything after the host field: key type, key and comment. */
      readonly rawKey: string;
    };

const BLANK = /^[ \t]*/;

/** The file's lines, numbered from 1; a final newline does not start another line. */
export function splitKnownHostsLines(text: string): string[] {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

function classify(text: string, line: number): ClassifiedKnownHostsLine {
  let rest = text.slice(BLANK.exec(text)![0].length);
  if (rest === '' || rest.startsWith('#')) return { kind: 'comment', line, text };
  const invalid = (reason: string): ClassifiedKnownHostsLine => ({ kind: 'invalid', line, text, reason });
  let marker: KnownHostMarker | null = null;
  if (rest.startsWith('@')) {
    const m = /^@(cert-authority|revoked)[ \t]+/.exec(rest);
    if (!m) return invalid('unknown marker');
    marker = m[1] as KnownHostMarker;
    rest = rest.slice(m[0].length);
  }
  const hostEnd = rest.search(/[ \t]/);
  if (hostEnd < 0) return invalid('nothing after the host field');
  const hosts = rest.slice(0, hostEnd);
  rest = rest.slice(hostEnd);
  rest = rest.slice(BLANK.exec(rest)![0].length);
  if (rest === '' || rest.startsWith('#')) return invalid('no key type after the host field');
  if (hosts.startsWith('|') && !parseHashedHostName(hosts)) return invalid('malformed hashed host name');
  const typeEnd = rest.search(/[ \t]/);
  if (typeEnd <= 1) return invalid(typeEnd < 0 ? 'no key after the key type' : 'key type too short');
  const keyType = rest.slice(0, typeEnd);
  // A short number is the key-size field of an SSH-1 RSA key, which OpenSSH no longer reads.
  if (keyType.length < 8 && /^[0-9]+$/.test(keyType)) return invalid('SSH-1 key');
  if (/^[ \t]*$/.test(rest.slice(typeEnd))) return invalid('no key after the key type');
  return { kind: 'entry', line, text, marker, hosts, rawKey: rest };
}

/** Every line of `text`, classified. */
export function classifyKnownHosts(text: string): ClassifiedKnownHostsLine[] {
  return splitKnownHostsLines(text).map((l, i) => classify(l, i + 1));
}

/**
 * True when the host field names `name` (`host` or `[host]:port`): a hashed
 * field by the HMAC of `name` as given, patterns case-insensitively with `*`,
 * `?` and `!` as OpenSSH's match_hostname.
 */
export function hostFieldMatches(hosts: string, name: string): boolean {
  if (hosts.startsWith('|')) {
    const hashed = parseHashedHostName(hosts);
    return hashed !== undefined && hashHostName(name, hashed.salt) === hosts;
  }
  return matchPatternList(name, hosts) === 1;
}

type Entry = Extract<ClassifiedKnownHostsLine, { kind: 'entry' }>;

/** The entries naming `name`, in file order (`ssh-keygen -F`). Invalid lines are skipped, as there. */
export function findKnownHostLines(text: string, name: string): Entry[] {
  return classifyKnownHosts(text).filter((l): l is Entry => l.kind === 'entry' && hostFieldMatches(l.hosts, name));
}

export interface KnownHostsEdit {
  /** The new file contents. */
  readonly text: string;
  /** Lines OpenSSH would call invalid; -R and -H refuse to replace the file when there are any. */
  readonly invalidLines: readonly Extract<ClassifiedKnownHostsLine, { kind: 'invalid' }>[];
}

export interface RemovedKnownHost extends KnownHostsEdit {
  /** Line numbers removed (plain entries naming the host; @cert-authority and @revoked lines stay). */
  readonly removedLines: readonly number[];
}

function joinLines(lines: readonly string[]): string {
  return lines.map((l) => l + '\n').join('');
}

/** `ssh-keygen -R name`: the file without the plain entries naming `name`. */
export function removeKnownHost(text: string, name: string): RemovedKnownHost {
  const kept: string[] = [];
  const removedLines: number[] = [];
  const invalidLines: Extract<ClassifiedKnownHostsLine, { kind: 'invalid' }>[] = [];
  for (const l of classifyKnownHosts(text)) {
    if (l.kind === 'entry' && l.marker === null && hostFieldMatches(l.hosts, name)) {
      removedLines.push(l.line);
      continue;
    }
    if (l.kind === 'invalid') invalidLines.push(l);
    kept.push(l.text);
  }
  return { text: joinLines(kept), removedLines, invalidLines };
}

export interface HashKnownHostsOptions {
  /** Salt for each hashed name; random by default (tests pass a fixed one). */
  readonly salt?: () => Uint8Array;
}

/** Whether a host field is left as it is by hashing, and why. */
function keptUnhashed(l: Entry): 'hashed' | 'wildcard' | 'marker' | undefined {
  if (l.hosts.startsWith('|')) return 'hashed';
  if (/[*?!]/.test(l.hosts)) return 'wildcard';
  if (l.marker !== null) return 'marker';
  return undefined;
}

/**
 * The lines replacing one entry when it is hashed: one line per host name
 * (lower-cased, as ssh-keygen does) followed by the key and comment, or the
 * line itself when it is already hashed, has wildcards or a marker.
 */
export function hashKnownHostEntry(l: Entry, options: HashKnownHostsOptions = {}): string[] {
  if (keptUnhashed(l)) return [l.text];
  const names = l.hosts.split(',');
  const empty = names.indexOf('');
  return (empty < 0 ? names : names.slice(0, empty)).map((n) => `${hashHostName(n.toLowerCase(), options.salt?.())} ${l.rawKey}`);
}

export interface HashedKnownHosts extends KnownHostsEdit {
  /** True when some names were hashed: the old file then lists host names in the clear. */
  readonly hashedAny: boolean;
  /** Entries kept in the clear because their patterns have wildcards (ssh-keygen warns about each). */
  readonly wildcardLines: readonly Entry[];
}

/** `ssh-keygen -H`: every plain host name replaced by its hash, everything else kept. */
export function hashKnownHosts(text: string, options: HashKnownHostsOptions = {}): HashedKnownHosts {
  const out: string[] = [];
  const invalidLines: Extract<ClassifiedKnownHostsLine, { kind: 'invalid' }>[] = [];
  const wildcardLines: Entry[] = [];
  let hashedAny = false;
  for (const l of classifyKnownHosts(text)) {
    if (l.kind !== 'entry') {
      if (l.kind === 'invalid') invalidLines.push(l);
      out.push(l.text);
      continue;
    }
    const why = keptUnhashed(l);
    if (why === 'wildcard') wildcardLines.push(l);
    const lines = hashKnownHostEntry(l, options);
    if (!why && lines.length > 0) hashedAny = true;
    out.push(...lines);
  }
  return { text: joinLines(out), invalidLines, hashedAny, wildcardLines };
}
