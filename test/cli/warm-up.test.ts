/**
 * The CLI's first module leaves `process.nextTick` compiled past V8's interpreter before any other module runs
 * (src/cli/warm-up.ts says why). Checked with V8's own report of the function's state, in a fresh process.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';

/** V8's OptimizationStatus bit for "runs in the interpreter" (src/runtime/runtime.h). */
const INTERPRETED = 1 << 7;

function nextTickStatus(prelude: string): number {
  const script = `${prelude}
await new Promise((resolve) => setTimeout(resolve, 50));
console.log(new Function('f', 'return %GetOptimizationStatus(f)')(process.nextTick));`;
  const output = execFileSync(process.execPath, ['--allow-natives-syntax', '--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
  return Number(output.trim());
}

describe('CLI start-up warm-up', () => {
  it('leaves process.nextTick compiled; without it, the function is still interpreted at that point', () => {
    const warmed = nextTickStatus("await import('./src/cli/warm-up.ts');");
    const cold = nextTickStatus('');
    assert.equal(warmed & INTERPRETED, 0, `status ${warmed}`);
    assert.notEqual(cold & INTERPRETED, 0, `status ${cold}`);
  });

  it('is the first module the CLI imports', () => {
    const firstLine = readFileSync('src/cli/index.ts', 'utf8').split('\n')[0];
    assert.equal(firstLine, "import './warm-up.ts';");
  });
});
