// Runs every compiled test file under dist/test with Node's built-in runner.
// Node 20's `node --test` takes no globs, so the file list is built here.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function collect(dir, out) {
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) collect(path, out);
    else if (name.endsWith('.test.js')) out.push(path);
  }
  return out;
}
// Arguments pick files: a tier (`core`, `node`, `interop`) or part of a path.
const TIERS = new Set(['core', 'node', 'interop']);
const only = process.argv.slice(2);
const picked = (f, o) => (TIERS.has(o) ? f.startsWith(join('dist/test', o) + '/') : f.includes(o));
const files = collect('dist/test', []).filter((f) => only.length === 0 || only.some((o) => picked(f, o)));
const result = spawnSync(process.execPath, ['--test', '--test-concurrency=1', ...files], { stdio: 'inherit' });
process.exit(result.status ?? 1);
