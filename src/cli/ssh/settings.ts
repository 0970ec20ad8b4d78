// The resolved ssh_config for one connection, as the rest of nacre reads it:
// a keyword's value (the first given wins) or all its values (the
// repeatable keywords). `settingsFromLines` resolves the command line's
// lines alone; with ssh_config files the config module's resolver gives the
// same shape.

export interface Settings {
  /** The value of a single-valued keyword (case-insensitive), or undefined. */
  get(keyword: string): string | undefined;
  /** Every value of a repeatable keyword, in order. */
  all(keyword: string): readonly string[];
}

/** Keywords whose values accumulate, as ssh_config(5) says. */
const REPEATABLE = new Set(['identityfile', 'certificatefile', 'localforward', 'remoteforward', 'dynamicforward', 'sendenv', 'setenv', 'globalknownhostsfile', 'userknownhostsfile']);

/** A config line's keyword and value (`Keyword value`, `Keyword=value`, one pair of quotes removed). */
export function splitConfigLine(line: string): { keyword: string; value: string } | null {
  const m = /^\s*([A-Za-z0-9]+)\s*(?:=\s*|\s+)(.*?)\s*$/.exec(line);
  if (!m) return null;
  let value = m[2]!;
  if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
  return { keyword: m[1]!.toLowerCase(), value };
}

/** Settings from config lines alone (first value wins; repeatable keywords accumulate). */
export function settingsFromLines(lines: readonly string[]): Settings {
  const single = new Map<string, string>();
  const multi = new Map<string, string[]>();
  for (const line of lines) {
    const kv = splitConfigLine(line);
    if (!kv) continue;
    if (REPEATABLE.has(kv.keyword)) {
      const list = multi.get(kv.keyword) ?? [];
      list.push(kv.value);
      multi.set(kv.keyword, list);
    } else if (!single.has(kv.keyword)) {
      single.set(kv.keyword, kv.value);
    }
  }
  return {
    get: (k) => single.get(k.toLowerCase()),
    all: (k) => multi.get(k.toLowerCase()) ?? (single.has(k.toLowerCase()) ? [single.get(k.toLowerCase())!] : []),
  };
}

/** ssh_config's yes/no (and true/false); `fallback` when unset; undefined stays for other words. */
export function flag(settings: Settings, keyword: string, fallback: boolean): boolean {
  const v = settings.get(keyword)?.toLowerCase();
  if (v === undefined) return fallback;
  if (v === 'yes' || v === 'true') return true;
  if (v === 'no' || v === 'false') return false;
  return fallback;
}

/**
 * Settings over the config resolver's typed values (`SshConfig.values`):
 * booleans read as yes/no, numbers as digits, null as none; lists give
 * all(); structured values (forwardings, RekeyLimit ...) are read from the
 * config itself, not through here.
 */
export function settingsFromValues(values: Readonly<Record<string, unknown>>): Settings {
  const byLower = new Map<string, unknown>();
  for (const [k, v] of Object.entries(values)) byLower.set(k.toLowerCase(), v);
  const text = (v: unknown): string | undefined => {
    if (typeof v === 'string') return v;
    if (typeof v === 'boolean') return v ? 'yes' : 'no';
    if (typeof v === 'number') return String(v);
    if (v === null) return 'none';
    return undefined;
  };
  return {
    get: (k) => {
      const v = byLower.get(k.toLowerCase());
      return Array.isArray(v) ? text(v[0]) : text(v);
    },
    all: (k) => {
      const v = byLower.get(k.toLowerCase());
      if (Array.isArray(v)) return v.map(text).filter((s): s is string => s !== undefined);
      const one = text(v);
      return one === undefined ? [] : [one];
    },
  };
}
