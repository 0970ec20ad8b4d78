// The transfer progress bar of sftp(1) and scp(1), drawn as OpenSSH's
// progressmeter.c draws it: one line, redrawn in place with '\r',
//
//   name-padded-to-fit                      42%  131MB  43.6MB/s   00:04 ETA
//
// fitted to the terminal's width (the name gets what the 35 columns of
// figures leave), sizes and rates in OpenSSH's units (bytes, then KB, MB,
// GB, TB in steps of 1024; four digits of size, "123.4" of rate), the rate
// smoothed from one redraw to the next, `  --:-- ETA` while nothing is known
// yet, `- stalled -` after five seconds without a byte, and a last line with
// the whole transfer's rate and time when the file is done.
//
// The meter redraws at most about once a second (on the first update after a
// second has passed, and from a one-second tick so a stall shows), and once
// more at the end. The clock, the output and the tick are injected, so tests
// drive it with a fake clock; `createProgressMeter` wires it to a terminal,
// and gives a meter that draws nothing when the output is not a terminal or
// the tool was asked to be quiet.

/** Columns when the terminal does not say, and the most used, as OpenSSH's. */
export const DEFAULT_COLUMNS = 80;
export const MAX_COLUMNS = 512;
/** Seconds between redraws, and without progress before `- stalled -`. */
const UPDATE_INTERVAL_MS = 1000;
const STALL_SECONDS = 5;
/** Weight of the previous rate when smoothing. */
const AGE_FACTOR = 0.9;
/** Columns the figures take after the name: " 100% " + size + " " + rate + "/s " + ETA. */
const FIGURES_WIDTH = 35;

const UNITS = ' KMGT';

/** A size as OpenSSH prints it: at most four digits, then a unit ("  42 ", "9999 ", "  10KB", " 131MB"). */
export function formatSize(bytes: number): string {
  let n = Math.max(0, Math.trunc(bytes));
  let i = 0;
  while (n >= 10000 && UNITS[i] !== 'T') {
    n = Math.trunc((n + 512) / 1024);
    i++;
  }
  return `${String(n).padStart(4)}${unitSuffix(i)}`;
}

/** A rate in bytes per second as OpenSSH prints it: always in KB or more, one decimal ("  0.0KB", " 43.6MB"). */
export function formatRate(bytesPerSecond: number): string {
  // In hundredths, so rounding happens once per step as progressmeter.c does.
  let n = Math.max(0, Math.trunc(bytesPerSecond)) * 100;
  let i = 0;
  while (n >= 100 * 1000 && UNITS[i] !== 'T') {
    n = Math.trunc((n + 512) / 1024);
    i++;
  }
  if (i === 0) {
    i = 1;
    n = Math.trunc((n + 512) / 1024);
  }
  const whole = Math.trunc((n + 5) / 100);
  const tenth = Math.trunc((n + 5) / 10) % 10;
  return `${String(whole).padStart(3)}.${tenth}${unitSuffix(i)}`;
}

function unitSuffix(i: number): string {
  return i === 0 ? '  ' : `${UNITS[i] ?? '?'}B`;
}

/** "  mm:ss" or "h:mm:ss", as the ETA and the total time are shown. */
export function formatDuration(totalSeconds: number): string {
  let s = Math.max(0, Math.trunc(totalSeconds));
  const hours = Math.trunc(s / 3600);
  s -= hours * 3600;
  const minutes = Math.trunc(s / 60);
  s -= minutes * 60;
  const two = (v: number): string => String(v).padStart(2, '0');
  return hours !== 0 ? `${hours}:${two(minutes)}:${two(s)}` : `  ${two(minutes)}:${two(s)}`;
}

/**
 * The file name as shown: control characters (a newline in a name would break
 * the line) become '?', and it is cut or padded to exactly `width` characters.
 */
