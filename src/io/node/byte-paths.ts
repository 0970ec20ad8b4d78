// Paths with bytes that are not UTF-8, between Nacre's strings and node:fs.
// SFTP names are carried as strings with such bytes escaped (lone surrogates
// U+DC80..U+DCFF, src/wire/path-bytes.ts). node:fs given such a string would
// write U+FFFD's UTF-8 in their place and name another file; given a Buffer
// it passes the bytes to the kernel as they are. Names read from the kernel
// come back the same way: read as Buffers (`encoding: 'buffer'`), decoded
// with the escapes.
import type { Dir, Dirent, OpenDirOptions } from 'node:fs';
import { opendir } from 'node:fs/promises';
import { pathFromBytes, pathToBytes, hasEscapedBytes } from '../../wire/path-bytes.js';

/** `path` as node:fs must be given it: the string itself, or its bytes when it carries escaped ones. */
export function fsPath(path: string): string | Buffer {
  if (!hasEscapedBytes(path)) return path;
  const b = pathToBytes(path);
  return Buffer.from(b.buffer, b.byteOffset, b.length);
}

/** A name or path node:fs returned as a Buffer, as a string with its non-UTF-8 bytes escaped. */
export function fromFsName(name: Buffer | Uint8Array | string): string {
  return typeof name === 'string' ? name : pathFromBytes(name);
}

/**
 * opendir whose entries' names are the bytes the kernel gave (node:fs's
 * typings know only string names): read each name with direntName().
 */
export function opendirBytes(path: string | Buffer, bufferSize?: number): Promise<Dir> {
  const options = { bufferSize, encoding: 'buffer' } as unknown as OpenDirOptions;
  return opendir(path, options);
}

/** The name of an entry of opendirBytes() or `readdir(..., { encoding: 'buffer', withFileTypes: true })`, escaped. */
export function direntName(d: Dirent): string {
  return fromFsName(d.name as unknown as Buffer | string);
}
