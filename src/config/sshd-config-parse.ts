// Reading an sshd_config as sshd does at start-up: every line checked (also
// inside Match blocks that will not apply), Include read in place (relative
// to /etc/ssh, globs sorted, at most 16 deep), each Match line opening a
// block that lasts to the next Match or the end of its file (an included
// file's Match blocks end with that file). The result keeps every setting
// with the Match lines it sits under, so it can be resolved for any
// connection later (sshd-config-resolve.ts). File access is injected.
import { lexLine } from './ssh-config-lex.js';
import { lookupSshdKeyword } from './sshd-config-keywords.js';
import { parseKeywordValue, SshdValueError, type SshdKeywordName, type SshdLineValues } from './sshd-config-values.js';
import { parseMatchLine, matchesAlways, type MatchLine } from './sshd-config-match.js';
import { assembleAlgorithms, type AlgorithmKind } from './sshd-config-algorithms.js';
import { checkUnsupportedLine } from './sshd-config-unsupported.js';
import { SshdConfigError, type SshdCommandLine, type SshdConfigIO } from './sshd-config-types.js';

/** One setting line, with where it came from and the Match blocks around it. */
export interface SshdConfigEntry {
  readonly keyword: SshdKeywordName;
  readonly value: SshdLineValues[SshdKeywordName];
  readonly file: string;
  readonly line: number;
  /** The Match lines this setting sits under, outermost first ([]: the global section). */
  readonly conditions: readonly MatchLine[];
}

/** A parsed sshd_config: resolve it for a connection with resolveSshdConfig. */
export interface SshdConfig {
  /** The settings in the order sshd reads them (command line first). */
  readonly entries: readonly SshdConfigEntry[];
  /** Lines nacred reads but does not act on (deprecated, unsupported, algorithms Nacre lacks), each naming file and line. */
  readonly warnings: readonly string[];
  /** Every file read, the main one first. */
  readonly files: readonly string[];
  /** True when Match blocks can change settings per connection (`Match all` aside). */
  readonly hasMatch: boolean;
}

export interface SshdParseOptions {
  /** Flags nacred was given (`-o`, `-p`, `-h`, `-c`). */
  readonly commandLine?: SshdCommandLine;
  /** Where a relative Include looks (default /etc/ssh, as sshd). */
  readonly sshDirectory?: string;
  /** Relative HostKey, HostCertificate, PidFile, Banner, TrustedUserCAKeys, RevokedKeys and PasswordFile paths are made absolute against it (sshd uses its working directory); absent: left relative. */
  readonly cwd?: string;
}

const MAX_INCLUDE_DEPTH = 16;
/** Bounds on what one configuration may make us read (Include globs can fan out). */
const MAX_FILES = 1024;
const MAX_LINE_LENGTH = 65536;

const ALGORITHM_KEYWORDS: Partial<Record<SshdKeywordName, AlgorithmKind>> = {
  ciphers: 'cipher', macs: 'mac', kexalgorithms: 'kex', hostkeyalgorithms: 'hostkey', pubkeyacceptedalgorithms: 'pubkey', casignaturealgorithms: 'casig',
};
const PATH_KEYWORDS = new Set<SshdKeywordName>(['hostkey', 'hostcertificate', 'pidfile', 'banner', 'trustedusercakeys', 'revokedkeys', 'passwordfile']);

/** An algorithm line's value once read: the spec as written and the list it gives. */
export interface AlgorithmSetting {
  readonly spec: string;
  readonly names: readonly string[];
}

interface State {
  readonly io: SshdConfigIO;
  readonly options: SshdParseOptions;
  readonly entries: SshdConfigEntry[];
  readonly warnings: string[];
  readonly files: string[];
  readonly portsFromCommandLine: boolean;
  hasMatch: boolean;
}

function where(file: string, line: number) {
  return { file, line };
}

function joinPath(dir: string, path: string): string {
  return dir.endsWith('/') ? dir + path : `${dir}/${path}`;
}

