// The progress bar shared by nacre-sftp and nacre-scp: OpenSSH's units and
// line layout, the redraw rate, the smoothed rate and ETA, stalls, the last
// line with the total time, and silence off a terminal or with -q. Driven by
// a fake clock and a fake tick; nothing here waits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  formatSize,
  formatRate,
  formatDuration,
  fitName,
  ProgressMeter,
  createProgressMeter,
  progressCallbacks,
  QUIET_PROGRESS,
  progressName,
  drawsProgress,
} from '../../src/cli/common/progress.js';

function fakeMeter(columns: number | undefined = 80) {
  const clock = { t: 10_000 };
  const writes: string[] = [];
  const ticks: Array<() => void> = [];
  let cancelled = 0;
  const meter = new ProgressMeter({
    write: (text) => void writes.push(text),
    columns: () => columns,
    now: () => clock.t,
    every: (ms, fn) => {
      assert.equal(ms, 1000);
      ticks.push(fn);
      return () => void cancelled++;
    },
  });
  return {
    meter,
    writes,
    clock,
    tick: () => ticks.at(-1)?.(),
    cancelled: () => cancelled,
    /** The last line drawn, without its leading '\r'. */
    last: () => {
      const bars = writes.filter((w) => w.startsWith('\r'));
      return (bars.at(-1) ?? '').slice(1);
    },
  };
}

test('formatSize: four digits at most, then KB/MB/GB/TB in steps of 1024, rounded', () => {
  assert.equal(formatSize(0), '   0  ');
  assert.equal(formatSize(42), '  42  ');
  assert.equal(formatSize(9999), '9999  ');
  assert.equal(formatSize(10000), '  10KB');
  assert.equal(formatSize(1024 * 1024), '1024KB');
  assert.equal(formatSize(10 * 1024 * 1024), '  10MB');
  assert.equal(formatSize(137_363_456), ' 131MB');
  assert.equal(formatSize(5 * 1024 ** 3), '5120MB');
  assert.equal(formatSize(200 * 1024 ** 3), ' 200GB');
  // TB is the last unit: the number grows instead.
  assert.equal(formatSize(20000 * 1024 ** 4), '20000TB');
  for (const n of [0, 1, 999, 123_456, 98_765_432, 1e12]) assert.equal(formatSize(n).length, 6, String(n));
});

test('formatRate: always KB or more, one decimal, as progressmeter.c rounds', () => {
  assert.equal(formatRate(0), '  0.0KB');
  assert.equal(formatRate(512), '  0.5KB');
  assert.equal(formatRate(1024), '  1.0KB');
  assert.equal(formatRate(999 * 1024), '999.0KB');
  assert.equal(formatRate(1000 * 1024), '  1.0MB');
  assert.equal(formatRate(43.6 * 1024 * 1024), ' 43.6MB');
  assert.equal(formatRate(1.5 * 1024 ** 3), '  1.5GB');
  for (const n of [0, 1, 5000, 1e6, 1e9]) assert.equal(formatRate(n).length, 7, String(n));
});

test('formatDuration: mm:ss under an hour, h:mm:ss past it', () => {
  assert.equal(formatDuration(0), '  00:00');
  assert.equal(formatDuration(4.9), '  00:04');
  assert.equal(formatDuration(61), '  01:01');
  assert.equal(formatDuration(3599), '  59:59');
  assert.equal(formatDuration(3600 + 62), '1:01:02');
});

test('fitName: padded or cut to the width; control characters shown as ?', () => {
  assert.equal(fitName('abc', 6), 'abc   ');
  assert.equal(fitName('abcdefgh', 4), 'abcd');
  assert.equal(fitName('a\nb\tc', 5), 'a?b?c');
  assert.equal(fitName('été', 4), 'été ');
  assert.equal(fitName('x', 0), '');
  assert.equal(fitName('x', -3), '');
});

