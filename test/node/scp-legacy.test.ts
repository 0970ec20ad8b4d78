// scp -O's client side against a scripted far end: the control lines sent
// for files, trees and -p; the lines parsed on receipt; and a hostile sender
// (names with '/', '.', '..', names not asked for, bad modes and sizes,
// truncated data) refused as scp refuses it, never writing outside the
// target.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync, utimesSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { ByteReader } from '../../src/cli/scp/byte-reader.js';
import { LegacySender, braceExpand, legacyCommand, parseEntry, parseTimes, receiveFiles, type LegacyContext, type LegacyProcess } from '../../src/cli/scp/legacy.js';
import { CliExit } from '../../src/cli/common/exit.js';
import { pathFromBytes } from '../../src/wire/path-bytes.js';
import { QUIET_PROGRESS } from '../../src/cli/common/progress.js';

/** A far end: what we write arrives on `sent`; `reply` feeds what we read. */
function farEnd() {
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const sent: Buffer[] = [];
  stdin.on('data', (c: Buffer) => sent.push(c));
  const proc: LegacyProcess = { stdin, stdout, stderr, exit: Promise.resolve({ code: 0 }), close: () => stdout.destroy() };
  return {
    proc,
    reply: (data: string | Buffer) => stdout.write(data),
    end: () => stdout.end(),
    sent: () => Buffer.concat(sent),
  };
}

function context(over: Partial<LegacyContext> = {}): LegacyContext & { errors: number; err: string } {
  const c = {
    recursive: false,
    preserve: false,
    trustNames: false,
    progress: QUIET_PROGRESS,
    errors: 0,
    err: '',
    stderr: (t: string) => void (c.err += t),
    countError: () => void c.errors++,
    ...over,
  };
  return c;
}

function withDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'nacre-scp-legacy-'));
  return fn(dir).finally(() => rmSync(dir, { recursive: true, force: true }));
}

/** A sender that answers every line and file with 0, and counts them. */
function agreeableSink() {
  const f = farEnd();
  f.reply(Buffer.from([0])); // the initial answer
  let pending = Buffer.alloc(0);
  let expectBytes = 0;
  f.proc.stdin.removeAllListeners('data');
  const lines: string[] = [];
  const files: Buffer[] = [];
  let data: Buffer[] = [];
  f.proc.stdin.on('data', (c: Buffer) => {
    pending = Buffer.concat([pending, c]);
    for (;;) {
      if (expectBytes > 0) {
        const take = Math.min(expectBytes, pending.length);
        if (take === 0) return;
        data.push(pending.subarray(0, take));
        pending = pending.subarray(take);
        expectBytes -= take;
        if (expectBytes > 0) return;
        continue;
      }
      if (expectBytes === 0 && data.length > 0 && pending.length > 0 && pending[0] === 0) {
        files.push(Buffer.concat(data));
        data = [];
        pending = pending.subarray(1);
        f.reply(Buffer.from([0]));
        continue;
      }
      const nl = pending.indexOf(0x0a);
      if (nl < 0) return;
      // One character a byte: names that are not UTF-8 compare exactly.
      const line = pending.subarray(0, nl).toString('latin1');
      pending = pending.subarray(nl + 1);
      lines.push(line);
      f.reply(Buffer.from([0]));
      if (line.startsWith('C')) {
        expectBytes = Number(line.split(' ')[1]);
        if (expectBytes === 0) data = [Buffer.alloc(0)];
      }
    }
  });
  return { ...f, lines, files };
}

test('legacyCommand: scp -t/-f with the flags passed on, -- before a path starting with -', () => {
  const o = { verbose: false, recursive: true, preserve: true, targetShouldBeDirectory: true };
  assert.equal(legacyCommand('t', '/tmp/x', o), 'scp -r -p -d -t /tmp/x');
  assert.equal(legacyCommand('f', '-odd', { ...o, verbose: true, recursive: false, preserve: false, targetShouldBeDirectory: false }), 'scp -v -f -- -odd');
});

