import { setNativeEnvironment } from '../config/native-environment.ts';

/**
 * Imported first by the CLI, before anything can touch libuv's thread pool (which reads this variable once,
 * when it starts). Renders (sharp), file reads and writes of the caches and DNS lookups all share that pool;
 * with the default 4 threads, four long renders could make a purge's origin check or a cache read wait
 * behind them. Renders are bounded separately (`--render-concurrency`), so extra threads are for I/O.
 */
setNativeEnvironment('UV_THREADPOOL_SIZE', '16', { unlessSet: true });