test('the line: name, percent, size, rate, ETA, one column short of the terminal', () => {
  const m = fakeMeter(80);
  m.meter.start('big.iso', 10 * 1024 * 1024);
  // The first line: nothing known yet.
  assert.equal(m.last(), 'big.iso'.padEnd(45) + '   0%    0     0.0KB/s   --:-- ETA');
  assert.equal(m.last().length, 79);
  m.clock.t += 1000;
  m.meter.update(1024 * 1024);
  assert.equal(m.last(), 'big.iso'.padEnd(45) + '  10% 1024KB   1.0MB/s   00:09 ETA');
  m.clock.t += 1000;
  m.meter.update(3 * 1024 * 1024);
  // The rate is smoothed: 0.9 of the last plus 0.1 of this second's 2 MB/s.
  assert.match(m.last(), /  30% 3072KB   1\.1MB\/s   00:06 ETA$/);
  m.clock.t += 500;
  m.meter.update(10 * 1024 * 1024);
  m.meter.stop();
  // The last line: the whole transfer's rate and time, no ETA; then a newline.
  assert.equal(m.last(), 'big.iso'.padEnd(45) + ' 100%   10MB   4.0MB/s   00:02    ');
  assert.equal(m.writes.at(-1), '\n');
  assert.equal(m.cancelled(), 1);
  assert.equal(m.meter.active, false);
});

test('the line follows the width: a long name is cut, a wide terminal gives it room, unknown is 80', () => {
  const name = 'n'.repeat(300);
  for (const [cols, width] of [[120, 119], [40, 39], [undefined, 79], [1000, 511]] as const) {
    const m = fakeMeter(cols);
    m.meter.start(name, 100);
    assert.equal(m.last().length, width, `columns ${cols}`);
    assert.match(m.last(), /   0%    0     0\.0KB\/s   --:-- ETA$/);
  }
  // Narrower than the figures: no name, the figures cut at the edge.
  const narrow = fakeMeter(20);
  narrow.meter.start('x', 100);
  assert.equal(narrow.last(), '   0%    0     0.0K');
  assert.equal(narrow.last().length, 19);
});

test('redraws at most once a second from updates; the tick redraws during a stall', () => {
  const m = fakeMeter();
  m.meter.start('f', 1000);
  const drawn = () => m.writes.filter((w) => w.startsWith('\r')).length;
  assert.equal(drawn(), 1);
  for (let i = 1; i <= 9; i++) {
    m.clock.t += 100;
    m.meter.update(i * 10);
  }
  assert.equal(drawn(), 1, 'no redraw within the second');
  m.clock.t += 100;
  m.meter.update(100);
  assert.equal(drawn(), 2);
  assert.match(m.last(), /  10%  100     0\.1KB\/s   00:09 ETA$/);
  // No bytes for a while: the ticks redraw; the ETA holds until five seconds, then "- stalled -".
  for (let i = 1; i <= 4; i++) {
    m.clock.t += 1000;
    m.tick();
    assert.doesNotMatch(m.last(), /stalled/, `after ${i}s`);
  }
  m.clock.t += 1000;
  m.tick();
  assert.match(m.last(), /  10%  100     0\.\dKB\/s - stalled -$/);
  // Bytes again: the stall is over.
  m.clock.t += 1000;
  m.meter.update(600);
  assert.match(m.last(), /  60%  600 .* ETA$/);
});

test('a zero-byte file, a resumed transfer, and a failed one', () => {
  const empty = fakeMeter();
  empty.meter.start('empty', 0);
  empty.meter.stop();
  assert.match(empty.last(), /^empty {40} 100%    0     0\.0KB\/s   00:00    $/);

  // Resumed at 900 of 1000: the rate counts only what this run moved.
  const resumed = fakeMeter();
  resumed.meter.start('part', 1000, 900);
  assert.match(resumed.last(), /  90%  900 /);
  resumed.clock.t += 2000;
  resumed.meter.update(1000);
  resumed.meter.stop();
  assert.match(resumed.last(), / 100% 1000     0\.1KB\/s   00:02    $/);

  // Stopped short (an error): the line stays where it got to, then the newline.
  const failed = fakeMeter();
  failed.meter.start('broken', 1000);
  failed.clock.t += 1000;
  failed.meter.update(400);
  failed.meter.stop();
  assert.match(failed.last(), /  40%  400 /);
  assert.equal(failed.writes.at(-1), '\n');
  // stop and update without a file do nothing.
  const before = failed.writes.length;
  failed.meter.stop();
  failed.meter.update(5);
  assert.equal(failed.writes.length, before);
});

