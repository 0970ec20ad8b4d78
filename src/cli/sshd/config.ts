// Reading the configuration from disk for the pure sshd_config parser
// (src/config): the file's text, Include globs, and the command line's
// additions (-o, -p, -h, -c, -4/-6, -g) in the order sshd applies them.
import { nodeSshdConfigIO, parseSshdConfig, resolveSshdConfig, type SshdConfigIO, type SshdCommandLine, type SshdMatchSpec, type SshdSettings } from '../../index.js';
import type { NacredArgs } from './args.js';
import type { LoadedConfig } from './server-options.js';

/**
 * Keywords sshd allows inside Match that nacred sets once per server (they
 * are options of createServer, fixed before the user is known): a Match
 * block changing them is reported rather than silently not applied.
 */
const SERVER_WIDE: ReadonlySet<string> = new Set(['banner', 'maxauthtries', 'maxsessions', 'clientaliveinterval', 'clientalivecountmax']);

/** A missing configuration file: sshd's `path: No such file or directory` (exit 1). */
export class MissingConfigError extends Error {}

/** The command line's part of the configuration: -4/-6 and -g become -o lines, ahead of the others. */
export function commandLine(args: Pick<NacredArgs, 'options' | 'ports' | 'hostKeys' | 'hostCertificates' | 'addressFamily' | 'loginGraceTime'>): SshdCommandLine {
  const options = [...(args.addressFamily ? [`AddressFamily ${args.addressFamily}`] : []), ...(args.loginGraceTime !== undefined ? [`LoginGraceTime ${args.loginGraceTime}`] : []), ...args.options];
  return { options, ports: args.ports, hostKeys: args.hostKeys, hostCertificates: args.hostCertificates };
}

/**
 * Reads `file` (and its Includes) with the command line's additions; throws
 * SshdConfigError naming file:line, or MissingConfigError. `warnings` gets
 * the lines read but not acted on (deprecated or unsupported keywords ...).
 */
export function loadConfigFile(file: string, cmd: SshdCommandLine, warn: (line: string) => void = () => undefined, io: SshdConfigIO = nodeSshdConfigIO()): LoadedConfig {
  const text = io.readFile(file);
  if (text === null) throw new MissingConfigError(`${file}: No such file or directory`);
  const parsed = parseSshdConfig(text, file, io, { commandLine: cmd, cwd: process.cwd() });
  for (const w of parsed.warnings) warn(w);
  for (const e of parsed.entries) {
    if (e.conditions.length > 0 && SERVER_WIDE.has(e.keyword)) {
      warn(`${e.file} line ${e.line}: ${e.keyword} inside a Match block: nacred applies the global value to every connection`);
    }
  }
  const cache = new Map<string, SshdSettings>();
  const global = resolveSshdConfig(parsed);
  // Without Match lines resolveSshdConfig gives every spec the global settings.
  const hasMatch = parsed.entries.some((e) => e.conditions.length > 0);
  return {
    file,
    global,
    hasMatch,
    resolve(spec: SshdMatchSpec): SshdSettings {
      // Pure and cheap, but asked at every attempt and forwarding: remember the last few hundred.
      const key = JSON.stringify(spec);
      let s = cache.get(key);
      if (!s) {
        if (cache.size >= 512) cache.clear();
        s = resolveSshdConfig(parsed, spec);
        cache.set(key, s);
      }
      return s;
    },
  };
}

/**
 * A configuration without a file: sshd's defaults (an empty sshd_config)
 * with `overrides` on top, for connections with or without a Match (there is
 * none). npm start runs nacred this way.
 */
export function embeddedConfig(overrides: Partial<SshdSettings>): LoadedConfig {
  const noFiles: SshdConfigIO = { readFile: () => null, glob: () => [] };
  const defaults = resolveSshdConfig(parseSshdConfig('', '<embedded defaults>', noFiles));
  const global: SshdSettings = { ...defaults, ...overrides };
  return { file: '<embedded defaults>', global, hasMatch: false, resolve: () => global };
}
