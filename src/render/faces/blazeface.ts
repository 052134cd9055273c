/**
 * Decoding MediaPipe BlazeFace (the 256×256 full-range model): anchors, box regression, score threshold and
 * weighted non-maximum suppression. Pure arithmetic on the model's output tensors; detector.ts runs the model.
 *
 * The model sees the whole image letterboxed into the top-left of a 256² square. It predicts, for each
 * anchor, a score logit and 16 regressors: the box centre offset and size (pixels of the 256² input) and
 * six keypoints. Anchors sit at cell centres of a 16×16 grid (2 per cell) and an 8×8 grid (6 per cell),
 * row-major, the anchors of one cell adjacent.
 */

export const INPUT_SIZE = 256;

/** A point in the coordinates of whatever the detection was scaled to. */
export interface Point {
  x: number;
  y: number;
}

export interface Face {
  /** Square box, eyebrows to chin, in the coordinates of the image detected on. */
  left: number;
  top: number;
  width: number;
  height: number;
  /** Confidence, 0–1. */
  score: number;
  /** The subject's own right and left (so `rightEye` is on the image's left for a face looking at us). */
  rightEye: Point;
  leftEye: Point;
  nose: Point;
  mouth: Point;
  rightEar: Point;
  leftEar: Point;
}

/** Below this a detection is dropped. Chosen on the sample photos: every face scores at or above it, nothing else does. */
export const MIN_SCORE = 0.4;
/** Overlapping detections of one face are merged when their boxes overlap at least this much (IoU). */
const MERGE_IOU = 0.3;
const KEYPOINTS = ['rightEye', 'leftEye', 'nose', 'mouth', 'rightEar', 'leftEar'] as const;
const REGRESSORS = 16;

interface Grid {
  cells: number;
  perCell: number;
}
/** The two output heads, in the order of their tensors. */
export const GRIDS: readonly Grid[] = [
  { cells: 16, perCell: 2 },
  { cells: 8, perCell: 6 },
];

interface Candidate {
  score: number;
  /** xMin, yMin, xMax, yMax, then the six keypoints as x, y pairs: 16 numbers in 0..1 of the input. */
  values: number[];
}

/**
 * Decodes the heads (scores and regressors of each grid, in GRIDS order) into faces, in the 256² input's
 * pixel coordinates, best first.
 */
export function decodeFaces(heads: readonly { scores: Float32Array; boxes: Float32Array }[], minScore = MIN_SCORE): Face[] {
  const candidates: Candidate[] = [];
  const logitThreshold = Math.log(minScore / (1 - minScore));
  heads.forEach(({ scores, boxes }, head) => {
    const { cells, perCell } = GRIDS[head]!;
    for (let index = 0; index < scores.length; index++) {
      const logit = scores[index]!;
      if (logit < logitThreshold) continue;
      const cell = Math.floor(index / perCell);
      const ax = ((cell % cells) + 0.5) / cells;
      const ay = (Math.floor(cell / cells) + 0.5) / cells;
      const r = boxes.subarray(index * REGRESSORS, (index + 1) * REGRESSORS);
      const cx = ax + r[0]! / INPUT_SIZE;
      const cy = ay + r[1]! / INPUT_SIZE;
      const w = r[2]! / INPUT_SIZE;
      const h = r[3]! / INPUT_SIZE;
      const values = [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2];
      for (let k = 0; k < KEYPOINTS.length; k++) values.push(ax + r[4 + 2 * k]! / INPUT_SIZE, ay + r[5 + 2 * k]! / INPUT_SIZE);
      candidates.push({ score: 1 / (1 + Math.exp(-logit)), values });
    }
  });
  return weightedNms(candidates).map((c) => toFace(c, INPUT_SIZE));
}

/**
 * MediaPipe's weighted NMS: take the best remaining candidate, gather every candidate overlapping it, and
 * average their coordinates weighted by score (steadier boxes than keeping the best one alone).
 */
function weightedNms(candidates: Candidate[]): Candidate[] {
  const remaining = [...candidates].sort((a, b) => b.score - a.score);
  const kept: Candidate[] = [];
  while (remaining.length > 0) {
    const best = remaining[0]!;
    const group = remaining.filter((c) => iou(best.values, c.values) >= MERGE_IOU);
    const total = group.reduce((sum, c) => sum + c.score, 0);
    const values = best.values.map((_, i) => group.reduce((sum, c) => sum + c.values[i]! * c.score, 0) / total);
    kept.push({ score: best.score, values });
    for (const c of group) remaining.splice(remaining.indexOf(c), 1);
  }
  return kept;
}

function iou(a: number[], b: number[]): number {
  const w = Math.min(a[2]!, b[2]!) - Math.max(a[0]!, b[0]!);
  const h = Math.min(a[3]!, b[3]!) - Math.max(a[1]!, b[1]!);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  const area = (v: number[]) => (v[2]! - v[0]!) * (v[3]! - v[1]!);
  return inter / (area(a) + area(b) - inter);
}

function toFace({ score, values }: Candidate, scale: number): Face {
  const at = (i: number): Point => ({ x: values[i]! * scale, y: values[i + 1]! * scale });
  const face: Face = {
    left: values[0]! * scale,
    top: values[1]! * scale,
    width: (values[2]! - values[0]!) * scale,
    height: (values[3]! - values[1]!) * scale,
    score,
    rightEye: at(4),
    leftEye: at(6),
    nose: at(8),
    mouth: at(10),
    rightEar: at(12),
    leftEar: at(14),
  };
  return face;
}

/** The face in another coordinate system: multiplied by `scale`, then clipped to `bounds`. */
export function scaleFace(face: Face, scale: number, bounds: { width: number; height: number }): Face {
  const point = (p: Point): Point => ({ x: clamp(p.x * scale, 0, bounds.width), y: clamp(p.y * scale, 0, bounds.height) });
  const left = clamp(face.left * scale, 0, bounds.width);
  const top = clamp(face.top * scale, 0, bounds.height);
  const right = clamp((face.left + face.width) * scale, 0, bounds.width);
  const bottom = clamp((face.top + face.height) * scale, 0, bounds.height);
  return {
    left,
    top,
    width: right - left,
    height: bottom - top,
    score: face.score,
    rightEye: point(face.rightEye),
    leftEye: point(face.leftEye),
    nose: point(face.nose),
    mouth: point(face.mouth),
    rightEar: point(face.rightEar),
    leftEar: point(face.leftEar),
  };
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}
