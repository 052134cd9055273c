/** The start every standalone bench (`npm run bench:…`, soak) shares: a time limit, a log, a fresh build. */
import { readFileSync } from 'node:fs';
import { REPO } from './pictor.ts';
import { run } from './proc.ts';

export interface BenchStart {
  log(line: string): void;
  /** The load average (1, 5, 15 min) just after the build, before anything is measured. */
  loadBefore: string;
}

/**
 * Arms the time limit (whatever happens, a server that stops answering say, the run ends by SIGTERM, which
 * stops what it started), then builds `dist/`, which the benches run.
 */
export async function startBench(name: string, limitSeconds: number): Promise<BenchStart> {
  const started = performance.now();
  const log = (line: string): void => void process.stderr.write(`[${name} ${((performance.now() - started) / 1000).toFixed(0).padStart(3)} s] ${line}\n`);
  setTimeout(() => {
    process.stderr.write(`${name}: over its time limit, stopping everything\n`);
    process.kill(process.pid, 'SIGTERM');
  }, limitSeconds * 1000).unref();
  log('npm run build…');
  const build = await run('npm', ['run', 'build'], { cwd: REPO, timeoutMs: 300_000 });
  if (build.code !== 0) throw new Error(`npm run build failed:\n${build.output}`);
  return { log, loadBefore: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' / ') };
}