/**
 * Parses `text` (the contents of `file`) and every file it includes. Throws
 * SshdConfigError naming file and line for anything sshd would refuse to
 * start with (unknown keywords, bad values, keywords not allowed in Match,
 * malformed Match lines) and for the options nacred cannot honour.
 */
export function parseSshdConfig(text: string, file: string, io: SshdConfigIO, options: SshdParseOptions = {}): SshdConfig {
  const cl = options.commandLine ?? {};
  const state: State = {
    io,
    options,
    entries: [],
    warnings: [],
    files: [file],
    portsFromCommandLine: (cl.ports ?? []).length > 0,
    hasMatch: false,
  };
  // sshd applies its flags before reading the file: -h/-c keys first, -p ports, then -o lines.
  for (const k of cl.hostKeys ?? []) state.entries.push({ keyword: 'hostkey', value: k, file: 'command-line', line: 0, conditions: [] });
  for (const c of cl.hostCertificates ?? []) state.entries.push({ keyword: 'hostcertificate', value: c, file: 'command-line', line: 0, conditions: [] });
  for (const p of cl.ports ?? []) {
    if (!Number.isInteger(p) || p <= 0 || p > 65535) throw new SshdConfigError(`Bad port number: ${p}`, { file: 'command-line' });
    state.entries.push({ keyword: 'port', value: p, file: 'command-line', line: 0, conditions: [] });
  }
  (cl.options ?? []).forEach((line, i) => processLine(state, line, 'command-line', i + 1, [], { commandLine: true, depth: 0 }));
  parseText(state, text, file, [], 0);
  return { entries: state.entries, warnings: state.warnings, files: state.files, hasMatch: state.hasMatch };
}

function parseText(state: State, text: string, file: string, inherited: readonly MatchLine[], depth: number): void {
  if (depth > MAX_INCLUDE_DEPTH) throw new SshdConfigError('Too many recursive configuration includes', { file });
  let conditions = inherited;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const next = processLine(state, lines[i]!, file, i + 1, conditions, { commandLine: false, depth, inherited });
    if (next !== undefined) conditions = next;
  }
}

interface LineContext {
  readonly commandLine: boolean;
  readonly depth: number;
  readonly inherited?: readonly MatchLine[];
}

