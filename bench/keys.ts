// Keys (issue 10): key generation per type, certificate verifications per
// second, and nacre-keygen's whole-command time next to ssh-keygen doing the
// same (a CLI's start-up is what its user feels).
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateHostKey, generatePrivateKey, type HostKeyType } from '../src/keys/index.js';
import { signCertificate } from '../src/keys/certificate.js';
import { verifyCertificate } from '../src/keys/certificate-verify.js';

const TYPES: readonly [HostKeyType, string, string[]][] = [
  ['ssh-ed25519', 'ed25519', []],
  ['ecdsa-sha2-nistp256', 'ecdsa 256', ['-b', '256']],
  ['ecdsa-sha2-nistp384', 'ecdsa 384', ['-b', '384']],
  ['ecdsa-sha2-nistp521', 'ecdsa 521', ['-b', '521']],
  ['ssh-rsa', 'rsa 3072', ['-b', '3072']],
];

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function timeMs(fn: () => void, runs: number): number {
  fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    fn();
    times.push(performance.now() - t);
  }
  return median(times);
}

/** Median wall time of a whole command, in ms. */
function commandMs(cmd: string, args: string[], runs: number): number | null {
  const first = spawnSync(cmd, args, { stdio: 'ignore' });
  if (first.error || first.status !== 0) return null;
  return timeMs(() => void spawnSync(cmd, args, { stdio: 'ignore' }), runs);
}

const keygenPath = (name: string) => ['/usr/bin', '/usr/local/bin'].map((d) => join(d, name)).find(existsSync) ?? null;

export function keysMarkdown(): string {
  const out: string[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'nacre-bench-keys-'));
  const sshKeygen = keygenPath('ssh-keygen');
  try {
    out.push('### Key generation (ms, median; Nacre in-process, ssh-keygen as a whole command with -N "")\n');
    out.push('| type | Nacre `generatePrivateKey` | `ssh-keygen -t` command |\n|---|---:|---:|');
    for (const [type, label, bits] of TYPES) {
      const runs = type === 'ssh-rsa' ? 5 : 30;
      const nacre = timeMs(() => void generatePrivateKey(type), runs);
      const file = join(dir, `gen-${label.replace(' ', '')}`);
      const ssh = sshKeygen
        ? timeMs(() => {
            rmSync(file, { force: true });
            rmSync(file + '.pub', { force: true });
            spawnSync(sshKeygen, ['-q', '-t', label.split(' ')[0]!, ...bits, '-N', '', '-f', file], { stdio: 'ignore' });
          }, type === 'ssh-rsa' ? 5 : 10)
        : null;
      out.push(`| ${label} | ${nacre.toFixed(2)} | ${ssh === null ? 'n/a' : ssh.toFixed(1)} |`);
    }

    out.push('\n### Certificate verification (`verifyCertificate`, user certificate, per second)\n');
    out.push('| CA type | verifications/s |\n|---|---:|');
    const user = generateHostKey('ssh-ed25519');
    for (const [type, label] of [TYPES[0]!, TYPES[1]!, TYPES[4]!]) {
      const ca = generateHostKey(type);
      const cert = signCertificate({ publicKey: user.publicBlob, kind: 'user', random: (n) => randomBytes(n), principals: ['alice'] }, ca);
      const check = { kind: 'user' as const, trustedCa: [ca.publicBlob], now: Date.now(), principal: 'alice' };
      const ms = timeMs(() => {
        for (let i = 0; i < 100; i++) verifyCertificate(cert.blob, check);
      }, 9);
      out.push(`| ${label} | ${Math.round(100_000 / ms)} |`);
    }

    out.push('\n### nacre-keygen vs ssh-keygen, whole commands (ms, median of 15 runs, Node start-up included)\n');
    const key = join(dir, 'id_ed25519');
    if (sshKeygen) spawnSync(sshKeygen, ['-q', '-t', 'ed25519', '-N', '', '-f', key], { stdio: 'ignore' });
    const nacreKeygen = join(process.cwd(), 'dist/src/cli/nacre-keygen.js');
    out.push('| command | nacre-keygen | ssh-keygen | ratio |\n|---|---:|---:|---:|');
    for (const args of [['-l', '-f', key], ['-y', '-f', key]]) {
      const n = existsSync(nacreKeygen) ? commandMs(process.execPath, [nacreKeygen, ...args], 15) : null;
      const s = sshKeygen ? commandMs(sshKeygen, args, 15) : null;
      const ratio = n !== null && s !== null ? `${(n / s).toFixed(1)}×` : 'n/a';
      out.push(`| \`${args.slice(0, 1).join(' ')} -f key\` | ${n === null ? 'n/a' : n.toFixed(0)} | ${s === null ? 'n/a' : s.toFixed(1)} | ${ratio} |`);
    }
    const bare = commandMs(process.execPath, ['-e', '0'], 15);
    out.push(`\n(\`node -e 0\` alone: ${bare === null ? 'n/a' : bare.toFixed(0)} ms.)`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return out.join('\n');
}
