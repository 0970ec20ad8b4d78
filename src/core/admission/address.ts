// IP addresses as bytes, address blocks and sshd-style address patterns, for
// admission decisions (per-source penalties and their exempt list). Pure: no
// node:net, so the penalty table can be tested with a fake clock in the core
// tier. Parsing is strict and never trusts a field: anything that is not a
// well-formed IPv4 or IPv6 address is `null`.

export interface IpAddress {
  readonly family: 4 | 6;
  /** 4 or 16 bytes, network order. */
  readonly bytes: Uint8Array;
}

/** Bits of an address grouped into one source block (sshd's PerSourceNetBlockSize). */
export interface NetBlockSize {
  /** 0–32; sshd's default 32 (each address alone). */
  readonly ipv4: number;
  /** 0–128; sshd's default 128, Nacre's 64 (one host is normally given a /64). */
  readonly ipv6: number;
}

export const DEFAULT_NET_BLOCK_SIZE: NetBlockSize = { ipv4: 32, ipv6: 64 };

/** A dotted quad, each part 0–255 in decimal without leading zeros (no octal surprises). */
function parseIPv4(s: string): Uint8Array | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return null;
    const n = Number(p);
    if (n > 255) return null;
    out[i] = n;
  }
  return out;
}

function parseIPv6(s: string): Uint8Array | null {
  if (s.length > 45) return null;
  const groups: number[] = [];
  const parseRun = (run: string, allowV4Tail: boolean): number[] | null => {
    if (run === '') return [];
    const out: number[] = [];
    const parts = run.split(':');
    for (let i = 0; i < parts.length; i++) {
      const g = parts[i]!;
      if (allowV4Tail && i === parts.length - 1 && g.includes('.')) {
        const v4 = parseIPv4(g);
        if (!v4) return null;
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
        out.push(parseInt(g, 16));
      }
    }
    return out;
  };
  const gap = s.indexOf('::');
  if (gap >= 0) {
    if (s.indexOf('::', gap + 1) >= 0) return null;
    const head = parseRun(s.slice(0, gap), false);
    const tail = parseRun(s.slice(gap + 2), true);
    if (!head || !tail || head.length + tail.length > 7) return null;
    groups.push(...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail);
  } else {
    const all = parseRun(s, true);
    if (!all || all.length !== 8) return null;
    groups.push(...all);
  }
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return out;
}

/**
 * Parses an IPv4 or IPv6 address (a zone index `%eth0` is ignored: it names
 * our interface, not the peer). An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`,
 * what a dual-stack socket reports) is the IPv4 address.
 */
export function parseIpAddress(text: string): IpAddress | null {
  if (text.length === 0 || text.length > 64) return null;
  const v4 = parseIPv4(text);
  if (v4) return { family: 4, bytes: v4 };
  const v6 = parseIPv6(text.replace(/%[^%]*$/, ''));
  if (!v6) return null;
  if (v6.subarray(0, 10).every((b) => b === 0) && v6[10] === 0xff && v6[11] === 0xff) return { family: 4, bytes: v6.slice(12) };
  return { family: 6, bytes: v6 };
}

/** Keeps the first `bits` bits of `bytes`, zeroing the rest. */
function maskBytes(bytes: Uint8Array, bits: number): Uint8Array {
  const out = bytes.slice();
  for (let i = 0; i < out.length; i++) {
    const keep = Math.max(0, Math.min(8, bits - 8 * i));
    out[i] = out[i]! & ((0xff << (8 - keep)) & 0xff);
  }
  return out;
}

function formatBytes(a: IpAddress): string {
  if (a.family === 4) return [...a.bytes].join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((a.bytes[i]! << 8) | a.bytes[i + 1]!).toString(16));
  return groups.join(':');
}

/** Throws a TypeError unless both block sizes are whole numbers in range. */
export function checkNetBlockSize(size: NetBlockSize): void {
  if (!Number.isInteger(size.ipv4) || size.ipv4 < 0 || size.ipv4 > 32) throw new TypeError(`perSourceNetBlockSize.ipv4 must be 0–32 (got ${size.ipv4})`);
  if (!Number.isInteger(size.ipv6) || size.ipv6 < 0 || size.ipv6 > 128) throw new TypeError(`perSourceNetBlockSize.ipv6 must be 0–128 (got ${size.ipv6})`);
}