test('sending: C lines with mode, size and name, then the bytes and a 0; T lines with -p; D ... E for trees', () =>
  withDir(async (dir) => {
    writeFileSync(join(dir, 'a.txt'), 'hello');
    utimesSync(join(dir, 'a.txt'), 1000, 2000);
    mkdirSync(join(dir, 't'));
    writeFileSync(join(dir, 't', 'inner'), '');
    const sink = agreeableSink();
    const paced: number[] = [];
    const ctx = context({ recursive: true, preserve: true, pace: () => async (n) => void paced.push(n) });
    const sender = await LegacySender.start(sink.proc, ctx);
    assert.ok(sender);
    await sender.send(join(dir, 'a.txt'));
    await sender.send(join(dir, 't') + '/');
    const mode = (statSync(join(dir, 'a.txt')).mode & 0o7777).toString(8).padStart(4, '0');
    const dmode = (statSync(join(dir, 't')).mode & 0o7777).toString(8).padStart(4, '0');
    assert.equal(sink.lines[0], 'T2000 0 1000 0');
    assert.equal(sink.lines[1], `C${mode} 5 a.txt`);
    assert.match(sink.lines[2]!, /^T\d+ 0 \d+ 0$/);
    assert.equal(sink.lines[3], `D${dmode} 0 t`);
    assert.match(sink.lines[4]!, /^T/);
    assert.match(sink.lines[5]!, /^C\d{4} 0 inner$/);
    assert.equal(sink.lines[6], 'E');
    assert.deepEqual(sink.files.map((b) => b.toString()), ['hello', '']);
    assert.deepEqual(paced, [5], '-l paces each file from its start');
    assert.equal(ctx.errors, 0);
  }));

test('sending: a missing file and a directory without -r are reported to both ends and counted', () =>
  withDir(async (dir) => {
    const f = farEnd();
    f.reply(Buffer.from([0]));
    const ctx = context();
    const sender = (await LegacySender.start(f.proc, ctx))!;
    await sender.send(join(dir, 'nope'));
    await sender.send(dir);
    assert.equal(ctx.errors, 2);
    assert.equal(ctx.err, `${join(dir, 'nope')}: No such file or directory\n${dir}: not a regular file\n`);
    assert.equal(f.sent().toString(), `\x01scp: ${join(dir, 'nope')}: No such file or directory\n\x01scp: ${dir}: not a regular file\n`);
  }));

test('sending: an error answer is printed and counted; a fatal one (2) ends the run', async () => {
  const f = farEnd();
  f.reply('\x01scp: /t: Permission denied\n');
  const ctx = context();
  assert.equal(await LegacySender.start(f.proc, ctx), null);
  assert.equal(ctx.err, 'scp: /t: Permission denied\n');
  assert.equal(ctx.errors, 1);
  const g = farEnd();
  g.reply('\x02fatal\n');
  await assert.rejects(LegacySender.start(g.proc, context()), (e: unknown) => e instanceof CliExit && e.code === 1);
  const h = farEnd();
  h.end();
  await assert.rejects(LegacySender.start(h.proc, context()), /lost connection/);
  // An answer whose first byte is neither 0, 1 nor 2 is the message itself, decoded as a whole.
  const k = farEnd();
  k.reply(Buffer.from('\xc3\xa9chec\n', 'latin1'));
  const kctx = context();
  assert.equal(await LegacySender.start(k.proc, kctx), null);
  assert.equal(kctx.err, 'échec\n');
});

test('receiving: files into a directory or to a name, with -p times and modes; trees with -r', () =>
  withDir(async (dir) => {
    const f = farEnd();
    f.reply('T1234567890 0 1234567000 0\nC0640 5 x.txt\nhello\0');
    f.reply('C0600 3 y.txt\nabc\0');
    f.end();
    const ctx = context({ preserve: true, trustNames: true });
    await receiveFiles(f.proc, dir, '*.txt', ctx);
    assert.equal(readFileSync(join(dir, 'x.txt'), 'utf8'), 'hello');
    assert.equal(statSync(join(dir, 'x.txt')).mode & 0o777, 0o640);
    assert.equal(Math.floor(statSync(join(dir, 'x.txt')).mtimeMs / 1000), 1234567890);
    assert.equal(readFileSync(join(dir, 'y.txt'), 'utf8'), 'abc');
    // Our answers: a 0 to start, for the T line, for each C line, and after each file.
    assert.deepEqual([...f.sent()], [0, 0, 0, 0, 0, 0]);
    assert.equal(ctx.errors, 0);

    const t = farEnd();
    t.reply('D0755 0 tree\nC0644 2 a\nAA\0D0700 0 sub\nC0644 0 empty\n\0E\nE\n');
    t.end();
    await receiveFiles(t.proc, dir, 'tree', context({ recursive: true }));
    assert.equal(readFileSync(join(dir, 'tree', 'a'), 'utf8'), 'AA');
    assert.equal(readFileSync(join(dir, 'tree', 'sub', 'empty'), 'utf8'), '');
    // To a name that is not a directory: the file becomes it.
    const n = farEnd();
    n.reply('C0644 2 whatever\nZZ\0');
    n.end();
    await receiveFiles(n.proc, join(dir, 'named'), 'whatever', context());
    assert.equal(readFileSync(join(dir, 'named'), 'utf8'), 'ZZ');
    // An existing longer file is cut to the new size.
    writeFileSync(join(dir, 'long'), 'x'.repeat(100));
    const c = farEnd();
    c.reply('C0644 1 long\nY\0');
    c.end();
    await receiveFiles(c.proc, join(dir, 'long'), 'long', context());
    assert.equal(readFileSync(join(dir, 'long'), 'utf8'), 'Y');
  }));

