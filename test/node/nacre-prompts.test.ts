// nacre's questions with a fake terminal and a fake askpass: the host key
// decisions of StrictHostKeyChecking and BatchMode, ssh's yes/no/fingerprint
// loop and its warnings, where read_passphrase's rules send a question
// (terminal, SSH_ASKPASS, SSH_ASKPASS_REQUIRE), and key passphrases asked
// once per key, when the key is first needed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generatePrivateKey, writePrivateKey, formatOpenSshPublicKeyLine, signerFromKeyObject, type HostKeyInfo } from '../../src/index.js';
import { Logger } from '../../src/cli/common/log.js';
import { hostKeyVerifier, confirmUnknownKey, unknownKeyQuestion, changedKeyWarning, keyTypeLabel, parseStrictHostKeyChecking, type StrictHostKeyChecking } from '../../src/cli/ssh/host-keys.js';
import { Prompter, type PromptTerminal } from '../../src/cli/ssh/prompter.js';
import { loadIdentities } from '../../src/cli/ssh/identities.js';

const FP = 'SHA256:abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';

function info(knownHosts: HostKeyInfo['knownHosts'], extra: Partial<HostKeyInfo> = {}): HostKeyInfo {
  return { host: '127.0.0.1', port: 2222, key: new Uint8Array(0), keyType: 'ssh-ed25519', fingerprint: FP, algorithm: 'ssh-ed25519', knownHosts, knownHostsFile: '/h/.ssh/known_hosts', ...extra };
}

function logger(): { log: Logger; text: () => string } {
  let out = '';
  return { log: new Logger((t) => (out += t), 'info'), text: () => out };
}

function verifier(strict: StrictHostKeyChecking, answers: (string | null)[], batchMode = false) {
  const { log, text } = logger();
  const prompts: string[] = [];
  const verify = hostKeyVerifier({
    strict,
    batchMode,
    log,
    askLine: async (p) => {
      prompts.push(p);
      return answers.length > 0 ? answers.shift()! : null;
    },
  });
  return { verify, prompts, text };
}

test('unknown host, ask: the question as ssh words it; yes accepts and says "Permanently added"', async () => {
  const v = verifier('ask', ['yes']);
  assert.equal(await v.verify(info('unknown')), true);
  assert.equal(v.prompts.length, 1);
  assert.equal(
    v.prompts[0],
    "The authenticity of host '[127.0.0.1]:2222 ([127.0.0.1]:2222)' can't be established.\n" +
      `ED25519 key fingerprint is ${FP}.\n` +
      'This key is not known by any other names.\n' +
      'Are you sure you want to continue connecting (yes/no/[fingerprint])? ',
  );
  assert.equal(v.text(), "Warning: Permanently added '[127.0.0.1]:2222' (ED25519) to the list of known hosts.\n");
});

test('the question names the address connected to, as ssh does', () => {
  const q = unknownKeyQuestion(info('unknown', { host: 'build.example' }), '[192.0.2.7]:2222');
  assert.ok(q.startsWith("The authenticity of host '[build.example]:2222 ([192.0.2.7]:2222)' can't be established.\n"), q);
  assert.ok(unknownKeyQuestion(info('unknown', { host: 'jumped', port: 22 }), '<no hostip for proxy command>').startsWith("The authenticity of host 'jumped (<no hostip for proxy command>)'"));
});

test('unknown host, ask: no refuses; the fingerprint accepts; anything else asks again', async () => {
  const no = verifier('ask', ['no']);
  assert.equal(await no.verify(info('unknown')), false);
  assert.equal(no.text(), '');
  const fp = verifier('ask', [FP]);
  assert.equal(await fp.verify(info('unknown')), true);
  const other = verifier('ask', ['maybe', 'SHA256:wrong', 'YES']);
  assert.equal(await other.verify(info('unknown')), true);
  assert.deepEqual(other.prompts.slice(1), ["Please type 'yes', 'no' or the fingerprint: ", "Please type 'yes', 'no' or the fingerprint: "]);
  const eof = verifier('ask', []);
  assert.equal(await eof.verify(info('unknown')), false);
  assert.equal(await confirmUnknownKey(info('unknown'), async () => '  yes  '), true);
});

