/**
 * Face steps. `detectFacesStep` runs the detector once, before the resize, on a small copy of the (oriented,
 * trimmed, rect-cut) source: fit=facearea and crop=faces plan the resize from its boxes. `coverFacesStep`
 * then blurs and/or pixelates each face (face-blur, face-pixel) on the resized image, with the boxes carried
 * through the resize. Only when the resize's crop offset is decided by sharp itself (crop=entropy/edges) are
 * faces detected after the resize instead.
 */
import sharp from 'sharp';
import type { PipelineBuilder } from '../builder.ts';
import { STAGE } from '../builder.ts';
import { detectFaces, detectionSize, type Face } from '../faces/detector.ts';
import { coversFaces, needsFaceGeometry } from '../faces-params.ts';
import { planGeometry, type Region, type ResizePlan, type Size } from '../geometry.ts';
import type { RenderContext } from './context.ts';

/** Faces as detected on an image of `size` (the builder's size at the time). */
export interface DetectedFaces {
  size: Size;
  faces: Face[];
}

/** The covered area is the face box (eyebrows to chin) grown by this share of its size on every side: forehead, hair line, ears. */
const COVER_MARGIN = 0.25;

export async function detectFacesStep(ctx: RenderContext): Promise<void> {
  const { params, builder } = ctx;
  const geometry = needsFaceGeometry(params);
  if (!geometry && !coversFaces(params)) return;
  // Covering only: boxes must be carried through the resize, which is impossible when sharp picks the crop.
  if (!geometry && !traceable(planGeometry(builder, params, ctx.limits).resize)) return;
  ctx.faces = await findFaces(builder);
}

export async function coverFacesStep(ctx: RenderContext): Promise<void> {
  const { params, builder } = ctx;
  const pixel = params['face-pixel'];
  const blur = params['face-blur'];
  if (pixel === undefined && blur === undefined) return;
  // Patches are cut from, and put back onto, the resized pixels: run what is queued once.
  await builder.materialize();
  const faces = ctx.faces ? carryThroughResize(ctx, ctx.faces) : (await findFaces(builder)).faces;
  const patches: { region: Region; data: Buffer; channels: 1 | 2 | 3 | 4 }[] = [];
  for (const face of faces) {
    const region = coverRegion(face, builder);
    if (region) patches.push({ region, ...(await coverPatch(builder, region, pixel, blur)) });
  }
  if (patches.length === 0) return;
  await builder.add({
    slots: ['composite'],
    from: STAGE.composite,
    // Patches are opaque (alpha removed), so nothing of a translucent face shows through its cover.
    apply: (image) =>
      image.composite(
        patches.map(({ region, data, channels }) => ({
          input: data,
          raw: { width: region.width, height: region.height, channels },
          left: region.left,
          top: region.top,
        })),
      ),
  });
}

/** Runs the detector on a ≤256 px copy of what the builder holds now; boxes in the builder's coordinates. */
export async function findFaces(builder: PipelineBuilder): Promise<DetectedFaces> {
  const size: Size = { width: builder.width, height: builder.height };
  const small = detectionSize(size);
  const { data, info } = await builder.branch((image) =>
    image.resize(small.width, small.height, { fit: 'fill' }).toColourspace('srgb').removeAlpha(),
  );
  return { size, faces: await detectFaces({ data, width: info.width, height: info.height, channels: info.channels }, size) };
}

/** Resize plans whose mapping of source to output pixels is known here. */
function traceable(plan: ResizePlan): boolean {
  return !(plan.kind === 'cover' && (plan.position === 'attention' || plan.position === 'entropy'));
}

/** The faces in the resized image: the same plan the resize step made, applied to the boxes. */
function carryThroughResize(ctx: RenderContext, detected: DetectedFaces): Face[] {
  const { resize } = planGeometry(detected.size, ctx.params, ctx.limits, detected.faces);
  const map = resizeMapping(resize, detected.size);
  return detected.faces.map((face) => ({
    ...face,
    left: face.left * map.sx + map.dx,
    top: face.top * map.sy + map.dy,
    width: face.width * map.sx,
    height: face.height * map.sy,
  }));
}

