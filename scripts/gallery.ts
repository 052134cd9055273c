/**
 * `npm run gallery`: renders one or more samples of every parameter family with a real Pictor on loopback
 * and writes test-output/gallery/index.html (open it from disk) with the images beside it, then compares
 * every image with its golden thumbnail (test/render/golden/), writing the diffs of those that drifted to
 * test-output/gallery-diff/. `npm run gallery -- --update` rewrites the golden thumbnails instead. Exits
 * non-zero when a response was not 200 or an image drifted, so either is noticed from the command line too.
 */
import path from 'node:path';
import { buildGallery } from './gallery/build.ts';
import { compareWithGolden, GOLDEN_DIR, updateGolden } from './gallery/golden.ts';

/** The gallery finishes well within this; past it something hangs, and the script says so and stops. */
const DEADLINE_MS = 120_000;

const outDir = path.resolve('test-output', 'gallery');
const deadline = setTimeout(() => {
  console.error(`The gallery did not finish within ${DEADLINE_MS / 1000} s; stopping.`);
  process.exit(1);
}, DEADLINE_MS);
deadline.unref();

const started = Date.now();
const { htmlFile, entries } = await buildGallery({ outDir });
const failed = entries.filter((entry) => entry.status !== 200);
console.log(`${entries.length} samples in ${((Date.now() - started) / 1000).toFixed(1)} s: ${htmlFile}`);
for (const entry of failed) console.log(`  ${entry.status || 'no response'}  ${entry.displayUrl}  ${(entry.text ?? '').split('\n')[0]!.slice(0, 160)}`);
for (const entry of entries.filter((each) => each.notApplied)) console.log(`  not applied (${entry.unsupported})  ${entry.displayUrl}`);
if (process.argv.includes('--update')) {
  console.log(`${await updateGolden(outDir, entries)} golden thumbnails written to ${GOLDEN_DIR}: review them before committing.`);
  process.exit(failed.length ? 1 : 0);
}
const diffDir = path.resolve('test-output', 'gallery-diff');
const drifted = await compareWithGolden(outDir, entries, diffDir);
for (const mismatch of drifted) console.log(`  drifted  ${mismatch.url}  ${mismatch.reason}  (${path.join(diffDir, mismatch.file)})`);
process.exit(failed.length || drifted.length ? 1 : 0);