test('receiving: the far end\'s errors are printed and counted; the run goes on', () =>
  withDir(async (dir) => {
    const f = farEnd();
    f.reply('\x01scp: /nope: No such file or directory\nC0644 1 ok\nK\0');
    f.end();
    const ctx = context({ trustNames: true });
    await receiveFiles(f.proc, dir, 'x', ctx);
    assert.equal(ctx.err, 'scp: /nope: No such file or directory\n');
    assert.equal(ctx.errors, 1);
    assert.equal(readFileSync(join(dir, 'ok'), 'utf8'), 'K');
  }));

test('names that are not UTF-8: sent and received as their bytes, the far end\'s messages kept with theirs', () =>
  withDir(async (dir) => {
    // Sending: a tree `d\xfe` holding `x\xff`, named as pathFromBytes carries them.
    const tree = Buffer.from(`${dir}/d\xfe`, 'latin1');
    mkdirSync(tree);
    writeFileSync(Buffer.concat([tree, Buffer.from('/x\xff', 'latin1')]), 'odd');
    const sink = agreeableSink();
    const ctx = context({ recursive: true });
    const sender = (await LegacySender.start(sink.proc, ctx))!;
    await sender.send(pathFromBytes(tree));
    assert.deepEqual(
      sink.lines.map((l) => l.replace(/^([CD])\d{4}/, '$1MODE')),
      ['DMODE 0 d\xfe', 'CMODE 3 x\xff', 'E'],
    );
    assert.deepEqual(sink.files.map(String), ['odd']);
    // A missing one: reported with its bytes to the far end, escaped here (shown as \375 by the tool).
    await sender.send(pathFromBytes(Buffer.from(`${dir}/gone\xfd`, 'latin1')));
    assert.equal(ctx.err, `${dir}/gone\udcfd: No such file or directory\n`);

    // Receiving: the names' bytes become the files' names; a name asked for as bytes matches them.
    const into = join(dir, 'in');
    mkdirSync(into);
    const f = farEnd();
    f.reply(Buffer.from('\x01scp: nope\xfe: No such file or directory\nC0644 2 caf\xe9\nAB\0', 'latin1'));
    f.end();
    const rctx = context();
    await receiveFiles(f.proc, into, pathFromBytes(Buffer.from('/r/caf\xe9', 'latin1')), rctx);
    assert.deepEqual((readdirSync(into, { encoding: 'buffer' }) as Buffer[]).map((n) => n.toString('latin1')), ['caf\xe9']);
    assert.equal(rctx.err, 'scp: nope\udcfe: No such file or directory\n');
    // One that does not match the bytes asked for is refused.
    const g = farEnd();
    g.reply(Buffer.from('C0644 2 caf\xe8\nAB\0', 'latin1'));
    g.end();
    await assert.rejects(receiveFiles(g.proc, into, pathFromBytes(Buffer.from('caf\xe9', 'latin1')), context()), /filename does not match request/);
  }));

