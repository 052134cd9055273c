/**
 * A `node --test` reporter beside the usual one: one line per missing tool, counting what was skipped for it,
 * e.g. `skipped 4 suites: varnishd with the xkey vmod is not installed — apt-get install varnish varnish-modules`.
 * A skipped suite counts as one item: its tests are never declared. The reasons are those of MISSING in
 * tools.ts, recognised by their shape. (JavaScript: reporters load before `--import tsx` applies.)
 */
const MISSING_TOOL = / is not installed — /;

export default async function* skipSummary(source) {
  const skipped = new Map();
  for await (const event of source) {
    const reason = event.type === 'test:pass' ? event.data.skip : undefined;
    if (typeof reason !== 'string' || !MISSING_TOOL.test(reason)) continue;
    const count = skipped.get(reason) ?? { suites: 0, tests: 0 };
    if (event.data.details?.type === 'suite') count.suites++;
    else count.tests++;
    skipped.set(reason, count);
  }
  for (const [reason, { suites, tests }] of skipped) {
    const parts = [plural(suites, 'suite'), plural(tests, 'test')].filter((part) => part !== '');
    yield `skipped ${parts.join(' and ')}: ${reason}\n`;
  }
}

function plural(count, noun) {
  if (count === 0) return '';
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
