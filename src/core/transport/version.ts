// The identification-string exchange (RFC 4253 §4.2). Both sides send
// `SSH-2.0-software comments CR LF`; a server may precede it with other lines.
import { ProtocolError, VersionError } from '../../errors.js';

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

export type VersionResult =
  | { readonly done: false }
  | { readonly done: true; readonly version: string; readonly consumed: number; readonly preamble: readonly string[] };

/**
 * Scans received bytes for the peer's version line. Stateless over the
 * accumulated buffer: the caller passes everything received so far, and gets
 * back the version (without CR LF) and how many bytes it took.
 */
export function parseVersion(buffer: Uint8Array, acceptPreamble: boolean): VersionResult {
  const preamble: string[] = [];
  let start = 0;
  for (;;) {
    const nl = buffer.indexOf(0x0a, start);
    const isVersion = startsWithSsh(buffer, start);
    const limit = isVersion ? MAX_VERSION_LINE : MAX_PREAMBLE_LINE;
    if (nl < 0) {
      if (buffer.length - start > limit) {
        throw isVersion
          ? new VersionError(`version line longer than ${MAX_VERSION_LINE} bytes`)
          : new ProtocolError(`line before the version is longer than ${MAX_PREAMBLE_LINE} bytes`);
      }
      return { done: false };
    }
    if (nl + 1 - start > limit) {
      throw isVersion
        ? new VersionError(`version line longer than ${MAX_VERSION_LINE} bytes`)
        : new ProtocolError(`line before the version is longer than ${MAX_PREAMBLE_LINE} bytes`);
    }
    let end = nl;
    if (end > start && buffer[end - 1] === 0x0d) end--;
    const line = latin1(buffer, start, end);
    start = nl + 1;
    if (isVersion) {
      checkVersion(line);
      return { done: true, version: line, consumed: start, preamble };
    }
    if (!acceptPreamble) throw new VersionError(`expected an SSH version line, got ${JSON.stringify(line.slice(0, 64))}`);
    if (line.includes('\0')) throw new ProtocolError('line before the version contains a NUL byte');
    preamble.push(line);
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