test('a new file closes the previous bar; a late tick from it draws nothing', () => {
  const m = fakeMeter();
  m.meter.start('one', 10);
  const oneTick = m.tick;
  const firstTicks = [m.writes.length];
  m.meter.start('two', 10);
  assert.equal(m.cancelled(), 1);
  assert.ok(m.writes.includes('\n'));
  assert.match(m.last(), /^two /);
  assert.ok(firstTicks[0]! < m.writes.length);
  oneTick();
  assert.match(m.last(), /^two /);
});

test('progressCallbacks: one bar per file of a transfer, names shown as asked', () => {
  const m = fakeMeter();
  const cb = progressCallbacks(m.meter, (p) => p.split('/').at(-1) ?? p);
  cb.onFile('/remote/dir/a.txt', 5);
  m.clock.t += 1000;
  cb.onProgress({ transferred: 5 });
  cb.onFile('/remote/dir/b.txt', 0);
  cb.finish();
  const lines = m.writes.filter((w) => w.startsWith('\r')).map((w) => w.slice(1, 6));
  assert.ok(lines.includes('a.txt'));
  assert.equal(lines.at(-1), 'b.txt');
  assert.equal(m.writes.filter((w) => w === '\n').length, 2);
  cb.finish();
  assert.equal(m.writes.filter((w) => w === '\n').length, 2);
});

test('createProgressMeter: quiet off a terminal or with -q; draws on a terminal', () => {
  const out: string[] = [];
  const tty = { isTTY: true, columns: 60, write: (t: string) => out.push(t) };
  assert.equal(createProgressMeter({ quiet: true, stream: tty }), QUIET_PROGRESS);
  assert.equal(createProgressMeter({ quiet: false, stream: { write: (t: string) => out.push(t) } }), QUIET_PROGRESS);
  assert.equal(createProgressMeter({ quiet: false, stream: { isTTY: false, write: (t: string) => out.push(t) } }), QUIET_PROGRESS);
  QUIET_PROGRESS.start('x', 1);
  QUIET_PROGRESS.update(1);
  QUIET_PROGRESS.stop();
  assert.equal(out.length, 0);
  const meter = createProgressMeter({ quiet: false, stream: tty });
  meter.start('file', 3);
  meter.update(3);
  meter.stop();
  assert.equal(out[0]!.length, 60);
  assert.equal(out.at(-1), '\n');
});

test('progressName: the last component, as progress_meter_path', () => {
  assert.equal(progressName('/remote/dir/a.txt'), 'a.txt');
  assert.equal(progressName('a.txt'), 'a.txt');
  assert.equal(progressName('dir/'), 'dir/');
  assert.equal(progressName('/'), '/');
});

test('progressCallbacks: progress of a file other than the one drawn is ignored; drawsProgress', () => {
  const m = fakeMeter();
  const cb = progressCallbacks(m.meter);
  cb.onFile('a', 100);
  m.clock.t += 1000;
  cb.onProgress({ path: 'b', transferred: 90 });
  assert.match(m.last(), /^a .*   0%/);
  cb.onProgress({ path: 'a', transferred: 50 });
  assert.match(m.last(), /^a .*  50%/);
  cb.finish();
  assert.equal(drawsProgress(m.meter), true);
  assert.equal(drawsProgress(QUIET_PROGRESS), false);
});
