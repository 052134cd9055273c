import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import { Health } from '../../src/observability/health.ts';

/** A real pino logger whose lines are kept for the test to read. */
function recordingLogger() {
  const lines: { level: number; msg: string; condition?: string }[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { logger, lines };
}

describe('Health', () => {
  it('logs when a condition starts failing and when it recovers, never in between', () => {
    const { logger, lines } = recordingLogger();
    const health = new Health(logger);
    health.report('disk-cache', undefined);
    assert.equal(lines.length, 0, 'fine and still fine: nothing to say');
    assert.equal(health.ok, true);

    health.report('disk-cache', 'cannot write the disk cache at /d/cache: no space left on device (ENOSPC); serving without it');
    health.report('disk-cache', 'cannot write the disk cache at /d/cache: no space left on device (ENOSPC); serving without it');
    health.report('disk-cache', 'cannot write the disk cache at /d/cache: read-only file system (EROFS); serving without it');
    assert.equal(lines.length, 1);
    assert.equal(lines[0]!.level, 40, 'warn');
    assert.match(lines[0]!.msg, /no space left on device/);
    assert.equal(lines[0]!.condition, 'disk-cache');
    assert.equal(health.ok, false);
    assert.deepEqual(
      health.problems().map(({ condition, problem }) => ({ condition, problem })),
      [{ condition: 'disk-cache', problem: 'cannot write the disk cache at /d/cache: read-only file system (EROFS); serving without it' }],
      'the latest reason is kept',
    );

    health.report('disk-cache', undefined);
    health.report('disk-cache', undefined);
    assert.equal(lines.length, 2);
    assert.equal(lines[1]!.level, 30, 'info');
    assert.equal(health.ok, true);
    assert.deepEqual(health.problems(), []);
  });

  it('describes each failing condition with since when, and lists every condition for the gauge', () => {
    const { logger } = recordingLogger();
    const health = new Health(logger);
    health.report('disk-cache', undefined);
    assert.deepEqual(health.document(), { status: 'ok' });
    const before = Date.now();
    health.report('store', 'cannot write the store: disk full');
    const document = health.document();
    assert.equal(document.status, 'degraded');
    const problems = document.status === 'degraded' ? document.problems : [];
    assert.equal(problems.length, 1);
    assert.equal(problems[0]!.condition, 'store');
    assert.equal(problems[0]!.problem, 'cannot write the store: disk full');
    assert.ok(Date.parse(problems[0]!.since) >= before && problems[0]!.since.endsWith('Z'), problems[0]!.since);
    assert.deepEqual(health.conditions(), [
      { condition: 'disk-cache', failing: false },
      { condition: 'store', failing: true },
    ]);
  });
});
