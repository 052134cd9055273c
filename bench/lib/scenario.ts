/** What every scenario module receives and returns. */
import type { CapacityFigure, CapacityKey } from './report.ts';

export interface Context {
  /** Root temp dir of this run (removed at the end). */
  tmp: string;
  /** Folder served by Pictor (--assets) and ipx. */
  assets: string;
  /** 2000×1333 photographic JPEG, name inside `assets`. */
  photo: string;
  /** 7360×4912 photographic JPEG, name inside `assets`. */
  big: string;
  /** 8×8 PNG template (absolute path) to copy as fresh assets. */
  tiny: string;
  /** BENCH_QUICK=1: short rounds, for checking the instrument itself (numbers are not meaningful). */
  quick: boolean;
  /** Seconds left before the run's 10-minute limit (scenarios with adaptive sample counts use it). */
  secondsLeft: () => number;
}

export interface Verdict {
  label: string;
  value: string;
  target: string;
  /** undefined: informational, no target. */
  pass: boolean | undefined;
}

export interface ScenarioResult {
  id: string;
  title: string;
  comparedWith: string;
  verdicts: Verdict[];
  /** Markdown tables (and short lines) shown under the scenario. */
  body: string[];
  /** The figures of the report's capacity table this scenario measures. */
  capacity?: Partial<Record<CapacityKey, CapacityFigure>>;
  /** What the numbers mean, written from them ("Reading"). */
  reading: string;
  commands: string[];
  seconds: number;
  /** Share of the machine used by processes the bench did not start while the scenario ran (0–1). */
  otherShare: number;
  /** The other processes that used the most meanwhile. */
  topOthers: string;
}

export interface Scenario {
  id: string;
  title: string;
  run(context: Context): Promise<Omit<ScenarioResult, 'id' | 'title' | 'seconds' | 'otherShare' | 'topOthers'>>;
}

export function table(headers: string[], rows: (string | number)[][]): string {
  const line = (cells: (string | number)[]): string => `| ${cells.join(' | ')} |`;
  return [line(headers), line(headers.map(() => '---')), ...rows.map(line)].join('\n');
}

export const verdictText = (pass: boolean | undefined): string => (pass === undefined ? '—' : pass ? '**PASS**' : '**MISS**');
