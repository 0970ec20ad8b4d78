// File names as bytes, carried in JavaScript strings without loss.
//
// SFTP paths are byte strings, and so are the names of a POSIX file system:
// nearly always UTF-8, but nothing makes them so (an old archive's Latin-1
// names, a name cut in the middle of a character). A string decoded with
// U+FFFD in place of the bad bytes names no file at all. So names are decoded
// the way Python's "surrogateescape" does it: every byte that is not part of
// a well-formed UTF-8 sequence becomes the lone surrogate U+DC80..U+DCFF
// (U+DC00 + the byte), and encoding turns exactly those back into the byte.
// Well-formed UTF-8, non-ASCII included, decodes as TextDecoder decodes it
// (BOM kept), so ordinary names are ordinary strings.
//
// pathToBytes(pathFromBytes(b)) is b for every byte string b. The other way
// holds for every string pathFromBytes can return; a string made elsewhere
// with escapes that together spell valid UTF-8 ("\uDCC3\uDCA9") encodes to
// that UTF-8 and decodes as the character ("é"), and a lone surrogate
// outside U+DC80..U+DCFF encodes as U+FFFD, as TextEncoder does.
//
// In src/wire because more than SFTP carries such names: the server's exec
// (a command naming them), the tools' arguments, and a command sent through a
// control master (nacre/mux, which loads no SFTP code).

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const utf8 = new TextEncoder();

/** Any surrogate code unit: only strings with one need the slow paths. */
const SURROGATE = /[\uD800-\uDFFF]/;

/**
 * True when `s` holds an escaped byte (a lone U+DC80..U+DCFF), so that its
 * bytes are not what TextEncoder (or node:fs given the string) would make.
 */
export function hasEscapedBytes(s: string): boolean {
  if (!SURROGATE.test(s)) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = s.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i++;
      continue;
    }
    if (c >= 0xdc80 && c <= 0xdcff) return true;
  }
  return false;
}

/** The name in `bytes` as a string: UTF-8, with each byte outside a well-formed sequence as U+DC00 + byte. */
export function pathFromBytes(bytes: Uint8Array): string {
  // The fatal decoder costs what the lenient one does (measured), and the
  // byte-by-byte walk runs only for the rare name that makes it throw.
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return decodeEscaping(bytes);
  }
}

/** Length of the well-formed UTF-8 sequence starting at `i`, or 0 when the byte there starts none. */
function sequenceAt(b: Uint8Array, i: number): number {
  const b0 = b[i]!;
  if (b0 < 0x80) return 1;
  const cont = (k: number, lo = 0x80, hi = 0xbf): boolean => {
    const x = b[i + k];
    return x !== undefined && x >= lo && x <= hi;
  };
  if (b0 >= 0xc2 && b0 <= 0xdf) return cont(1) ? 2 : 0;
  if (b0 === 0xe0) return cont(1, 0xa0) && cont(2) ? 3 : 0;
  // 0xED: U+D800..U+DFFF are not characters; their three-byte forms are refused.
  if (b0 === 0xed) return cont(1, 0x80, 0x9f) && cont(2) ? 3 : 0;
  if (b0 >= 0xe1 && b0 <= 0xef) return cont(1) && cont(2) ? 3 : 0;
  if (b0 === 0xf0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
  if (b0 >= 0xf1 && b0 <= 0xf3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (b0 === 0xf4) return cont(1, 0x80, 0x8f) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}

function decodeEscaping(bytes: Uint8Array): string {
  const parts: string[] = [];
  let runStart = 0;
  let i = 0;
  while (i < bytes.length) {
    const n = sequenceAt(bytes, i);
    if (n > 0) {
      i += n;
      continue;
    }
    if (i > runStart) parts.push(strictUtf8.decode(bytes.subarray(runStart, i)));
    parts.push(String.fromCharCode(0xdc00 + bytes[i]!));
    i++;
    runStart = i;
  }
  if (i > runStart) parts.push(strictUtf8.decode(bytes.subarray(runStart, i)));
  return parts.join('');
}

/** The bytes `s` names: UTF-8, with each escaped byte (lone U+DC80..U+DCFF) as that byte. */
export function pathToBytes(s: string): Uint8Array {
  if (!SURROGATE.test(s)) return utf8.encode(s);
  const out = new Uint8Array(s.length * 3);
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      out[n++] = c;
      continue;
    }
    if (c < 0x800) {
      out[n++] = 0xc0 | (c >> 6);
      out[n++] = 0x80 | (c & 0x3f);
      continue;
    }
    if (c >= 0xd800 && c <= 0xdfff) {
      const next = s.charCodeAt(i + 1);
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        const cp = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
        i++;
        out[n++] = 0xf0 | (cp >> 18);
        out[n++] = 0x80 | ((cp >> 12) & 0x3f);
        out[n++] = 0x80 | ((cp >> 6) & 0x3f);
        out[n++] = 0x80 | (cp & 0x3f);
        continue;
      }
      if (c >= 0xdc80 && c <= 0xdcff) {
        out[n++] = c - 0xdc00;
        continue;
      }
      c = 0xfffd;
    }
    out[n++] = 0xe0 | (c >> 12);
    out[n++] = 0x80 | ((c >> 6) & 0x3f);
    out[n++] = 0x80 | (c & 0x3f);
  }
  return out.subarray(0, n);
}

/** How many bytes pathToBytes(s) has (a symbolic link's size is its target's). */
export function pathByteLength(s: string): number {
  return pathToBytes(s).length;
}

/** Lone surrogates, escaped bytes among them. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * `s` for a terminal or a log, as OpenSSH's sftp prints a name in a UTF-8
 * locale: each byte that is not part of a character as a backslash and three
 * octal digits (`x\377`), the rest as it is. (A lone surrogate that is no
 * escaped byte, which no decoded name holds, is shown as `\uD800`.)
 */
export function showPath(s: string): string {
  if (!SURROGATE.test(s)) return s;
  return s.replace(LONE_SURROGATE, (c) => {
    const u = c.charCodeAt(0);
    return u >= 0xdc80 && u <= 0xdcff ? `\\${(u - 0xdc00).toString(8)}` : `\\u${u.toString(16).toUpperCase()}`;
  });
}
