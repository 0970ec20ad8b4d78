// Keeps the import rules of docs/ARCHITECTURE.md true.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, dirname } from 'node:path';

const root = resolve(dirname(new URL(import.meta.url).pathname), '../..');
const src = join(root, 'src');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

const importRe = /(?:^|\n)\s*(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]/g;
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(importRe)].map((m) => m[1]!);
}

/**
 * Folder rank: a file may import only from its own rank or lower ones. The
 * folders the next layers add have their rank already: `config` (ssh_config
 * and sshd_config parsers) is pure like `keys` and `trust`; `sftp` and `agent`
 * hold a protocol's codec and state machine and are pure like `core` (their
 * Node adapters go in `io`, their API in `client` and `server`); the tools in
 * `cli` sit above the package's entry points (package.json "exports"), which
 * is all they may import.
 */
const RANKS: [string, number][] = [
  ['errors.ts', 0],
  ['wire/', 1],
  ['messages/', 2],
  ['crypto/', 3],
  ['algorithms/', 3],
  ['keys/', 3],
  ['trust/', 3],
  ['config/', 3],
  ['core/', 4],
  ['sftp/', 4],
  ['agent/', 4],
  ['socks/', 4],
  ['mux/', 4],
  ['testing/', 5],
  ['io/', 5],
  ['client/', 6],
  ['server/', 6],
  ['index.ts', 7],
  ['keys-entry.ts', 7],
  ['mux-entry.ts', 7],
  ['client-entry.ts', 7],
  ['sftp-entry.ts', 7],
  ['cli/', 8],
];
function rank(path: string): number {
  const rel = relative(src, path);
  for (const [prefix, r] of RANKS) if (rel.startsWith(prefix)) return r;
  return 9;
}

/** Folders whose code is sans-I/O: no Node module, no timer, no clock. */
const PURE = ['core', 'sftp', 'agent', 'socks', 'mux'];

test('the folders the next layers add are ranked where docs/ARCHITECTURE.md puts them', () => {
  const r = (p: string) => rank(join(src, p));
  assert.ok(r('config/ssh-config.ts') < r('core/x.ts'), 'config is below the core');
  assert.ok(r('config/ssh-config.ts') === r('keys/x.ts'), 'config is pure, like keys');
  for (const pure of ['sftp', 'agent']) {
    assert.equal(r(`${pure}/codec.ts`), r('core/x.ts'), `${pure} is a sans-I/O layer like core`);
    assert.ok(r(`${pure}/codec.ts`) < r('io/node/x.ts'), `${pure} is below its Node adapter`);
  }
  assert.ok(r('cli/nacre.ts') > r('index.ts'), 'the tools sit above the entry point');
  for (const dir of readdirSync(src)) {
    if (statSync(join(src, dir)).isDirectory()) assert.ok(rank(join(src, dir, 'x.ts')) < 9, `src/${dir} has no rank: add it to RANKS and docs/ARCHITECTURE.md`);
  }
});