test('BatchMode and StrictHostKeyChecking yes refuse an unknown key without asking', async () => {
  const batch = verifier('ask', ['yes'], true);
  assert.equal(await batch.verify(info('unknown')), false);
  assert.equal(batch.prompts.length, 0);
  const strict = verifier('yes', ['yes']);
  assert.equal(await strict.verify(info('unknown')), false);
  assert.equal(strict.prompts.length, 0);
  assert.match(strict.text(), /No ED25519 host key is known for \[127\.0\.0\.1\]:2222 and you have requested strict checking\./);
});

test('accept-new and no add an unknown key without asking', async () => {
  for (const strict of ['accept-new', 'no'] as const) {
    const v = verifier(strict, []);
    assert.equal(await v.verify(info('unknown')), true);
    assert.equal(v.prompts.length, 0);
    assert.match(v.text(), /Permanently added/);
  }
});

test('a changed key: the warning block names the offending line, and strict modes refuse it', async () => {
  const changed = info('mismatch', { knownHostsEntry: { file: '/h/.ssh/known_hosts', line: 3, keyType: 'ssh-ed25519' } });
  for (const strict of ['ask', 'yes', 'accept-new'] as const) {
    const v = verifier(strict, ['yes']);
    assert.equal(await v.verify(changed), false);
    assert.equal(v.prompts.length, 0);
    const t = v.text();
    assert.match(t, /@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @/);
    assert.match(t, /Offending ED25519 key in \/h\/\.ssh\/known_hosts:3\n/);
    assert.match(t, /ssh-keygen -f '\/h\/\.ssh\/known_hosts' -R '\[127\.0\.0\.1\]:2222'/);
    assert.match(t, new RegExp(`The fingerprint for the ED25519 key sent by the remote host is\\n${FP}\\.`));
    assert.match(t, /Host key for \[127\.0\.0\.1\]:2222 has changed and you have requested strict checking\./);
  }
  assert.equal(changedKeyWarning(changed)[0], '@'.repeat(59));
});

test('a changed key under StrictHostKeyChecking no goes on, with passwords turned off', async () => {
  const { log, text } = logger();
  let risk = false;
  const verify = hostKeyVerifier({ strict: 'no', batchMode: false, log, askLine: async () => null, onManInTheMiddleRisk: () => (risk = true) });
  assert.deepEqual(await verify(info('mismatch')), { accept: 'mismatch' });
  assert.equal(risk, true);
  assert.match(text(), /Password authentication is disabled to avoid man-in-the-middle attacks\./);
});

test('a revoked key is refused in every mode', async () => {
  for (const strict of ['ask', 'yes', 'accept-new', 'no'] as const) {
    const v = verifier(strict, ['yes']);
    assert.equal(await v.verify(info('revoked')), false);
    assert.match(v.text(), /REVOKED HOST KEY DETECTED/);
  }
});

test('a known key passes quietly; StrictHostKeyChecking values', async () => {
  const v = verifier('yes', []);
  assert.equal(await v.verify(info('match')), true);
  assert.equal(v.text(), '');
  assert.equal(parseStrictHostKeyChecking('off'), 'no');
  assert.equal(parseStrictHostKeyChecking(undefined), 'ask');
  assert.equal(parseStrictHostKeyChecking('Accept-New'), 'accept-new');
  assert.equal(parseStrictHostKeyChecking('sometimes'), null);
  assert.equal(keyTypeLabel('ecdsa-sha2-nistp256'), 'ECDSA');
  assert.equal(keyTypeLabel('ssh-rsa'), 'RSA');
  assert.equal(keyTypeLabel('ssh-ed25519-cert-v01@openssh.com'), 'ED25519-CERT');
});

/** A terminal that records what was asked and answers from a list. */
function fakeTerminal(present: boolean, answers: string[]): PromptTerminal & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    open: () => (present ? 99 : null),
    readLine: async (_fd, p) => {
      asked.push(`line:${p}`);
      return answers.shift() ?? null;
    },
    readSecret: async (_fd, p) => {
      asked.push(`secret:${p}`);
      return answers.shift() ?? null;
    },
  };
}

