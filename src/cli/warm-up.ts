/**
 * Imported first by the CLI, before any other module runs. It calls `process.nextTick` enough times for V8
 * to optimise it now, while every call it has seen is the same simple one.
 *
 * Why: node:http calls `process.nextTick` several times for every request. When V8 optimises it later, after
 * the varied calls of a server's start-up (streams, fs, timers, the stores), it compiles it, in some processes
 * and not others, with the object literal inside it left to a slow runtime path: about 200 ns per call instead
 * of 40, which made a cache hit cost a fifth more CPU in those processes (BENCHMARKS.md, *Cache hit*). Warmed
 * here, every process got the fast code; the queued calls do nothing and cost a few milliseconds once.
 */
const CALLS = 20_000;
const nothing = (): void => {};
for (let i = 0; i < CALLS; i++) process.nextTick(nothing);