/** x' = x·sx + dx, y' = y·sy + dy for each kind of resize. */
function resizeMapping(plan: ResizePlan, source: Size): { sx: number; sy: number; dx: number; dy: number } {
  switch (plan.kind) {
    case 'none':
      return { sx: 1, sy: 1, dx: 0, dy: 0 };
    case 'scale':
      return { sx: plan.width / source.width, sy: plan.height / source.height, dx: 0, dy: 0 };
    case 'focal': {
      const sx = plan.width / plan.region.width;
      const sy = plan.height / plan.region.height;
      return { sx, sy, dx: -plan.region.left * sx, dy: -plan.region.top * sy };
    }
    case 'contain': {
      const sx = plan.inner.width / source.width;
      const sy = plan.inner.height / source.height;
      return { sx, sy, dx: Math.floor((plan.width - plan.inner.width) / 2), dy: Math.floor((plan.height - plan.inner.height) / 2) };
    }
    case 'cover': {
      // sharp scales to cover the box, then crops by gravity (entropy/attention never get here).
      const k = Math.max(plan.width / source.width, plan.height / source.height);
      const spareX = source.width * k - plan.width;
      const spareY = source.height * k - plan.height;
      const position = plan.position;
      const dx = position.includes('west') ? 0 : position.includes('east') ? -spareX : -spareX / 2;
      const dy = position.startsWith('north') ? 0 : position.startsWith('south') ? -spareY : -spareY / 2;
      return { sx: k, sy: k, dx, dy };
    }
  }
}

/** The face box plus its margin, in whole pixels inside the image; undefined when it falls outside. */
function coverRegion(face: Face, size: Size): Region | undefined {
  const mx = face.width * COVER_MARGIN;
  const my = face.height * COVER_MARGIN;
  const left = Math.max(0, Math.floor(face.left - mx));
  const top = Math.max(0, Math.floor(face.top - my));
  const right = Math.min(size.width, Math.ceil(face.left + face.width + mx));
  const bottom = Math.min(size.height, Math.ceil(face.top + face.height + my));
  if (right - left < 1 || bottom - top < 1) return undefined;
  return { left, top, width: right - left, height: bottom - top };
}

/**
 * The covered pixels of one face, raw, opaque. face-pixel=N makes blocks of N % of the
 * area's long side (100: one flat colour); face-blur=N a gaussian of sigma N % of a third of it.
 */
async function coverPatch(builder: PipelineBuilder, region: Region, pixel: number | undefined, blur: number | undefined): Promise<{ data: Buffer; channels: 1 | 2 | 3 | 4 }> {
  const side = Math.max(region.width, region.height);
  const sigma = Math.max(0.3, (side * (blur ?? 0)) / 300);
  let patch: Awaited<ReturnType<PipelineBuilder['branch']>>;
  if (pixel === undefined) {
    patch = await builder.branch((image) => image.extract(region).blur(sigma).removeAlpha());
  } else {
    // Down, then back up with nearest-neighbour (two resizes: two pipelines), then the blur if any.
    const block = Math.max(2, (side * pixel) / 100);
    const blocks = { width: Math.max(1, Math.round(region.width / block)), height: Math.max(1, Math.round(region.height / block)) };
    const small = await builder.branch((image) => image.extract(region).resize(blocks.width, blocks.height, { fit: 'fill' }));
    const { info } = small;
    let image = sharp(small.data, { raw: { width: info.width, height: info.height, channels: info.channels } })
      .resize(region.width, region.height, { fit: 'fill', kernel: 'nearest' });
    if (blur !== undefined) image = image.blur(sigma);
    patch = await builder.exec(image.removeAlpha().raw({ depth: 'uchar' }));
  }
  return { data: patch.data, channels: patch.info.channels as 1 | 2 | 3 | 4 };
}
