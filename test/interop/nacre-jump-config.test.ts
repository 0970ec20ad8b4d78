// Jump hosts named as ssh_config aliases (issue 11): `nacre -F cfg -J alias
// target`, ProxyJump in the config, and a hop whose own Host block has a
// ProxyJump, against two OpenSSH sshd instances that each let in a
// different key, so a hop only gets in with the IdentityFile of its own
// Host block. OpenSSH's ssh runs the same commands as the oracle; nacre-sftp,
// nacre-scp and the library's connect({ host, config }) go the same way.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { userInfo } from 'node:os';
import { findOpenSsh, freePort, keygen, startSshd, tempDir, type Sshd } from './openssh.js';
import { runCommand, runNacre as runNacreIn, type NacreRun } from './nacre-run.js';
import { connect } from '../../src/index.js';

const o = findOpenSsh();
const skip = o ? false : 'OpenSSH not installed';
const CLI = join(dirname(fileURLToPath(import.meta.url)), '../../src/cli');

let jump: Sshd;
let target: Sshd;
let home: string;
let cfg: string;
const me = userInfo().username;

before(async () => {
  if (!o) return;
  home = tempDir('jump-cfg-home');
  mkdirSync(join(home, '.ssh'), { mode: 0o700 });
  const jumpKey = keygen(o, home, 'ed25519', 'id_jump');
  const targetKey = keygen(o, home, 'ed25519', 'id_target');
  jump = await startSshd(o, [], { authorizedKeys: jumpKey.publicLine + '\n', hostKeyTypes: ['ed25519'] });
  target = await startSshd(o, [], { authorizedKeys: targetKey.publicLine + '\n', hostKeyTypes: ['ed25519'] });
  const kh = join(home, 'known_hosts');
  writeFileSync(kh, `[127.0.0.1]:${jump.port} ${jump.hostKeys.ed25519}\n[127.0.0.1]:${target.port} ${target.hostKeys.ed25519}\n[localhost]:${jump.port} ${jump.hostKeys.ed25519}\n`);
  cfg = join(home, 'config');
  writeFileSync(
    cfg,
    [
      'Host jumpbox',
      '  HostName 127.0.0.1',
      `  Port ${jump.port}`,
      `  User ${me}`,
      `  IdentityFile ${jumpKey.privatePath}`,
      'Host target',
      '  HostName 127.0.0.1',
      `  Port ${target.port}`,
      `  IdentityFile ${targetKey.privatePath}`,
      // The same server as `target`, but reached through jumpbox by its own Host block.
      'Host viajump',
      '  HostName 127.0.0.1',
      `  Port ${target.port}`,
      `  IdentityFile ${targetKey.privatePath}`,
      '  ProxyJump jumpbox',
      // The jump server by another name, with a key it does not let in.
      'Host badjump',
      '  HostName localhost',
      `  Port ${jump.port}`,
      `  User ${me}`,
      `  IdentityFile ${targetKey.privatePath}`,
      // ssh's loop check compares the hop as typed (port 22 when none) with the connection's own port.
      'Host loopy',
      '  HostName 127.0.0.1',
      '  ProxyJump loopy',
      // A loop ssh's check does not see (ssh would run itself without end): nacre stops after 16 hops.
      'Host ring1',
      '  HostName 127.0.0.1',
      `  Port ${jump.port}`,
      '  ProxyJump ring2',
      'Host ring2',
      '  HostName 127.0.0.1',
      `  Port ${jump.port}`,
      '  ProxyJump ring1',
      'Host *',
      `  UserKnownHostsFile ${kh}`,
      '  StrictHostKeyChecking yes',
      '  BatchMode yes',
      '  IdentitiesOnly yes',
      '',
    ].join('\n'),
  );
});

after(async () => {
  await jump?.stop();
  await target?.stop();
});

function runNacre(args: string[]): Promise<NacreRun> {
  return runNacreIn(args, { home });
}

/** OpenSSH's ssh with this file's HOME (its -J runs another ssh from PATH). */
function runSsh(args: string[]): Promise<NacreRun> {
  return runCommand(o!.ssh, args, { home });
}

function runTool(tool: string, args: string[], input = ''): Promise<NacreRun> {
  return runCommand(process.execPath, [join(CLI, tool), ...args], { home, input });
}

/** The port the command's own sshd sees the connection from is not ours: which server ran it shows in SSH_CONNECTION's server port. */
const WHERE = 'echo "$SSH_CONNECTION" | cut -d" " -f4';

test('-J alias: the hop is resolved by its own Host block (HostName, Port, User, IdentityFile), as OpenSSH does', { skip, timeout: 60000 }, async () => {
  const ours = await runNacre(['-F', cfg, '-J', 'jumpbox', 'target', WHERE]);
  assert.equal(ours.code, 0, ours.stderr);
  assert.equal(ours.stdout, `${target.port}\n`);
  const theirs = await runSsh(['-F', cfg, '-J', 'jumpbox', 'target', WHERE]);
  assert.equal(theirs.code, 0, theirs.stderr);
  assert.equal(theirs.stdout, ours.stdout);
  // The jump server logged the forwarding to the target: the connection really went through it.
  assert.match(jump.log(), new RegExp(`direct-tcpip|port ${target.port}`));
});

