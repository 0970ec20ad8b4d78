// Keeps the import rules of docs/ARCHITECTURE.md true.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, dirname } from 'node:path';

const root = resolve(dirname(new URL(import.meta.url).pathname), '../../..');
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

/** Folder rank: a file may import only from its own rank or lower ones. */
const RANKS: [string, number][] = [
  ['errors.ts', 0],
  ['wire/', 1],
  ['messages/', 2],
  ['crypto/', 3],
  ['algorithms/', 3],
  ['keys/', 3],
  ['trust/', 3],
  ['core/', 4],
  ['testing/', 5],
  ['io/', 5],
  ['client/', 6],
  ['server/', 6],
  ['cli/', 7],
  ['index.ts', 8],
];
function rank(path: string): number {
  const rel = relative(src, path);
  for (const [prefix, r] of RANKS) if (rel.startsWith(prefix)) return r;
  return 9;
}

test('src/core imports no Node module and sets no timer', () => {
  for (const f of files(join(src, 'core'))) {
    const text = readFileSync(f, 'utf8');
    for (const spec of importsOf(f)) {
      assert.ok(spec.startsWith('.'), `${relative(root, f)} imports ${spec}`);
    }
    assert.ok(!/\bset(Timeout|Interval|Immediate)\(|Date\.now\(|performance\.now\(/.test(text), `${relative(root, f)} uses a clock or timer`);
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
const NO_FILE_ACCESS = ['keys', 'trust', 'messages', 'wire', 'core', 'algorithms', 'crypto'];
const FILE_MODULES = /^(node:)?(fs|fs\/promises|os|path|child_process|net)$/;

test('keys, trust, messages, wire, core, algorithms and crypto import no file, path or OS module', () => {
  for (const dir of NO_FILE_ACCESS) {
    for (const f of files(join(src, dir))) {
      for (const spec of importsOf(f)) assert.ok(!FILE_MODULES.test(spec), `${relative(root, f)} imports ${spec}`);
      assert.ok(!/\bimport\(\s*['"](node:)?(fs|os|path)\b/.test(readFileSync(f, 'utf8')), `${relative(root, f)} imports a file module dynamically`);
    }
  }
});
