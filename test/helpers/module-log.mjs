// Preloaded with `node --import` to record every module a process loads (`PICTOR_MODULE_LOG`: the file to
// append their URLs to, one a line). The hooks run off the main thread; they write the file themselves.
import { register } from 'node:module';

register('./module-log-hooks.mjs', import.meta.url);
