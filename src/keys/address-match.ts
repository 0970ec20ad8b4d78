// Address lists in OpenSSH's CIDR syntax (`10.0.0.0/8,2001:db8::/32,192.0.2.7`),
// as a certificate's `source-address` critical option carries them. Written
// by hand because src/keys may not import node:net. As OpenSSH's
// addr_match_cidr_list: no wildcards, no blanks, a prefix whose host bits are
// not all zero is a syntax error, and a bare address means the whole address.

/** An address as 4 (IPv4) or 16 (IPv6) bytes. */
type Address = Uint8Array;

interface Cidr {
  readonly addr: Address;
  readonly bits: number;
}

function parseIpv4(s: string): Address | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!/^\d{1,3}$/.test(p) || (p.length > 1 && p[0] === '0')) return null;
    const v = Number(p);
    if (v > 255) return null;
    out[i] = v;
  }
  return out;
}

function parseIpv6(s: string): Address | null {
  if (s.length > 45) return null;
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const groups = (part: string): number[] | null => {
    if (part === '') return [];
    const out: number[] = [];
    const items = part.split(':');
    for (let i = 0; i < items.length; i++) {
      const item = items[i]!;
      if (i === items.length - 1 && item.includes('.')) {
        const v4 = parseIpv4(item);
        if (!v4) return null;
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(item)) {
        out.push(parseInt(item, 16));
      } else {
        return null;
      }
    }
    return out;
  };
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  if (!head || !tail) return null;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  const all = [...head, ...new Array<number>(missing).fill(0), ...tail];
  const out = new Uint8Array(16);
  all.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return out;
}

/** An IPv4 or IPv6 address in text form, or null when it is neither. */
export function parseAddress(s: string): Address | null {
  return s.includes(':') ? parseIpv6(s) : parseIpv4(s);
}

function parseCidr(entry: string): Cidr | null {
  // OpenSSH allows only these characters in a CIDR list entry
  if (entry.length === 0 || entry.length > 64 || !/^[0-9a-fA-F.:/]+$/.test(entry)) return null;
  const slash = entry.indexOf('/');
  const addr = parseAddress(slash < 0 ? entry : entry.slice(0, slash));
  if (!addr) return null;
  const max = addr.length * 8;
  let bits = max;
  if (slash >= 0) {
    const m = entry.slice(slash + 1);
    if (!/^\d{1,3}$/.test(m)) return null;
    bits = Number(m);
    if (bits > max) return null;
  }
  // host bits must be zero: `10.1.2.3/8` is a mistake, not `10.0.0.0/8`
  for (let bit = bits; bit < max; bit++) if (addr[bit >> 3]! & (0x80 >> (bit & 7))) return null;
  return { addr, bits };
}

function inCidr(addr: Address, c: Cidr): boolean {
  if (addr.length !== c.addr.length) return false;
  for (let bit = 0; bit < c.bits; bit++) {
    const mask = 0x80 >> (bit & 7);
    if ((addr[bit >> 3]! & mask) !== (c.addr[bit >> 3]! & mask)) return false;
  }
  return true;
}

/** The entries of a CIDR list, or null when any entry is not valid syntax. */
export function parseCidrList(list: string): readonly Cidr[] | null {
  if (list.length > 8192) return null;
  const out: Cidr[] = [];
  for (const entry of list.split(',')) {
    const c = parseCidr(entry);
    if (!c) return null;
    out.push(c);
  }
  return out;
}

/**
 * Whether `address` lies in one of the list's networks. An IPv4-mapped IPv6
 * address (`::ffff:192.0.2.1`, as a dual-stack socket reports IPv4 peers)
 * is compared as the IPv4 address it carries. Null when the list is invalid.
 */
export function addressInCidrList(address: string, list: string): boolean | null {
  const cidrs = parseCidrList(list);
  if (!cidrs) return null;
  let addr = parseAddress(address);
  if (!addr) return false;
  if (addr.length === 16 && addr.subarray(0, 10).every((b) => b === 0) && addr[10] === 0xff && addr[11] === 0xff) {
    addr = addr.slice(12);
  }
  const a = addr;
  return cidrs.some((c) => inCidr(a, c));
}