test('ProxyJump in the config, and a hop whose own Host block has a ProxyJump (chained as ssh does)', { skip, timeout: 60000 }, async () => {
  const configured = await runNacre(['-F', cfg, 'viajump', WHERE]);
  assert.equal(configured.code, 0, configured.stderr);
  assert.equal(configured.stdout, `${target.port}\n`);
  // -J viajump target: viajump is reached through jumpbox (its own ProxyJump), target through viajump.
  const chained = await runNacre(['-F', cfg, '-J', 'viajump', 'target', WHERE]);
  assert.equal(chained.code, 0, chained.stderr);
  assert.equal(chained.stdout, `${target.port}\n`);
  const theirs = await runSsh(['-F', cfg, '-J', 'viajump', 'target', WHERE]);
  assert.equal(theirs.code, 0, theirs.stderr);
  // -J given with user and port overrides the hop's block for those, as ssh's `-l`/`-p`.
  const typed = await runNacre(['-F', cfg, '-J', `${me}@jumpbox:${jump.port}`, 'target', WHERE]);
  assert.equal(typed.code, 0, typed.stderr);
  // Two hops in one -J: the later one (viajump) gets the earlier as its ProxyJump, not its own.
  const two = await runNacre(['-F', cfg, '-v', '-J', 'jumpbox,viajump', 'target', WHERE]);
  assert.equal(two.code, 0, two.stderr);
  assert.equal(two.stdout, `${target.port}\n`);
});

test('a hop that jumps through itself is refused as ssh refuses it; an unknown alias names the hop', { skip, timeout: 60000 }, async () => {
  const loop = await runNacre(['-F', cfg, '-J', 'loopy', 'target', 'true']);
  assert.equal(loop.code, 255);
  assert.match(loop.stderr, /jumphost loop via loopy/);
  // ssh checks the hop against the HostName (loopy's would make ssh run itself without end);
  // where no HostName is set both refuse alike.
  const bare = ['-F', cfg, '-J', `${me}@127.0.0.1`, `${me}@127.0.0.1`, 'true'];
  const theirs = await runSsh(bare);
  assert.equal(theirs.code, 255);
  assert.match(theirs.stderr, /jumphost loop via 127\.0\.0\.1/);
  const ours = await runNacre(bare);
  assert.equal(ours.code, 255);
  assert.match(ours.stderr, /jumphost loop via 127\.0\.0\.1/);
  const self = await runNacre(['-F', cfg, '-J', 'loopy', 'loopy', 'true']);
  assert.equal(self.code, 255);
  assert.match(self.stderr, /jumphost loop via loopy/);
  // A hop that refuses us: its own user@host in ssh's words, not the destination's.
  const refusedHop = await runNacre(['-F', cfg, '-J', 'badjump', 'target', 'true']);
  assert.equal(refusedHop.code, 255);
  assert.match(refusedHop.stderr, new RegExp(`^${me}@localhost: Permission denied \\(publickey[^)]*\\)\\.\n$`));
  const ring = await runNacre(['-F', cfg, '-J', 'ring1', 'target', 'true']);
  assert.equal(ring.code, 255);
  assert.match(ring.stderr, /more than 16 hops/);
  const unknown = await runNacre(['-F', cfg, '-J', 'no-such-alias.invalid', 'target', 'true']);
  assert.equal(unknown.code, 255);
  assert.match(unknown.stderr, /Could not resolve hostname no-such-alias\.invalid/);
  const refused = await runNacre(['-F', cfg, '-J', `127.0.0.1:${await freePort()}`, 'target', 'true']);
  assert.equal(refused.code, 255);
  assert.match(refused.stderr, /connect to host 127\.0\.0\.1 port \d+: Connection refused/);
});

test('nacre-sftp and nacre-scp: -J alias and ProxyJump in the config', { skip, timeout: 60000 }, async () => {
  const dir = tempDir('jump-cfg-files');
  writeFileSync(join(dir, 'a.txt'), 'through the jump\n');
  const sftp = await runTool('nacre-sftp.js', ['-F', cfg, '-J', 'jumpbox', '-b', '-', 'target'], `get ${join(dir, 'a.txt')} ${join(dir, 'b.txt')}\n`);
  assert.equal(sftp.code, 0, sftp.stderr);
  assert.equal(readFileSync(join(dir, 'b.txt'), 'utf8'), 'through the jump\n');
  const scp = await runTool('nacre-scp.js', ['-F', cfg, join(dir, 'a.txt'), `viajump:${join(dir, 'c.txt')}`]);
  assert.equal(scp.code, 0, scp.stderr);
  assert.equal(readFileSync(join(dir, 'c.txt'), 'utf8'), 'through the jump\n');
  const scpJ = await runTool('nacre-scp.js', ['-F', cfg, '-J', 'jumpbox', `target:${join(dir, 'a.txt')}`, join(dir, 'd.txt')]);
  assert.equal(scpJ.code, 0, scpJ.stderr);
  assert.equal(readFileSync(join(dir, 'd.txt'), 'utf8'), 'through the jump\n');
});

test('library: connect({ host, config }) follows the config\'s ProxyJump, each hop by its own Host block', { skip, timeout: 60000 }, async () => {
  const c = await connect({ host: 'viajump', config: cfg });
  try {
    const r = await c.exec(WHERE);
    assert.equal(r.stdout, `${target.port}\n`);
  } finally {
    await c.close();
  }
  const chained = await connect({ host: 'target', config: cfg, proxyJump: 'viajump' });
  try {
    assert.equal((await chained.exec(WHERE)).stdout, `${target.port}\n`);
  } finally {
    await chained.close();
  }
  await assert.rejects(connect({ host: 'target', config: cfg, proxyJump: 'loopy' }), /jumphost loop via loopy/);
});
