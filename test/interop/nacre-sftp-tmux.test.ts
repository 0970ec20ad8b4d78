// nacre-sftp's interactive prompt, typed through tmux as a user would,
// against OpenSSH's sshd (internal-sftp): the `sftp> ` prompt, history (Up
// brings the last command back), tab completion of a remote path, a
// progress bar drawn for a transfer, Ctrl-C cancelling a transfer (nothing
// left at the destination) and leaving the prompt usable, and the terminal
// cooked again after `bye`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findOpenSsh, keygen, startSshd, tempDir, type Sshd } from './openssh.js';
import { findTmux, TmuxPane } from './nacre-tmux.js';

const NACRE_SFTP = join(dirname(fileURLToPath(import.meta.url)), '../../src/cli/nacre-sftp.js');
const o = findOpenSsh();
const tmux = findTmux();
const skip = !o ? 'OpenSSH is not installed (see scripts/install-test-peers.sh)' : !tmux ? 'tmux is not installed (see scripts/install-test-peers.sh)' : false;

const MODES_CHECK = `echo "modes: $(stty -a | tr ' ;' '\\n\\n' | grep -xE -- '-?(icanon|echo|isig|opost|icrnl|ixon)' | sort | tr '\\n' ' ')"`;
const COOKED = /modes: echo icanon icrnl isig ixon opost/;

let dir = '';
let sshd: Sshd | undefined;
let config = '';

before(async () => {
  if (skip) return;
  dir = tempDir('nsftp-tmux');
  const k = keygen(o!, dir, 'ed25519', 'id');
  sshd = await startSshd(o!, [], { hostKeyTypes: ['ed25519'], authorizedKeys: k.publicLine + '\n' });
  config = join(dir, 'config');
  writeFileSync(config, `Host peer\n  HostName 127.0.0.1\n  Port ${sshd.port}\n  User root\n  IdentityFile ${k.privatePath}\n  UserKnownHostsFile /dev/null\n  StrictHostKeyChecking no\n  LogLevel ERROR\n`);
});

after(async () => {
  await sshd?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('the interactive prompt: history, tab completion of a remote path, a progress bar, Ctrl-C, the terminal restored', { skip }, async () => {
  const remote = join(dir, 'remote');
  const local = join(dir, 'local');
  mkdirSync(join(remote, 'alpha-directory'), { recursive: true });
  mkdirSync(local);
  const small = randomBytes(3 * 1024 * 1024);
  writeFileSync(join(remote, 'zebra-file.bin'), small);
  // 24 MB at the -l limit (100000 Kbit/s, about 12 MB/s) takes two seconds: long enough to interrupt.
  const slow = randomBytes(24 * 1024 * 1024);
  writeFileSync(join(remote, 'slow.bin'), slow);
  const pane = new TmuxPane(tmux!, dir, 110, 40);
  try {
    await pane.waitFor(/^pane\$$/m, 10000, 'the local prompt');
    pane.line(`cd ${local} && node ${NACRE_SFTP} -F ${config} -l 100000 peer:${remote}; echo "status=$?"; ${MODES_CHECK}`);
    await pane.waitFor(/Changing to: .*\nsftp>$/m, 20000, 'the sftp prompt');

    await pane.next('Remote working directory:', () => pane.line('pwd'));
    // History: Up brings `pwd` back.
    pane.keys('Up');
    await pane.waitFor(/sftp> pwd\n(.*\n)*sftp> pwd$/m, 5000, 'pwd recalled');
    await pane.next('Remote working directory:', () => pane.keys('Enter'));
    assert.equal(pane.count('Remote working directory:'), 2);

    // Tab completes the one remote name starting with "zeb" (and adds a space; the pane's capture trims it); the progress bar reaches 100%.
    pane.type('get zeb');
    pane.keys('Tab');
    await pane.waitFor(/sftp> get zebra-file\.bin$/m, 10000, 'the completed name');
    pane.keys('Enter');
    const text = await pane.waitFor(/zebra-file\.bin +100% +3072KB +[\d.]+[KM]B\/s +\d\d:\d\d/, 20000, 'the progress bar');
    assert.match(text, /Fetching .*\/zebra-file\.bin to zebra-file\.bin/);
    await pane.waitFor(/100%.*\nsftp>$/m, 10000, 'the prompt after the transfer');
    assert.deepEqual(readFileSync(join(local, 'zebra-file.bin')), small);

    // A directory completes with its slash and no space.
    pane.type('cd alp');
    pane.keys('Tab');
    await pane.waitFor(/sftp> cd alpha-directory\/$/m, 10000, 'the completed directory');
    pane.keys('Enter');
    await pane.next('Remote working directory:', () => pane.line('pwd'));
    assert.match(pane.all(), /Remote working directory: .*\/alpha-directory\n/);

    // Ctrl-C during a transfer cancels it; as with sftp, what arrived is left under its own name (for reget), no hidden temporary.
    pane.line('get ../slow.bin cancelled.bin');
    await pane.waitFor(/slow\.bin +\d+%/, 20000, 'the slow transfer under way');
    pane.keys('C-c');
    await pane.waitFor(/Interrupt/, 10000, 'Interrupt');
    const interrupted = await pane.waitFor(/Interrupt(.*\n)+sftp>$/m, 10000, 'the prompt after the interrupt');
    // "Interrupt" on a line of its own, not over the bar's tail.
    assert.match(interrupted, /^Interrupt$/m);
    const partial = readFileSync(join(local, 'cancelled.bin'));
    assert.ok(partial.length < slow.length && partial.equals(slow.subarray(0, partial.length)), 'the partial file is a prefix of the source');
    assert.deepEqual(readdirSync(local).filter((n) => n.startsWith('.')), [], 'no hidden temporary file');
    await pane.next('Remote working directory:', () => pane.line('pwd'));

    pane.line('bye');
    const end = await pane.waitFor(/^modes: .*/m, 20000, 'the terminal modes');
    assert.match(end, /^status=0$/m);
    assert.match(end, COOKED);
    assert.doesNotMatch(end, /^modes: .*-(echo|icanon)/m);
    assert.ok(statSync(join(local, 'zebra-file.bin')).size === small.length);
  } finally {
    pane.kill();
  }
});
