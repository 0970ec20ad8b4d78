// The `[user@]host:path` split that scp and sftp share (OpenSSH's colon()
// in misc.c serves both).

/**
 * Where the host part of `[user@]host:path` ends: the index of the colon, or
 * -1 for a local name. As OpenSSH's colon(): a leading colon is part of a
 * file name; a slash before any colon makes it local; brackets (at the start
 * or after `user@`) hide the colons of an IPv6 address.
 */
export function hostColon(text: string): number {
  if (text.startsWith(':')) return -1;
  let bracketed = text.startsWith('[');
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '@' && text[i + 1] === '[') bracketed = true;
    if (c === ']' && text[i + 1] === ':' && bracketed) return i + 1;
    if (c === ':' && !bracketed) return i;
    if (c === '/') return -1;
  }
  return -1;
}

/** A host as ssh takes it: the brackets of `[::1]` removed. */
export function cleanHost(host: string): string {
  return host.length >= 2 && host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}
