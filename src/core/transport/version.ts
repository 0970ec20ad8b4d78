// The identification-string exchange (RFC 4253 §4.2). Both sides send
// `SSH-2.0-software comments CR LF`; a server may precede it with other lines.
import { ProtocolError, VersionError } from '../../errors.js';
import type { ByteQueue } from './byte-queue.js';

/** RFC 4253 §4.2: the version line is at most 255 bytes including CR LF. */
export const MAX_VERSION_LINE = 255;
/** Lines a server may send before its version line (OpenSSH allows a generous preamble). */
export const MAX_PREAMBLE_LINE = 8192;
export const MAX_PREAMBLE_LINES = 1024;

export function formatVersionLine(software: string, comments?: string): string {
  if (!/^[\x21-\x2c\x2e-\x7e]+$/.test(software)) throw new RangeError('software version must be printable US-ASCII without spaces or minus signs');
  const line = `SSH-2.0-${software}${comments ? ' ' + comments : ''}`;
  if (line.length + 2 > MAX_VERSION_LINE) throw new RangeError('version line too long');
  return line;
}

export type VersionLine =
  | { readonly kind: 'incomplete' }
  /** A line before the version (servers only); `consumed` bytes are done with. */
  | { readonly kind: 'preamble'; readonly line: string; readonly consumed: number }
  | { readonly kind: 'version'; readonly version: string; readonly consumed: number };

/**
 * Reads the first line of `buffer`: the peer's version line, a line before it
 * (accepted only when `acceptPreamble`), or nothing yet. The caller removes
 * `consumed` bytes and calls again, so each byte is scanned once.
 */
export function parseVersionLine(buffer: Uint8Array, acceptPreamble: boolean): VersionLine {
  const isVersion = startsWithSsh(buffer, 0);
  // A server takes no lines before the version: four bytes that are not "SSH-"
  // already tell a garbage sender, which would otherwise hold its slot until
  // the handshake deadline while its bytes wait for a newline.
  if (!isVersion && !acceptPreamble) throw new VersionError(`expected an SSH version line, got ${JSON.stringify(latin1(buffer, 0, Math.min(buffer.length, 64)).replace(/[\r\n][\s\S]*$/, ''))}`);
  const limit = isVersion ? MAX_VERSION_LINE : MAX_PREAMBLE_LINE;
  const tooLong = () =>
    isVersion
      ? new VersionError(`version line longer than ${MAX_VERSION_LINE} bytes`)
      : new ProtocolError(`line before the version is longer than ${MAX_PREAMBLE_LINE} bytes`);
  const nl = buffer.subarray(0, limit + 1).indexOf(0x0a);
  if (nl < 0) {
    if (buffer.length > limit) throw tooLong();
    return { kind: 'incomplete' };
  }
  if (nl + 1 > limit) throw tooLong();
  let end = nl;
  if (end > 0 && buffer[end - 1] === 0x0d) end--;
  const line = latin1(buffer, 0, end);
  if (isVersion) {
    checkVersion(line);
    return { kind: 'version', version: line, consumed: nl + 1 };
  }
  if (!acceptPreamble) throw new VersionError(`expected an SSH version line, got ${JSON.stringify(line.slice(0, 64))}`);
  if (line.includes('\0')) throw new ProtocolError('line before the version contains a NUL byte');
  return { kind: 'preamble', line, consumed: nl + 1 };
}

export type VersionResult =
  | { readonly done: false }
  | { readonly done: true; readonly version: string; readonly consumed: number; readonly preamble: readonly string[] };

/** Scans a whole buffer for the version line (a convenience over `parseVersionLine`). */
export function parseVersion(buffer: Uint8Array, acceptPreamble: boolean): VersionResult {
  const preamble: string[] = [];
  let at = 0;
  for (;;) {
    const r = parseVersionLine(buffer.subarray(at), acceptPreamble);
    if (r.kind === 'incomplete') return { done: false };
    at += r.consumed;
    if (r.kind === 'version') return { done: true, version: r.version, consumed: at, preamble };
    preamble.push(r.line);
    if (preamble.length > MAX_PREAMBLE_LINES) throw new ProtocolError(`more than ${MAX_PREAMBLE_LINES} lines before the version line`);
  }
}

function startsWithSsh(b: Uint8Array, at: number): boolean {
  // Only decide once 4 bytes are there; a shorter tail is treated as a version candidate.
  const prefix = [0x53, 0x53, 0x48, 0x2d]; // "SSH-"
  for (let i = 0; i < 4; i++) {
    if (at + i >= b.length) return true;
    if (b[at + i] !== prefix[i]) return false;
  }
  return true;
}

function latin1(b: Uint8Array, from: number, to: number): string {
  let s = '';
  for (let i = from; i < to; i++) s += String.fromCharCode(b[i]!);
  return s;
}

function checkVersion(line: string): void {
  const m = /^SSH-([^-\s]+)-(\S+)(?: .*)?$/.exec(line);
  if (!m) throw new VersionError(`malformed version line ${JSON.stringify(line.slice(0, 64))}`);
  if (m[1] !== '2.0' && m[1] !== '1.99') throw new VersionError(`unsupported protocol version ${m[1]} (only 2.0 is spoken)`);
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) throw new VersionError('version line contains non-printable characters');
  }
}

/**
 * Reads the peer's identification from received bytes, one line at a time,
 * each removed once read (so a long preamble costs linear time). Lines before
 * it (a server may send some, RFC 4253 §4.2) go to `preamble`. Returns the
 * version string, or null until the whole line has arrived.
 */
export function readPeerVersion(inbound: ByteQueue, asClient: boolean, preamble: string[]): string | null {
  for (;;) {
    const r = parseVersionLine(inbound.peek(Math.min(inbound.length, MAX_PREAMBLE_LINE + 1)), asClient);
    if (r.kind === 'incomplete') return null;
    inbound.skip(r.consumed);
    if (r.kind === 'version') return r.version;
    if (preamble.length >= MAX_PREAMBLE_LINES) throw new ProtocolError(`more than ${MAX_PREAMBLE_LINES} lines before the version line`);
    preamble.push(r.line);
  }
}

/** What `describeReceived` shows of what a peer sent instead of its version line. */
export const MAX_SHOWN_RECEIVED = 120;

/**
 * What a peer sent before giving up or being given up on without a version
 * line, for an error message: the lines before it and any incomplete line,
 * quoted, control and non-ASCII bytes escaped (`\r`, `\n`, `\xNN`) so a
 * terminal shows them harmlessly, cut to about `MAX_SHOWN_RECEIVED` characters.
 */
export function describeReceived(lines: readonly string[], pending: Uint8Array): string {
  let raw = '';
  for (const line of lines) {
    raw += line + '\r\n';
    if (raw.length > MAX_SHOWN_RECEIVED) break;
  }
  if (raw.length <= MAX_SHOWN_RECEIVED) raw += latin1(pending, 0, Math.min(pending.length, MAX_SHOWN_RECEIVED + 1));
  if (raw.length === 0) return 'it sent nothing';
  let shown = '';
  for (const ch of raw) {
    const c = ch.charCodeAt(0);
    const e = ch === '\r' ? '\\r' : ch === '\n' ? '\\n' : ch === '\t' ? '\\t' : ch === '\\' ? '\\\\' : ch === "'" ? "\\'" : c < 0x20 || c > 0x7e ? '\\x' + c.toString(16).padStart(2, '0') : ch;
    if (shown.length + e.length > MAX_SHOWN_RECEIVED) return `it sent: '${shown}'...`;
    shown += e;
  }
  return `it sent: '${shown}'`;
}
