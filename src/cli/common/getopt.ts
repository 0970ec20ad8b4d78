// Command-line parsing as OpenSSH's tools do it: the BSD getopt(3) that
// OpenSSH bundles. Flags are single letters, may be clustered (`-lv`), an
// option's argument is the rest of the word or the next word (`-fkey`,
// `-f key`), `--` ends the options, and the first word that is not an option
// (including `-` alone and the empty string) ends them too: no permuting, so
// `ssh-keygen -Y sign -n git -f key file` and git's trailing "" both parse as
// ssh-keygen parses them. Pure: no process, no output.

/** One option as it appeared, in order, so repeatable ones (`-O`) keep every value. */
export interface ParsedOption {
  readonly flag: string;
  /** The argument, for letters followed by `:` in the spec. */
  readonly value?: string;
}

export interface ParsedArgs {
  readonly options: readonly ParsedOption[];
  /** The words after the options. */
  readonly operands: readonly string[];
}

/** A word getopt refuses; `message` is worded as OpenSSH's getopt prints it. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/**
 * Parses `args` (without the program name) against a getopt spec such as
 * `"lvy" + "f:E:"`: a letter takes an argument when `:` follows it.
 * Throws a UsageError (`unknown option -- x`, `option requires an argument -- x`).
 */
export function getopt(args: readonly string[], spec: string): ParsedArgs {
  const takesArgument = new Map<string, boolean>();
  for (let i = 0; i < spec.length; i++) {
    const c = spec[i]!;
    if (c === ':') continue;
    // a letter listed twice (ssh-keygen's `g`) is what its first listing says, as getopt's strchr finds it
    if (!takesArgument.has(c)) takesArgument.set(c, spec[i + 1] === ':');
  }
  const options: ParsedOption[] = [];
  let i = 0;
  for (; i < args.length; i++) {
    const word = args[i]!;
    if (word === '--') {
      i++;
      break;
    }
    if (word.length < 2 || word[0] !== '-') break;
    for (let j = 1; j < word.length; j++) {
      const flag = word[j]!;
      const needs = takesArgument.get(flag);
      if (needs === undefined || flag === '-') throw new UsageError(`unknown option -- ${flag}`);
      if (!needs) {
        options.push({ flag });
        continue;
      }
      if (j + 1 < word.length) {
        options.push({ flag, value: word.slice(j + 1) });
      } else {
        const next = args[i + 1];
        if (next === undefined) throw new UsageError(`option requires an argument -- ${flag}`);
        options.push({ flag, value: next });
        i++;
      }
      break;
    }
  }
  return { options, operands: args.slice(i) };
}

/** The last value given for `flag` (a repeated -f wins, as in OpenSSH), or undefined. */
export function lastValue(parsed: ParsedArgs, flag: string): string | undefined {
  let value: string | undefined;
  for (const o of parsed.options) if (o.flag === flag) value = o.value;
  return value;
}

/** Every value given for a repeatable option such as `-O`. */
export function allValues(parsed: ParsedArgs, flag: string): string[] {
  return parsed.options.filter((o) => o.flag === flag && o.value !== undefined).map((o) => o.value!);
}

/** How many times a flag was given (`-v -v`, `-vv`). */
export function count(parsed: ParsedArgs, flag: string): number {
  return parsed.options.filter((o) => o.flag === flag).length;
}