/** The source block `address` belongs to, as `a.b.c.d/len` or `x:x:…/len`; `null` for what is not an IP address. */
export function addressBlock(address: string | undefined, size: NetBlockSize = DEFAULT_NET_BLOCK_SIZE): { readonly family: 4 | 6; readonly key: string } | null {
  if (address === undefined) return null;
  const a = parseIpAddress(address);
  if (!a) return null;
  const bits = a.family === 4 ? size.ipv4 : size.ipv6;
  return { family: a.family, key: `${formatBytes({ family: a.family, bytes: maskBytes(a.bytes, bits) })}/${bits}` };
}

/** One entry of an address list: a CIDR block, one address, or a `*`/`?` wildcard on the text. */
type Pattern =
  | { readonly kind: 'cidr'; readonly negated: boolean; readonly family: 4 | 6; readonly bytes: Uint8Array; readonly bits: number }
  | { readonly kind: 'glob'; readonly negated: boolean; readonly re: RegExp };

/**
 * A list of address patterns as sshd's PerSourcePenaltyExemptList (and
 * `Match Address`) takes: `192.0.2.0/24`, `2001:db8::/32`, `198.51.100.7`,
 * wildcards `10.1.*`, and `!pattern` to exclude. An address matches if some
 * pattern matches and no negated one does. A mask too long for its address,
 * or with host bits set, is an error, as in sshd.
 */
export class AddressList {
  private readonly patterns: readonly Pattern[];

  constructor(entries: readonly string[]) {
    this.patterns = entries.flatMap((e) => e.split(',')).map((e) => e.trim()).filter((e) => e !== '').map(parsePattern);
  }

  get empty(): boolean {
    return this.patterns.length === 0;
  }

  matches(address: string | undefined): boolean {
    if (address === undefined) return false;
    const ip = parseIpAddress(address);
    const text = ip ? formatCanonical(ip) : address;
    let hit = false;
    for (const p of this.patterns) {
      const m = p.kind === 'glob' ? p.re.test(text) : ip !== null && ip.family === p.family && equalBytes(maskBytes(ip.bytes, p.bits), p.bytes);
      if (m && p.negated) return false;
      if (m) hit = true;
    }
    return hit;
  }
}

/**
 * The text a wildcard is matched against, as sshd matches the address it
 * printed with inet_ntop: dotted IPv4 (a mapped address too), IPv6 in RFC
 * 5952's form (lower case, no leading zeros, the longest run of two or more
 * zero groups as `::`).
 */
function formatCanonical(ip: IpAddress): string {
  if (ip.family === 4) return formatBytes(ip);
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((ip.bytes[i]! << 8) | ip.bytes[i + 1]!);
  let best = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      best = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = (gs: number[]) => gs.map((g) => g.toString(16)).join(':');
  if (best < 0) return hex(groups);
  return `${hex(groups.slice(0, best))}::${hex(groups.slice(best + bestLength))}`;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function parsePattern(entry: string): Pattern {
  const negated = entry.startsWith('!');
  const body = negated ? entry.slice(1) : entry;
  if (body.length === 0 || body.length > 100) throw new TypeError(`address pattern "${entry}" is empty or too long`);
  if (/[*?]/.test(body)) {
    if (!/^[0-9a-fA-F.:*?]+$/.test(body)) throw new TypeError(`address pattern "${entry}" has characters no address has`);
    const re = new RegExp(`^${body.toLowerCase().replace(/\./g, '\\.').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
    return { kind: 'glob', negated, re };
  }
  const slash = body.indexOf('/');
  const addrText = slash < 0 ? body : body.slice(0, slash);
  const ip = parseIpAddress(addrText);
  if (!ip) throw new TypeError(`address pattern "${entry}" is not an address`);
  const max = ip.family === 4 ? 32 : 128;
  let bits = max;
  if (slash >= 0) {
    const lenText = body.slice(slash + 1);
    if (!/^[0-9]{1,3}$/.test(lenText) || Number(lenText) > max) throw new TypeError(`address pattern "${entry}": mask length must be 0–${max}`);
    bits = Number(lenText);
  }
  const masked = maskBytes(ip.bytes, bits);
  if (!equalBytes(masked, ip.bytes)) throw new TypeError(`address pattern "${entry}" has bits set past its /${bits} mask`);
  return { kind: 'cidr', negated, family: ip.family, bytes: masked, bits };
}
