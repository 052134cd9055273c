/**
 * Where face-aware geometry cuts: the region `fit=facearea` scales to the output, and the window
 * `crop=faces` centres on. Pure arithmetic on face boxes given in the coordinates of `source`.
 */
import type { Region, Size } from '../geometry.ts';
import type { RenderParams } from '../render-params.ts';
import type { Face } from './blazeface.ts';

interface Box {
  left: number;
  top: number;
  right: number;
  bottom: number;
}

/**
 * fit=facearea: the faces (all of them, or the `faceindex`-th) with their box multiplied by `facepad`,
 * widened to the output's aspect ratio (square when only one side is given) and moved inside the image;
 * when that is larger than the image it is scaled down to fit. Without w and h the padded box itself is
 * cut, clipped to the image. Undefined when there is no such face.
 */
export function faceAreaRegion(source: Size, faces: readonly Face[], params: RenderParams, tw: number | undefined, th: number | undefined): Region | undefined {
  const index = params.faceindex;
  const chosen = index === undefined ? faces : faces.slice(index - 1, index);
  if (chosen.length === 0) return undefined;
  const box = union(chosen);
  const pad = params.facepad ?? 1;
  const cx = (box.left + box.right) / 2;
  const cy = (box.top + box.bottom) / 2;
  let width = (box.right - box.left) * pad;
  let height = (box.bottom - box.top) * pad;
  if (tw === undefined && th === undefined) {
    width = Math.min(width, source.width);
    height = Math.min(height, source.height);
  } else {
    const aspect = tw !== undefined && th !== undefined ? tw / th : 1;
    if (width / height < aspect) width = height * aspect;
    else height = width / aspect;
    const shrink = Math.min(1, source.width / width, source.height / height);
    width *= shrink;
    height *= shrink;
  }
  return placeWindow(source, { width, height }, cx, cy);
}

/**
 * crop=faces: the window a centred cover crop would keep (`window`, in source pixels), moved to centre on
 * the faces — on all of them when they fit in it, else on the largest (imgix's implied faceindex=1).
 */
export function faceCropRegion(source: Size, faces: readonly Face[], window: Size): Region | undefined {
  if (faces.length === 0) return undefined;
  const all = union(faces);
  const fits = all.right - all.left <= window.width && all.bottom - all.top <= window.height;
  const box = fits ? all : union(faces.slice(0, 1));
  return placeWindow(source, window, (box.left + box.right) / 2, (box.top + box.bottom) / 2);
}

/** A window of `size` centred on (cx, cy) as far as the image allows, in whole pixels inside the image. */
function placeWindow(source: Size, size: Size, cx: number, cy: number): Region {
  const width = clamp(Math.round(size.width), 1, source.width);
  const height = clamp(Math.round(size.height), 1, source.height);
  const left = clamp(Math.round(cx - width / 2), 0, source.width - width);
  const top = clamp(Math.round(cy - height / 2), 0, source.height - height);
  return { left, top, width, height };
}

function union(faces: readonly Face[]): Box {
  return {
    left: Math.min(...faces.map((f) => f.left)),
    top: Math.min(...faces.map((f) => f.top)),
    right: Math.max(...faces.map((f) => f.left + f.width)),
    bottom: Math.max(...faces.map((f) => f.top + f.height)),
  };
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}
