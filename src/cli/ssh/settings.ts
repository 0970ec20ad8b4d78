// The resolved ssh_config for one connection, as the rest of nacre reads it:
// a keyword's value or all its values (the repeatable keywords), as text,
// over the config module's typed values.

export interface Settings {
  /** The value of a single-valued keyword (case-insensitive), or undefined. */
  get(keyword: string): string | undefined;
  /** Every value of a repeatable keyword, in order. */
  all(keyword: string): readonly string[];
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
