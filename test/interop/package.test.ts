// What `npm pack` ships works for a user: the tarball is installed into a
// scratch project and a plain .mjs that imports 'nacre' logs into a Nacre
// server. Dependencies come from npm's cache (filled by `npm ci`), with the
// network only for what is missing; when npm cannot install, the test fails
// with npm's own message.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { tempDir } from './openssh.js';
import { createServer } from '../../src/server/server.js';
import { generateHostKey, fingerprintSha256 } from '../../src/keys/index.js';

const root = resolve(dirname(new URL(import.meta.url).pathname), '../../..');
const npm = spawnSync('npm', ['--version'], { encoding: 'utf8' });
const skip = npm.status === 0 ? false : 'npm not found on PATH: the packaging test cannot run';
if (skip) console.warn(`WARNING: ${skip}`);

function npmRun(args: string[], cwd: string): string {
  const r = spawnSync('npm', args, { cwd, encoding: 'utf8', timeout: 60000 });
  assert.equal(r.status, 0, `npm ${args.join(' ')} failed (status ${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

function walk(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else out.push(p);
  }
  return out;
}

test('npm pack ships what an installed user needs, and it runs', { skip, timeout: 90000 }, async () => {
  const scratch = tempDir('pack');
  // Scripts are skipped: dist is built already (prepare would only recompile).
  const packed = JSON.parse(npmRun(['pack', '--ignore-scripts', '--json', '--pack-destination', scratch], root)) as { filename: string; files: { path: string }[] }[];
  const files = packed[0]!.files.map((f) => f.path);
  for (const f of ['package.json', 'README.md', 'LICENSE', 'dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/cli/start.js', 'dist/src/cli/nacre-keygen.js', 'dist/src/cli/nacre.js', 'dist/src/cli/nacred.js', 'dist/src/keys-entry.js', 'dist/src/keys-entry.d.ts', 'dist/src/mux-entry.js', 'dist/src/mux-entry.d.ts', 'dist/src/client-entry.js', 'dist/src/client-entry.d.ts']) assert.ok(files.includes(f), `${f} missing from the tarball`);
  assert.ok(!files.some((f) => f.startsWith('dist/test/') || f.startsWith('test/') || f.startsWith('dist/bench/')), 'tests or benchmarks in the tarball');

  const project = join(scratch, 'project');
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'scratch', version: '1.0.0', private: true, type: 'module' }));
  npmRun(['install', '--prefer-offline', '--no-audit', '--no-fund', '--no-save', join(scratch, packed[0]!.filename)], project);
  const installed = join(project, 'node_modules', 'nacre');
  assert.ok(existsSync(join(installed, 'LICENSE')));
  // The bin entry is linked and runs as a command.
  const keygen = spawnSync(join(project, 'node_modules', '.bin', 'nacre-keygen'), ['--help'], { encoding: 'utf8' });
  assert.equal(keygen.status, 0, `nacre-keygen --help: ${keygen.stderr}`);
  assert.match(keygen.stdout, /^nacre-keygen: /);
  const nacre = spawnSync(join(project, 'node_modules', '.bin', 'nacre'), ['-V'], { encoding: 'utf8' });
  assert.equal(nacre.status, 0, `nacre -V: ${nacre.stderr}`);
  assert.match(nacre.stderr, /^Nacre_/);
  const nacred = spawnSync(join(project, 'node_modules', '.bin', 'nacred'), ['-V'], { encoding: 'utf8' });
  assert.equal(nacred.status, 0, `nacred -V: ${nacred.stderr}`);
  assert.match(nacred.stderr, /nacred/);
  // The nacre/keys subpath resolves from the installed package, and loads without the protocol stack.
  const sub = spawnSync(
    process.execPath,
    ['--input-type=module', '-e', "const k = await import('nacre/keys'); const r = await import('nacre'); console.log(typeof k.randomart, typeof k.readBounded, k.fingerprintSha256 === r.fingerprintSha256, 'connect' in k)"],
    { cwd: project, encoding: 'utf8' },
  );
  assert.equal(sub.status, 0, sub.stderr);
  assert.equal(sub.stdout, 'function function true false\n');
  // So does nacre/mux (what a command through a shared connection loads).
  const mux = spawnSync(process.execPath, ['--input-type=module', '-e', "const m = await import('nacre/mux'); const r = await import('nacre'); console.log(typeof m.readSshConfig, m.connectControl === r.connectControl, 'connect' in m)"], { cwd: project, encoding: 'utf8' });
  assert.equal(mux.status, 0, mux.stderr);
  assert.equal(mux.stdout, 'function true false\n');
  // And nacre/client (what nacre, nacre-sftp and nacre-scp connect with): the client, not the server.
  const client = spawnSync(process.execPath, ['--input-type=module', '-e', "const c = await import('nacre/client'); const r = await import('nacre'); console.log(typeof c.readSshConfig, c.connect === r.connect, 'createServer' in c)"], { cwd: project, encoding: 'utf8' });
  assert.equal(client.status, 0, client.stderr);
  assert.equal(client.stdout, 'function true false\n');

  // The declarations type-check for a strict TypeScript user who does not skip library checks.
  writeFileSync(
    join(project, 'check.ts'),
    `import { connect, createServer, type ConnectOptions, type ServerOptions, type Client } from 'nacre';
const options: ConnectOptions = { host: '127.0.0.1' };
const server: ServerOptions = { hostKeys: [] };
export const use = [connect, createServer, options, server] as const;
export type C = Client;
// The light entry point for key and trust files.
import { fingerprint, randomart, readBounded, loadPrivateKeyFile, parseKnownHosts, type LoadedPrivateKey } from 'nacre/keys';
export const keys = [fingerprint, randomart, readBounded, loadPrivateKeyFile, parseKnownHosts] as const;
export type L = LoadedPrivateKey;
`,
  );
  const tsc = spawnSync(
    process.execPath,
    [join(root, 'node_modules/typescript/bin/tsc'), '--strict', '--noEmit', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--typeRoots', join(root, 'node_modules/@types'), '--types', 'node', 'check.ts'],
    { cwd: project, encoding: 'utf8' },
  );
  assert.equal(tsc.status, 0, `the shipped declarations do not compile:\n${tsc.stdout}${tsc.stderr}`);

  // Every source map names sources that were shipped.
  for (const map of walk(join(installed, 'dist')).filter((f) => f.endsWith('.map'))) {
    const { sources } = JSON.parse(readFileSync(map, 'utf8')) as { sources: string[] };
    for (const s of sources) assert.ok(existsSync(resolve(dirname(map), s)), `${map} points at ${s}, not shipped`);
  }

  const hostKey = generateHostKey('ssh-ed25519');
  const server = createServer({
    hostKeys: [hostKey],
    authenticate: (ctx) => ctx.method === 'password' && ctx.username === 'user' && ctx.password === 'pass',
    session: (s) => {
      s.onExec = (command, channel) => {
        channel.write(`ran ${command}\n`);
        channel.exit(0);
      };
    },
  });
  const { port } = await server.listen(0, '127.0.0.1');
  try {
    writeFileSync(
      join(project, 'example.mjs'),
      `import { connect } from 'nacre';
const conn = await connect({ host: '127.0.0.1', port: ${port}, username: 'user', password: 'pass', verifyHostKey: (k) => k.fingerprint === '${fingerprintSha256(hostKey.publicBlob)}' });
try {
  const { stdout } = await conn.exec('hello');
  process.stdout.write(stdout);
} finally {
  await conn.close();
}
`,
    );
    const child = spawn(process.execPath, ['example.mjs'], { cwd: project, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise((r) => child.once('exit', r));
    assert.equal(code, 0, out);
    assert.equal(out, 'ran hello\n');
  } finally {
    await server.close();
    rmSync(scratch, { recursive: true, force: true });
  }
});