test('read_passphrase rules: terminal first; askpass without one when a display is there; REQUIRE force/prefer/never', async () => {
  const runs: string[] = [];
  const askpass = (program: string, prompt: string) => {
    runs.push(`${program} ${prompt}`);
    return 'from-askpass';
  };
  const tty = fakeTerminal(true, ['typed']);
  assert.equal(await new Prompter({ env: { SSH_ASKPASS: '/bin/ap', DISPLAY: ':0' }, batchMode: false, terminal: tty, runAskpass: askpass }).secret('Password: '), 'typed');
  assert.deepEqual(tty.asked, ['secret:Password: ']);
  assert.deepEqual(runs, []);

  const none = fakeTerminal(false, []);
  assert.equal(await new Prompter({ env: { SSH_ASKPASS: '/bin/ap', DISPLAY: ':0' }, batchMode: false, terminal: none, runAskpass: askpass }).secret('Password: '), 'from-askpass');
  assert.equal(await new Prompter({ env: { SSH_ASKPASS: '/bin/ap' }, batchMode: false, terminal: none, runAskpass: askpass }).secret('P: '), null, 'no display, no askpass');
  assert.equal(await new Prompter({ env: { SSH_ASKPASS: '/bin/ap', SSH_ASKPASS_REQUIRE: 'force' }, batchMode: false, terminal: fakeTerminal(true, ['typed']), runAskpass: askpass }).secret('F: '), 'from-askpass');
  assert.equal(await new Prompter({ env: { SSH_ASKPASS: '/bin/ap', SSH_ASKPASS_REQUIRE: 'prefer', DISPLAY: ':0' }, batchMode: false, terminal: fakeTerminal(true, ['typed']), runAskpass: askpass }).secret('Pr: '), 'from-askpass');
  assert.equal(await new Prompter({ env: { SSH_ASKPASS: '/bin/ap', SSH_ASKPASS_REQUIRE: 'prefer' }, batchMode: false, terminal: fakeTerminal(true, ['typed']), runAskpass: askpass }).secret('Pr: '), 'typed');
  assert.equal(await new Prompter({ env: { SSH_ASKPASS: '/bin/ap', SSH_ASKPASS_REQUIRE: 'never', DISPLAY: ':0' }, batchMode: false, terminal: none, runAskpass: askpass }).secret('N: '), null);
  assert.deepEqual(runs, ['/bin/ap Password: ', '/bin/ap F: ', '/bin/ap Pr: ']);
  assert.equal(await new Prompter({ env: { SSH_ASKPASS_REQUIRE: 'force' }, batchMode: true, terminal: fakeTerminal(true, ['x']), runAskpass: askpass }).secret('B: '), null, 'BatchMode asks nothing');
});

test('an encrypted key with its .pub is offered, and its passphrase asked once, when it first signs', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nacre-ids-'));
  try {
    const key = generatePrivateKey('ssh-ed25519');
    const path = join(dir, 'id_ed25519');
    writeFileSync(path, writePrivateKey(key, { passphrase: 'pw' }));
    writeFileSync(`${path}.pub`, formatOpenSshPublicKeyLine(signerFromKeyObject(key).publicBlob, 'k') + '\n');
    const asked: string[] = [];
    const answers = ['wrong', 'pw'];
    const { log } = logger();
    const ids = await loadIdentities([path, join(dir, 'missing')], [], { log, askPassphrase: async (p) => (asked.push(p), answers.shift() ?? null) });
    assert.equal(ids.length, 1);
    assert.equal(asked.length, 0, 'nothing asked before the key is used');
    const s1 = await ids[0]!.signer.sign('ssh-ed25519', new Uint8Array([1, 2, 3]));
    const s2 = await ids[0]!.signer.sign('ssh-ed25519', new Uint8Array([4]));
    assert.ok(s1.length > 0 && s2.length > 0);
    assert.deepEqual(asked, [`Enter passphrase for key '${path}': `, `Enter passphrase for key '${path}': `]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('~v / ~V step the log level between ERROR and DEBUG3', () => {
  const lines: string[] = [];
  const log = new Logger((t) => lines.push(t), 'info');
  log.debug(1, 'hidden');
  assert.equal(log.step(1), 'verbose');
  assert.equal(log.step(1), 'debug1');
  log.debug(1, 'shown');
  assert.deepEqual(lines, ['debug1: shown\n']);
  for (let i = 0; i < 5; i++) log.step(1);
  assert.equal(log.level, 'debug3');
  for (let i = 0; i < 10; i++) log.step(-1);
  assert.equal(log.level, 'error');
});
