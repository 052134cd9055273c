/**
 * Writes the ICC profiles of `cs=adobergb1998` and `cs=tinysrgb` into vendor/icc/ from their definitions in
 * src/render/icc-profiles.ts. Run it after changing a definition: `node --import tsx scripts/make-icc-profiles.ts`.
 */
import fs from 'node:fs';
import { ADOBE_RGB_1998, buildProfile, ICC_DIR, profilePath, TINY_SRGB } from '../src/render/icc-profiles.ts';

fs.mkdirSync(ICC_DIR, { recursive: true });
for (const profile of [ADOBE_RGB_1998, TINY_SRGB]) {
  const bytes = buildProfile(profile);
  fs.writeFileSync(profilePath(profile), bytes);
  console.log(`${profilePath(profile)}: ${bytes.length} bytes`);
}