test('receiving from a hostile sender: bad names, names not asked for, bad lines end the run; nothing written outside', () =>
  withDir(async (dir) => {
    const target = join(dir, 'in');
    mkdirSync(target);
    const cases: [string, RegExp, Partial<LegacyContext>?, string?][] = [
      ['C0644 1 ../evil\nX\0', /^error: unexpected filename: \.\.\/evil$/],
      ['C0644 1 ..\nX\0', /^error: unexpected filename: \.\.$/],
      ['C0644 1 .\nX\0', /^error: unexpected filename: \.$/],
      ['C0644 1 a/b\nX\0', /^error: unexpected filename: a\/b$/],
      ['C0644 1 \nX\0', /^error: unexpected filename: $/],
      ['C0644 1 other.txt\nX\0', /^protocol error: filename does not match request$/, {}, 'wanted.txt'],
      ['C0644 1 b.log\nX\0', /^protocol error: filename does not match request$/, {}, '{a,c}.log'],
      ['D0755 0 dir\nE\n', /^protocol error: received directory without -r$/, { trustNames: true }],
      ['C9999 1 x\nX\0', /^protocol error: bad mode$/],
      ['C0644x1 x\n', /^protocol error: mode not delimited$/],
      ['C0644 x\n', /^protocol error: size not present$/],
      ['C0644 99999999999999999999 x\n', /^protocol error: size out of range$/],
      ['Tabc\n', /^protocol error: mtime.sec not present$/],
      ['\n', /^protocol error: unexpected <newline>$/],
      ['Q junk\n', /^Q junk$/],
      ['C0644 1 x\nX\0Q junk\n', /^protocol error: expected control record$/, { trustNames: true }],
      ['C0644 10 x\nshort', /^lost connection$/, { trustNames: true }],
      ['\x02fatal error\n', /^$/],
    ];
    for (const [script, expected, over, requested] of cases) {
      const f = farEnd();
      f.reply(script);
      f.end();
      await assert.rejects(receiveFiles(f.proc, target, requested ?? 'x', context(over)), (e: unknown) => {
        assert.ok(e instanceof CliExit, String(e));
        assert.equal(e.code, 1);
        assert.match(e.message, expected, JSON.stringify(script));
        return true;
      });
    }
    assert.deepEqual(readdirSync(dir).sort(), ['in']);
    assert.ok(!existsSync(join(dir, 'evil')));
    // What was asked for matches through wildcards and braces.
    const ok = farEnd();
    ok.reply('C0644 1 b.log\nX\0');
    ok.end();
    await receiveFiles(ok.proc, target, '/var/{a,b}.log', context());
    assert.ok(existsSync(join(target, 'b.log')));
  }));

test('parsers: control lines, times, brace expansion; random lines never throw anything but a message', () => {
  assert.deepEqual(parseEntry('C0644 12 name with spaces'), { kind: 'C', mode: 0o644, size: 12, name: 'name with spaces' });
  assert.deepEqual(parseEntry('D0755 0 d'), { kind: 'D', mode: 0o755, size: 0, name: 'd' });
  assert.deepEqual(parseTimes('T1 0 2 0'), { mtime: 1, atime: 2 });
  assert.equal(parseTimes('T1 1000000 2 0'), 'mtime.usec not delimited');
  assert.deepEqual(braceExpand('a{b,c{d,e}}f'), ['abf', 'acdf', 'acef']);
  assert.deepEqual(braceExpand('plain'), ['plain']);
  assert.deepEqual(braceExpand('x{a'), ['x{a']);
  let seed = 7;
  const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  const alphabet = 'CDT0123456789 \n/.x';
  for (let i = 0; i < 5000; i++) {
    const line = Array.from({ length: Math.floor(rand() * 20) }, () => alphabet[Math.floor(rand() * alphabet.length)]).join('');
    const e = parseEntry(line);
    assert.ok(typeof e === 'string' || (Number.isSafeInteger(e.size) && e.mode <= 0o7777), line);
    const t = parseTimes(line);
    assert.ok(typeof t === 'string' || (Number.isFinite(t.mtime) && Number.isFinite(t.atime)));
  }
});

test('ByteReader: bytes, lines, counted runs across chunk boundaries; the end', async () => {
  const s = new PassThrough();
  const r = new ByteReader(s);
  s.write('ab');
  s.write('c\nde');
  s.end('f');
  assert.equal(await r.byte(), 0x61);
  assert.equal(await r.line(), 'bc\n');
  assert.equal((await r.some(10))!.toString(), 'de');
  assert.equal((await r.some(10))!.toString(), 'f');
  assert.equal(await r.some(1), null);
  assert.equal(await r.line(), null);
  // A line is cut at scp's buffer size.
  const long = new PassThrough();
  const lr = new ByteReader(long);
  long.end('x'.repeat(5000) + '\n');
  assert.equal((await lr.line())!.length, 2047);
});