export function fitName(name: string, width: number): string {
  if (width <= 0) return '';
  // eslint-disable-next-line no-control-regex
  const chars = Array.from(name.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?'));
  return chars.length >= width ? chars.slice(0, width).join('') : chars.join('') + ' '.repeat(width - chars.length);
}

export interface ProgressMeterDeps {
  /** Where the line goes (a terminal). */
  write(text: string): void;
  /** The terminal's width now (asked at every redraw, so a resize is followed); undefined when unknown. */
  columns(): number | undefined;
  /** A monotonic clock in milliseconds. */
  now(): number;
  /**
   * Calls `fn` every `ms` milliseconds until the returned function is called
   * (so a stall shows while no bytes arrive). Omitted: redraws come only from
   * `update`.
   */
  every?(ms: number, fn: () => void): () => void;
}

/** What a transfer tells its progress bar; the quiet meter ignores it all. */
export interface ProgressReporter {
  /** A file starts: its displayed name, its size, and where it starts (a resumed transfer). */
  start(name: string, size: number, startPos?: number): void;
  /** Bytes of the file done so far (from the start of the file, not of this transfer). */
  update(position: number): void;
  /** The file is done (or failed): the last line, with the total time, then a newline. */
  stop(): void;
  /** Whether a file's bar is being drawn. */
  readonly active: boolean;
}

interface MeterState {
  name: string;
  size: number;
  startPos: number;
  /** Position the counter had at the last redraw. */
  lastPos: number;
  /** The latest position reported. */
  pos: number;
  startedAt: number;
  lastDrawAt: number;
  bytesPerSecond: number;
  stalledSeconds: number;
  cancelTick: (() => void) | undefined;
}

export class ProgressMeter implements ProgressReporter {
  private state: MeterState | undefined;

  constructor(private readonly deps: ProgressMeterDeps) {}

  get active(): boolean {
    return this.state !== undefined;
  }

  start(name: string, size: number, startPos = 0): void {
    if (this.state) this.stop();
    const now = this.deps.now();
    this.state = {
      name,
      size: Math.max(0, size),
      startPos,
      lastPos: startPos,
      pos: startPos,
      startedAt: now,
      lastDrawAt: now,
      bytesPerSecond: 0,
      stalledSeconds: 0,
      cancelTick: undefined,
    };
    this.draw();
    const state = this.state;
    state.cancelTick = this.deps.every?.(UPDATE_INTERVAL_MS, () => {
      if (this.state === state) this.draw();
    });
  }

  update(position: number): void {
    const s = this.state;
    if (!s) return;
    s.pos = position;
    if (this.deps.now() - s.lastDrawAt >= UPDATE_INTERVAL_MS) this.draw();
  }

  stop(): void {
    const s = this.state;
    if (!s) return;
    s.cancelTick?.();
    // The last redraw shows the whole transfer's rate and time when complete.
    this.draw();
    this.deps.write('\n');
    this.state = undefined;
  }

  /** One redraw: the rate and stall bookkeeping of progressmeter.c, then the line. */
  private draw(): void {
    const s = this.state;
    if (!s) return;
    const now = this.deps.now();
    let transferred = s.pos - s.lastPos;
    s.lastPos = s.pos;
    const bytesLeft = s.size - s.pos;
    let elapsed: number;
    if (bytesLeft > 0) {
      elapsed = (now - s.lastDrawAt) / 1000;
    } else {
      // Done: the rate and time of the whole transfer, not of the last second.
      elapsed = (now - s.startedAt) / 1000;
      transferred = s.size - s.startPos;
      s.bytesPerSecond = 0;
    }
    const currentSpeed = Math.trunc(elapsed !== 0 ? transferred / elapsed : transferred);
    s.bytesPerSecond =
      s.bytesPerSecond !== 0 ? Math.trunc(s.bytesPerSecond * AGE_FACTOR + currentSpeed * (1 - AGE_FACTOR)) : currentSpeed;
    s.stalledSeconds = transferred === 0 ? s.stalledSeconds + elapsed : 0;

    let eta: string;
    if (s.stalledSeconds >= STALL_SECONDS) eta = '- stalled -';
    else if (s.bytesPerSecond <= 0 && bytesLeft > 0) eta = '  --:-- ETA';
    else if (bytesLeft > 0) eta = formatDuration(bytesLeft / s.bytesPerSecond) + ' ETA';
    else eta = formatDuration(elapsed) + '    ';

    const percent = s.size === 0 || s.pos >= s.size ? 100 : Math.trunc((s.pos / s.size) * 100);
    const columns = Math.min(MAX_COLUMNS, this.deps.columns() || DEFAULT_COLUMNS);
    // The line stays one column short of the width, so the cursor never wraps.
    const name = fitName(s.name, columns - FIGURES_WIDTH);
    const figures = ` ${String(percent).padStart(3)}% ${formatSize(s.pos)} ${formatRate(s.bytesPerSecond)}/s ${eta}`;
    const line = Array.from(name + figures).slice(0, Math.max(0, columns - 1)).join('');
    this.deps.write('\r' + line);
    s.lastDrawAt = now;
  }
}

/** The meter of a quiet tool or of output that is not a terminal: draws nothing. */
export const QUIET_PROGRESS: ProgressReporter = {
  start() {},
  update() {},
  stop() {},
  active: false,
};

/** Where a tool's progress bar goes: a stream that may be a terminal. */
export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

/**
 * The progress bar for a tool: drawn on `stream` (standard output, as OpenSSH
 * draws it) when it is a terminal and the tool is not quiet; otherwise a
 * meter that draws nothing.
 */
export function createProgressMeter(options: { quiet: boolean; stream?: ProgressStream }): ProgressReporter {
  const stream = options.stream ?? process.stdout;
  if (options.quiet || stream.isTTY !== true) return QUIET_PROGRESS;
  return new ProgressMeter({
    write: (text) => void stream.write(text),
    columns: () => stream.columns,
    now: () => performance.now(),
    every: (ms, fn) => {
      const timer = setInterval(fn, ms);
      timer.unref();
      return () => clearInterval(timer);
    },
  });
}

/**
 * A transfer's onFile/onProgress feeding one meter, a bar per file, and a
 * `finish` to call when the transfer ends (either way) to close the last bar.
 * `displayName` turns the library's path into what is shown (scp shows the
 * last component, sftp the path). One bar is drawn at a time: progress of
 * any other file than the one the bar is for is ignored, so a tree copied
 * several files at once should be copied one file at a time while a bar is
 * drawn (the library's `parallelFiles: 1`; see `drawsProgress`).
 */
export function progressCallbacks(
  meter: ProgressReporter,
  displayName: (path: string) => string = (p) => p,
): {
  onFile(path: string, size: number): void;
  onProgress(p: { path?: string; transferred: number }): void;
  finish(): void;
} {
  // Shaped as the SFTP client's TransferOptions callbacks.
  let current: string | undefined;
  return {
    onFile: (path, size) => {
      current = path;
      meter.start(displayName(path), size);
    },
    onProgress: (p) => {
      if (p.path === undefined || p.path === current) meter.update(p.transferred);
    },
    finish: () => {
      current = undefined;
      meter.stop();
    },
  };
}

/** Whether a meter draws anything (so a transfer should go one file at a time for it). */
export function drawsProgress(meter: ProgressReporter): boolean {
  return meter !== QUIET_PROGRESS;
}

/**
 * The name a bar shows for a path, as OpenSSH's progress_meter_path: the last
 * component, or the whole path when it ends in '/' or has none.
 */
export function progressName(path: string): string {
  const slash = path.lastIndexOf('/');
  if (slash < 0 || slash === path.length - 1) return path;
  return path.slice(slash + 1);
}