test('src/core, src/sftp and src/agent import no Node module and set no timer', () => {
  for (const dir of PURE) {
    if (!existsSync(join(src, dir))) continue;
    for (const f of files(join(src, dir))) {
      const text = readFileSync(f, 'utf8');
      for (const spec of importsOf(f)) {
        assert.ok(spec.startsWith('.'), `${relative(root, f)} imports ${spec}`);
      }
      assert.ok(!/\bset(Timeout|Interval|Immediate)\(|Date\.now\(|performance\.now\(/.test(text), `${relative(root, f)} uses a clock or timer`);
    }
  }
});

/** The source files behind package.json "exports" (`./dist/src/x.js` is `src/x.ts`). */
function entryPoints(): string[] {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { exports: Record<string, { default: string }> };
  return Object.values(pkg.exports).map((e) => join(root, e.default.replace(/^\.\/dist\//, '').replace(/\.js$/, '.ts')));
}

test('package.json "exports" names src/index.ts and the light nacre/keys and nacre/mux entries, each a source file', () => {
  const entries = entryPoints();
  assert.ok(entries.includes(join(src, 'index.ts')));
  assert.ok(entries.includes(join(src, 'keys-entry.ts')));
  assert.ok(entries.includes(join(src, 'mux-entry.ts')));
  for (const e of entries) assert.ok(existsSync(e), `${relative(root, e)} is named by package.json "exports" but does not exist`);
});

test('src/cli imports only the package entry points and its own modules', () => {
  const entries = entryPoints();
  for (const f of files(join(src, 'cli'))) {
    for (const target of localImportsOf(f)) {
      const ownModule = !relative(join(src, 'cli'), target).startsWith('..');
      assert.ok(ownModule || entries.includes(target), `${relative(root, f)} imports ${relative(root, target)}; a tool uses only what the package exports (package.json "exports": ${entries.map((e) => relative(root, e)).join(', ')})`);
    }
  }
});

test('imports point downwards', () => {
  for (const f of files(src)) {
    for (const spec of importsOf(f)) {
      if (!spec.startsWith('.')) continue;
      const target = resolve(dirname(f), spec).replace(/\.js$/, '.ts');
      assert.ok(rank(target) <= rank(f), `${relative(root, f)} (rank ${rank(f)}) imports ${relative(root, target)} (rank ${rank(target)})`);
    }
  }
});

test('wire and messages import nothing outside errors, wire and messages', () => {
  for (const dir of ['wire', 'messages']) {
    for (const f of files(join(src, dir))) {
      for (const spec of importsOf(f)) assert.ok(spec.startsWith('.'), `${relative(root, f)} imports ${spec}`);
    }
  }
});

// The parsers and the protocol take bytes and text; files, the home
// directory and paths are the Node layer's (src/io/node/files.ts), so these
// folders can run where there is no file system.
const NO_FILE_ACCESS = ['keys', 'trust', 'config', 'messages', 'wire', 'core', 'sftp', 'agent', 'algorithms', 'crypto'];
const FILE_MODULES = /^(node:)?(fs|fs\/promises|os|path|child_process|net)$/;

test('keys, trust, config, messages, wire, core, sftp, agent, algorithms and crypto import no file, path or OS module', () => {
  for (const dir of NO_FILE_ACCESS) {
    if (!existsSync(join(src, dir))) continue;
    for (const f of files(join(src, dir))) {
      for (const spec of importsOf(f)) assert.ok(!FILE_MODULES.test(spec), `${relative(root, f)} imports ${spec}`);
      assert.ok(!/\bimport\(\s*['"](node:)?(fs|os|path)\b/.test(readFileSync(f, 'utf8')), `${relative(root, f)} imports a file module dynamically`);
    }
  }
});
/**
 * Every module `file` imports from src, resolved to its .ts path: import and
 * export-from statements, type-only ones included (a type cycle is still two
 * modules that cannot be understood apart), bare side-effect imports and
 * dynamic import()s.
 */
const anyImportRe = /^\s*(?:import|export)\s+(?:type\s+)?(?:[^'";]*?\s+from\s+)?['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/gm;
function localImportsOf(file: string, text = readFileSync(file, 'utf8')): string[] {
  return [...text.matchAll(anyImportRe)]
    .map((m) => (m[1] ?? m[2])!)
    .filter((spec) => spec.startsWith('.'))
    .map((spec) => resolve(dirname(file), spec).replace(/\.js$/, '.ts'));
}

/** The import cycles of a module graph, each as the path that closes it (depth-first search). */
function importCycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const done = new Set<string>();
  const onPath: string[] = [];
  const cycles: string[][] = [];
  const visit = (node: string): void => {
    onPath.push(node);
    for (const next of graph.get(node) ?? []) {
      const at = onPath.indexOf(next);
      if (at >= 0) cycles.push([...onPath.slice(at), next]);
      else if (!done.has(next)) visit(next);
    }
    onPath.pop();
    done.add(node);
  };
  for (const node of graph.keys()) if (!done.has(node)) visit(node);
  return cycles;
}

test('the import scanner sees every form of import, and the search finds cycles', () => {
  const f = join(src, 'client', 'x.ts');
  const text = [
    "import type { A } from './a.js';",
    'import {',
    '  B,',
    "  type C,",
    "} from '../server/b.js';",
    "export { D } from './d.js';",
    "export * from './e.js';",
    "import './f.js';",
    "const g = await import('./g.js');",
    "import { readFileSync } from 'node:fs';",
  ].join('\n');
  assert.deepEqual(
    localImportsOf(f, text).map((p) => relative(src, p)),
    ['client/a.ts', 'server/b.ts', 'client/d.ts', 'client/e.ts', 'client/f.ts', 'client/g.ts'],
  );
  const graph = new Map([
    ['a', ['b']],
    ['b', ['c']],
    ['c', ['a']],
    ['d', ['a']],
  ]);
  assert.deepEqual(importCycles(graph), [['a', 'b', 'c', 'a']]);
  assert.deepEqual(importCycles(new Map([['a', ['b']], ['b', []]])), []);
});

test('src has no import cycle, type-only imports included', () => {
  const graph = new Map(files(src).map((f) => [f, localImportsOf(f)] as const));
  const cycles = importCycles(graph).map((c) => c.map((p) => relative(src, p)).join(' -> '));
  assert.deepEqual(cycles, []);
});

test('src/client and src/server do not import each other', () => {
  for (const [from, to] of [
    ['client', 'server'],
    ['server', 'client'],
  ] as const) {
    for (const f of files(join(src, from))) {
      for (const target of localImportsOf(f)) {
        const inside = !relative(join(src, to), target).startsWith('..');
        assert.ok(!inside, `${relative(root, f)} imports ${relative(root, target)}`);
      }
    }
  }
});

test('the declarations of Client and ServerConnection do not show their driver', (t) => {
  // Built by tsc next to this test; @internal members are stripped (stripInternal).
  const dts = ['client/client.d.ts', 'server/server.d.ts'].map((p) => join(root, 'dist', 'src', p));
  if (!dts.every(existsSync)) return t.skip('no emitted declarations');
  for (const p of dts) {
    const text = readFileSync(p, 'utf8');
    assert.ok(!/NodeEndpoint|\breadonly node\b|\bnode: /.test(text), `${relative(root, p)} shows the driver`);
  }
});

// Tests by tier (docs/ARCHITECTURE.md): test/core runs the pure layers in
// memory with a fake clock; test/node runs the Node layer, the client and
// the server on loopback; test/interop runs them against real OpenSSH.
test('test/core tests stay in memory: no Node adapter, client, server or tool, no socket or process', () => {
  const testRoot = join(root, 'test');
  assert.deepEqual(
    readdirSync(testRoot).filter((n) => statSync(join(testRoot, n)).isDirectory()).sort(),
    ['core', 'interop', 'node'],
  );
  for (const f of files(join(testRoot, 'core'))) {
    for (const spec of importsOf(f)) {
      assert.ok(!/^(node:)?(net|child_process|dgram|http|https)$/.test(spec), `${relative(root, f)} imports ${spec}; it belongs in test/node`);
      if (!spec.startsWith('.')) continue;
      const target = resolve(dirname(f), spec).replace(/\.js$/, '.ts');
      const inSrc = relative(src, target);
      assert.ok(inSrc.startsWith('..') || !/^(io|client|server|cli|index\.ts)/.test(inSrc), `${relative(root, f)} imports src/${inSrc}; it belongs in test/node`);
      assert.ok(relative(join(testRoot, 'node'), target).startsWith('..'), `${relative(root, f)} imports a test/node helper`);
    }
  }
});

test('nacre/mux (src/mux-entry.ts) loads no transport, key exchange, cipher or client connection code', () => {
  // Runtime imports only: `import type` lines load nothing.
  const runtimeRe = /(?:^|\n)\s*(?:import|export)\s+(?!type\s)[^'"]*?from\s+['"](\.[^'"]+)['"]/g;
  const seen = new Set<string>();
  const walk = (f: string): void => {
    if (seen.has(f)) return;
    seen.add(f);
    for (const m of readFileSync(f, 'utf8').matchAll(runtimeRe)) walk(resolve(dirname(f), m[1]!).replace(/\.js$/, '.ts'));
  };
  walk(join(src, 'mux-entry.ts'));
  const loaded = [...seen].map((f) => relative(src, f));
  const allowed = (f: string) =>
    !/^(core|crypto|server|agent|sftp|socks|trust)\//.test(f) &&
    (!f.startsWith('algorithms/') || f === 'algorithms/catalog.ts') &&
    (!f.startsWith('client/') || f === 'client/control-client.ts') &&
    (!f.startsWith('keys/') || ['keys/pem.ts', 'keys/pkcs8-kdf.ts', 'keys/address-match.ts'].includes(f));
  assert.deepEqual(loaded.filter((f) => !allowed(f)), []);
  assert.ok(loaded.length < 30, `nacre/mux loads ${loaded.length} modules`);
});

test('nacre/client (src/client-entry.ts) loads no server, sshd_config, SFTP or SSHSIG code', () => {
  // Runtime imports only, static ones (a dynamic import() loads when it runs).
  const runtimeRe = /(?:^|\n)\s*(?:import|export)\s+(?!type\s)[^'"]*?from\s+['"](\.[^'"]+)['"]/g;
  const seen = new Set<string>();
  const walk = (f: string): void => {
    if (seen.has(f)) return;
    seen.add(f);
    for (const m of readFileSync(f, 'utf8').matchAll(runtimeRe)) walk(resolve(dirname(f), m[1]!).replace(/\.js$/, '.ts'));
  };
  walk(join(src, 'client-entry.ts'));
  const loaded = [...seen].map((f) => relative(src, f));
  const forbidden = (f: string) =>
    /^(server|sftp|client\/sftp)\//.test(f) || /^config\/sshd-/.test(f) || ['keys/sshsig.ts', 'keys/index.ts', 'trust/index.ts', 'config/index.ts', 'trust/allowed-signers.ts', 'index.ts'].includes(f);
  assert.deepEqual(loaded.filter(forbidden), []);
});
