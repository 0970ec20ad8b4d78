// Turning a user's algorithm choice into an ordered list of names. The default
// order is each registry's own order, secure entries only; the user may give a
// full list, or OpenSSH's modifiers: "+a,b" appends, "-a,b" removes, "^a,b"
// puts first. Legacy entries are only ever used when named.
import { DisconnectReason, NacreError } from '../errors.js';
import type { AlgorithmEntry } from './types.js';

export type AlgorithmChoice = string | readonly string[];

export class UnknownAlgorithmError extends NacreError {
  constructor(kind: string, name: string) {
    super(`unknown ${kind} algorithm: ${name}`, DisconnectReason.BY_APPLICATION);
  }
}

export function resolvePreference(
  kind: string,
  registry: readonly AlgorithmEntry[],
  choice: AlgorithmChoice | undefined,
): string[] {
  const defaults = registry.filter((e) => e.secure).map((e) => e.name);
  if (choice === undefined) return defaults;
  const known = new Set(registry.map((e) => e.name));
  const check = (names: readonly string[]) => {
    for (const n of names) if (!known.has(n)) throw new UnknownAlgorithmError(kind, n);
    return names;
  };
  if (typeof choice !== 'string') return [...check(choice)];
  const mod = choice[0];
  const list = (mod === '+' || mod === '-' || mod === '^' ? choice.slice(1) : choice).split(',').filter(Boolean);
  if (mod === '-') {
    // Removal accepts wildcard-free names only; unknown names are harmless here.
    return defaults.filter((n) => !list.includes(n));
  }
  check(list);
  if (mod === '+') return [...defaults, ...list.filter((n) => !defaults.includes(n))];
  if (mod === '^') return [...list, ...defaults.filter((n) => !list.includes(n))];
  return list;
}
