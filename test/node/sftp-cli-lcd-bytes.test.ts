// nacre-sftp's lcd into directories whose names are not UTF-8
// (src/cli/sftp/local.ts): the process really moves there (relative paths,
// the glob, `lls` and `!` start there), lpwd's name keeps the bytes, relative
// and `..` steps work from such a directory, chdir's errors come through,
// the symbolic link used on the way is gone afterwards, and shell commands
// (lls, !) get such names as bytes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodeLocalOps, physicalCwd } from '../../src/cli/sftp/local.js';
import { shellCommandText, shellQuote } from '../../src/cli/common/shell-bytes.js';
import { glob } from '../../src/cli/common/glob.js';
import { pathFromBytes, pathToBytes } from '../../src/wire/path-bytes.js';
import { strerror } from '../../src/cli/common/exit.js';

let root: string;
const started = process.cwd();
const ff = pathFromBytes(Uint8Array.from([0xff]));
const cafe = pathFromBytes(Uint8Array.from([0x63, 0x61, 0x66, 0xe9]));
const b = (s: string): Buffer => Buffer.from(pathToBytes(s));
const lcdLeftovers = (): string[] => readdirSync(tmpdir()).filter((n) => n.startsWith('nacre-sftp-lcd-'));

before(() => {
  root = realpathSync(mkdtempSync(join(tmpdir(), 'nacre-lcd-')));
  mkdirSync(b(`${root}/${ff}/${cafe}`), { recursive: true });
  writeFileSync(b(`${root}/${ff}/${cafe}/inside`), 'x');
  writeFileSync(b(`${root}/${ff}/file`), 'x');
});

after(() => {
  process.chdir(started);
  rmSync(root, { recursive: true, force: true });
});

test('lcd into a non-UTF-8 directory by absolute and relative paths; cwd() keeps the bytes', async () => {
  const before = lcdLeftovers().length;
  const local = nodeLocalOps({ env: {} });
  local.chdir(`${root}/${ff}`);
  assert.equal(local.cwd(), `${root}/${ff}`);
  assert.equal(physicalCwd(), `${root}/${ff}`);
  // The process itself is there: relative names reach the directory's files.
  assert.ok(existsSync('file'));
  assert.deepEqual((await glob('*', local.globFs, {})).matches.map((m) => m.path), [cafe, 'file']);
  local.chdir(cafe);
  assert.equal(local.cwd(), `${root}/${ff}/${cafe}`);
  assert.ok(existsSync('inside'));
  local.chdir('..');
  assert.equal(local.cwd(), `${root}/${ff}`);
  local.chdir(`../${ff}/./${cafe}`);
  assert.equal(local.cwd(), `${root}/${ff}/${cafe}`);
  local.chdir(root);
  assert.equal(local.cwd(), root);
  await local.mkdir(`${ff}/new${ff}`);
  assert.ok(existsSync(b(`${root}/${ff}/new${ff}`)));
  assert.equal(lcdLeftovers().length, before, 'the temporary link is removed');
});

test("lcd's failures are chdir's: a missing directory, a file, and the working directory stays", () => {
  const local = nodeLocalOps({ env: {} });
  local.chdir(root);
  const tryChdir = (p: string): string => {
    try {
      local.chdir(p);
      return 'ok';
    } catch (err) {
      return strerror(err);
    }
  };
  assert.equal(tryChdir(`${ff}/missing${ff}`), 'No such file or directory');
  assert.equal(tryChdir(`${root}/${ff}/file${ff}`), 'No such file or directory');
  writeFileSync(b(`${root}/${ff}/plain${ff}`), '');
  assert.equal(tryChdir(`${ff}/plain${ff}`), 'Not a directory');
  assert.equal(local.cwd(), root);
  assert.equal(physicalCwd(), root);
});

test("a shell command naming bytes that are not UTF-8 reaches the shell with those bytes (lls, !), quotes and % included", () => {
  const cmd = `cd '${root}' && printf '%s|' "it's" 'x${ff}' > 'out${ff}'`;
  const text = shellCommandText(cmd);
  assert.match(text, /^[\x20-\x7e]+$/, 'ASCII only');
  const r = spawnSync('/bin/sh', ['-c', text]);
  assert.equal(r.status, 0, r.stderr.toString());
  assert.deepEqual(readFileSync(b(`${root}/out${ff}`)), Buffer.from([...Buffer.from("it's|x"), 0xff, 0x7c]));
  assert.equal(shellCommandText('ls -l'), 'ls -l');
  // Words quoted one by one (nacre-scp's local cp) come through whole, quotes and all.
  const words = ['printf', '%s|', "a 'b'", `c${ff}`];
  const r2 = spawnSync('/bin/sh', ['-c', shellCommandText(words.map(shellQuote).join(' '))]);
  assert.deepEqual(r2.stdout, Buffer.from([...Buffer.from("a 'b'|c"), 0xff, 0x7c]));
});