/** Handles one line; returns the new Match conditions when the line is a Match. */
function processLine(state: State, text: string, file: string, lineNo: number, conditions: readonly MatchLine[], ctx: LineContext): readonly MatchLine[] | undefined {
  const at = where(file, lineNo);
  if (text.length > MAX_LINE_LENGTH) throw new SshdConfigError('line too long', at);
  if (text.includes('\0')) throw new SshdConfigError('NUL character in line', at);
  const lexed = lexLine(text);
  if (lexed === 'empty') return undefined;
  if ('error' in lexed) throw new SshdConfigError(lexed.error, at);
  const kw = lookupSshdKeyword(lexed.keyword);
  // Messages name the keyword as written, as sshd's do.
  const written = writtenKeyword(text, lexed.keyword);
  if (kw === undefined) throw new SshdConfigError(`Bad configuration option: ${written}`, at);
  const inMatch = conditions.some((c) => !matchesAlways(c));
  if (inMatch && !kw.inMatch) throw new SshdConfigError(`Directive '${written}' is not allowed within a Match block`, at);

  if (kw.canonical === 'match') {
    if (ctx.commandLine) throw new SshdConfigError('Match directive not supported as a command-line option', at);
    let match: MatchLine;
    try {
      match = parseMatchLine(lexed.args);
    } catch (e) {
      if (e instanceof SshdValueError) throw new SshdConfigError(`Bad Match condition: ${e.message}`, at);
      throw e;
    }
    if (!matchesAlways(match)) state.hasMatch = true;
    return [...(ctx.inherited ?? []), match];
  }
  if (kw.canonical === 'include') {
    if (ctx.commandLine) throw new SshdConfigError('Include directive not supported as a command-line option', at);
    includeFiles(state, lexed.args, at, conditions, ctx.depth);
    return undefined;
  }
  switch (kw.kind) {
    case 'deprecated':
    case 'ignored':
      state.warnings.push(`${file} line ${lineNo}: Deprecated option ${written}`);
      return undefined;
    case 'unsupported':
      try {
        if (checkUnsupportedLine(kw.canonical, lexed, written)) return undefined;
      } catch (e) {
        if (e instanceof SshdValueError) throw new SshdConfigError(e.message, at);
        throw e;
      }
      state.warnings.push(`${file} line ${lineNo}: Unsupported option ${written} (nacred does not implement it and ignores the line)`);
      return undefined;
    case 'refused':
      if (lexed.args.length === 1 && lexed.args[0]!.toLowerCase() === 'none') return undefined;
      throw new SshdConfigError(`${written} is not supported by nacred (only "none"); refusing to run without it`, at);
    case 'supported':
      break;
  }
  const keyword = kw.canonical as SshdKeywordName;
  // With -p, every other Port line (the file's and -o's) is ignored, as sshd does.
  if (keyword === 'port' && state.portsFromCommandLine) return undefined;
  let parsed: { value: SshdLineValues[SshdKeywordName]; used: number };
  try {
    parsed = parseKeywordValue(keyword, lexed);
  } catch (e) {
    if (e instanceof SshdValueError) throw new SshdConfigError(e.message, at);
    throw e;
  }
  if (parsed.used < lexed.args.length) throw new SshdConfigError(`keyword ${written} extra arguments at end of line`, at);
  let value = parsed.value;
  const algorithmKind = ALGORITHM_KEYWORDS[keyword];
  if (algorithmKind !== undefined) {
    const spec = value as string;
    try {
      const assembled = assembleAlgorithms(algorithmKind, spec);
      if (assembled.dropped.length > 0) {
        state.warnings.push(`${file} line ${lineNo}: ${written}: Nacre does not implement ${assembled.dropped.join(',')}; left out`);
      }
      value = { spec, names: assembled.names } satisfies AlgorithmSetting as unknown as SshdLineValues[SshdKeywordName];
    } catch (e) {
      if (e instanceof SshdValueError) throw new SshdConfigError(e.message, at);
      throw e;
    }
  }
  if (PATH_KEYWORDS.has(keyword) && typeof value === 'string' && state.options.cwd !== undefined && !value.startsWith('/')) {
    value = joinPath(state.options.cwd, value);
  }
  state.entries.push({ keyword, value, file, line: lineNo, conditions });
  return undefined;
}

function writtenKeyword(line: string, lower: string): string {
  const trimmed = line.replace(/^[ \t\r\n\f]+/, '').replace(/^"/, '');
  const candidate = trimmed.slice(0, lower.length);
  return candidate.toLowerCase() === lower ? candidate : lower;
}

function includeFiles(state: State, args: readonly string[], at: { file: string; line: number }, conditions: readonly MatchLine[], depth: number): void {
  if (args.length === 0) throw new SshdConfigError('Include missing filename argument', at);
  for (const arg of args) {
    if (arg === '') throw new SshdConfigError('keyword Include empty argument', at);
    const pattern = arg.startsWith('/') || arg.startsWith('~') ? arg : joinPath(state.options.sshDirectory ?? '/etc/ssh', arg);
    for (const path of state.io.glob(pattern)) {
      if (state.files.length >= MAX_FILES) throw new SshdConfigError('too many included files', at);
      const text = state.io.readFile(path);
      if (text === null) throw new SshdConfigError(`${path}: No such file or directory`, at);
      state.files.push(path);
      if (depth + 1 > MAX_INCLUDE_DEPTH) throw new SshdConfigError('Too many recursive configuration includes', at);
      parseText(state, text, path, conditions, depth + 1);
    }
  }
}