test('LegacyCopies: a broken exchange closes the remote scp; its failing exit counts when nothing else did', () =>
  withDir(async (dir) => {
    const { LegacyCopies } = await import('../../src/cli/scp/legacy-copy.js');
    const { parseScpArgs } = await import('../../src/cli/scp/args.js');
    const spawned: { command: string; closed: boolean }[] = [];
    let script = '';
    let exitCode = 0;
    let errors = 0;
    let stderr = '';
    const copies = new LegacyCopies(
      parseScpArgs(['-O', 'h:x', dir]),
      {
        spawn: async (_op, command) => {
          const f = farEnd();
          const rec = { command, closed: false };
          spawned.push(rec);
          f.reply(script);
          f.end();
          (f.proc.stderr as PassThrough).end('remote says hi\n');
          return { ...f.proc, exit: Promise.resolve({ code: exitCode }), close: () => void (rec.closed = true) };
        },
        stderr: (t) => void (stderr += t),
        progress: QUIET_PROGRESS,
      },
      () => void errors++,
      () => errors,
    );
    script = 'C0644 1 ../x\nX\0';
    await assert.rejects(copies.download({ kind: 'remote', host: 'h', path: 'x' }, dir), /unexpected filename/);
    assert.deepEqual(spawned, [{ command: 'scp -f x', closed: true }]);
    script = 'C0644 1 x\nX\0';
    exitCode = 1;
    await copies.download({ kind: 'remote', host: 'h', path: 'x' }, dir);
    assert.equal(errors, 1, 'the failing exit counts');
    assert.equal(spawned[1]!.closed, false);
    assert.match(stderr, /remote says hi/);
  }));

test('LegacyCopies: a remote scp that could not start (exec refused) ends as scp\'s does: lost connection up, status 1 down', () =>
  withDir(async (dir) => {
    const { LegacyCopies } = await import('../../src/cli/scp/legacy-copy.js');
    const { parseScpArgs } = await import('../../src/cli/scp/args.js');
    const { failedProcess } = await import('../../src/cli/scp/legacy.js');
    let errors = 0;
    let stderr = '';
    const copies = new LegacyCopies(
      parseScpArgs(['-O', 'h:x', dir]),
      { spawn: async () => failedProcess('exec request failed on channel 0'), stderr: (t) => void (stderr += t), progress: QUIET_PROGRESS },
      () => void errors++,
      () => errors,
    );
    await copies.download({ kind: 'remote', host: 'h', path: 'x' }, dir);
    assert.equal(errors, 1);
    assert.deepEqual(readdirSync(dir), []);
    writeFileSync(join(dir, 'f'), 'f');
    await assert.rejects(copies.upload({ kind: 'remote', host: 'h', path: '/t' }, join(dir, 'f')), (e: unknown) => e instanceof CliExit && e.code === 1 && e.message === 'lost connection');
    assert.equal(stderr, 'exec request failed on channel 0\nexec request failed on channel 0\n');
  }));

test('receiving fuzzed streams: only CliExit comes out, nothing lands outside the target', () =>
  withDir(async (dir) => {
    const target = join(dir, 'in');
    mkdirSync(target);
    let seed = 99;
    const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    const pieces = ['C0644 ', 'D0755 0 ', 'T1 0 2 0\n', 'E\n', '\x01oops\n', '3 ', '0 ', 'x', '..', '/', '\n', '\0', 'abc', '\x02', 'C0644 2 f\nzz\0'];
    for (let i = 0; i < 300; i++) {
      const script = Array.from({ length: 1 + Math.floor(rand() * 8) }, () => pieces[Math.floor(rand() * pieces.length)]).join('');
      const f = farEnd();
      f.reply(script);
      f.end();
      const ctx = context({ recursive: rand() < 0.5, trustNames: rand() < 0.5 });
      try {
        await receiveFiles(f.proc, target, 'x', ctx);
      } catch (err) {
        assert.ok(err instanceof CliExit, `${JSON.stringify(script)}: ${String(err)}`);
      }
    }
    assert.deepEqual(readdirSync(dir), ['in']);
  }));
