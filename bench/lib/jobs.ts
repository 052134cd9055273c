/** Derivative URL pools: the same shuffled sequence of (width, format) for every contender. */
import { writeFileSync } from 'node:fs';
import { mulberry32 } from './images.ts';

export type Format = 'jpg' | 'webp' | 'avif';

export interface Job {
  w: number;
  fm: Format;
  q: number;
}

/**
 * Every width in [minW, maxW] once per format, shuffled (seeded), formats in turn (equal shares at any
 * prefix), all at quality q: distinct derivative URLs, as a srcset over many widths would ask for.
 */
export function coldJobs(minW: number, maxW: number, formats: readonly Format[], q: number, seed = 42): Job[] {
  const random = mulberry32(seed);
  const widths = formats.map(() => shuffle(range(minW, maxW), random));
  const jobs: Job[] = [];
  for (let i = 0; i < widths[0]!.length; i++) {
    formats.forEach((fm, f) => jobs.push({ w: widths[f]![i]!, fm, q }));
  }
  return jobs;
}

export const pictorPath = (file: string, job: Job): string => `/${file}?w=${job.w}&fm=${job.fm}&q=${job.q}`;
export const ipxPath = (file: string, job: Job): string => `/w_${job.w},f_${job.fm === 'jpg' ? 'jpeg' : job.fm},q_${job.q}/${file}`;

export function writeLines(file: string, lines: string[]): string {
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

function shuffle<T>(values: T[], random: () => number): T[] {
  for (let i = values.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [values[i], values[j]] = [values[j]!, values[i]!];
  }
  return values;
}
