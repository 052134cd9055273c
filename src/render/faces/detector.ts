/**
 * The face detector: MediaPipe BlazeFace (vendor/blazeface, Apache-2.0) on onnxruntime's CPU provider.
 * Nothing is fetched at run time. The model and its runtime are loaded on first use, once per process
 * (the server's or a render process's), so renders without faces never pay for them.
 *
 * Callers hand over a small raw RGB copy of the image (`detectionSize()`): the model only ever sees 256²,
 * so decoding more pixels than that would be wasted.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { InferenceSession } from 'onnxruntime-node';
import { setNativeEnvironment } from '../../config/native-environment.ts';
import { PictorError } from '../../errors.ts';
import { decodeFaces, GRIDS, INPUT_SIZE, scaleFace, type Face } from './blazeface.ts';
import type { Size } from '../geometry.ts';

export type { Face, Point } from './blazeface.ts';

/** From src/render/faces or dist/render/faces alike, the repository's vendor folder is three levels up. */
const MODEL = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../../vendor/blazeface/face_detection_back_256x256.onnx');
const OUTPUTS = [
  { scores: 'Identity:0', boxes: 'Identity_2:0' },
  { scores: 'Identity_1:0', boxes: 'Identity_3:0' },
] as const;

let loading: Promise<{ session: InferenceSession; Tensor: typeof import('onnxruntime-node').Tensor }> | undefined;

function load(): NonNullable<typeof loading> {
  loading ??= (async () => {
    // Without this, onnxruntime's telemetry leaves a session file (.ses) and a debug log (mat-debug-PID.log)
    // in the temporary directory of every process that detects faces. Off, unless the operator sets it.
    setNativeEnvironment('ORT_DISABLE_TELEMETRY', '1', { unlessSet: true });
    const ort = await import('onnxruntime-node');
    // One request, one core (renders already run side by side); severity 3 hides the model's harmless
    // "removing initializer" warnings.
    const session = await ort.InferenceSession.create(MODEL, { logSeverityLevel: 3, intraOpNumThreads: 1, interOpNumThreads: 1 });
    return { session, Tensor: ort.Tensor };
  })().catch((error: unknown) => {
    loading = undefined; // a later render may try again
    throw new PictorError('INTERNAL', 'The face detector could not be loaded', { cause: error });
  });
  return loading;
}

/** The size to downscale an image of `source` size to before detection: its long side becomes 256. */
export function detectionSize(source: Size): Size {
  const k = INPUT_SIZE / Math.max(source.width, source.height);
  return { width: Math.max(1, Math.round(source.width * k)), height: Math.max(1, Math.round(source.height * k)) };
}

export interface RawImage {
  data: Buffer;
  width: number;
  height: number;
  channels: number;
}

/**
 * Faces in `image` (at most 256 px a side, RGB first in each pixel), returned in the coordinates of
 * `source` — the full-size image that `image` is a downscaled copy of. Largest face first, then left to right.
 */
export async function detectFaces(image: RawImage, source: Size): Promise<Face[]> {
  const { session, Tensor } = await load();
  const input = letterbox(image);
  const result = await session.run({ 'input:0': new Tensor('float32', input, [1, INPUT_SIZE, INPUT_SIZE, 3]) });
  const heads = OUTPUTS.map(({ scores, boxes }) => ({
    scores: result[scores]!.data as Float32Array,
    boxes: result[boxes]!.data as Float32Array,
  }));
  if (heads.length !== GRIDS.length) throw new Error('unexpected model outputs');
  const scale = source.width / image.width;
  return decodeFaces(heads)
    .map((face) => scaleFace(face, scale, source))
    .filter((face) => face.width >= 1 && face.height >= 1)
    .sort((a, b) => b.width * b.height - a.width * a.height || a.left - b.left || a.top - b.top);
}

/** NHWC float input in -1..1; the image in the top-left corner, black (-1) around it. */
function letterbox(image: RawImage): Float32Array {
  const input = new Float32Array(INPUT_SIZE * INPUT_SIZE * 3).fill(-1);
  const width = Math.min(INPUT_SIZE, image.width);
  const height = Math.min(INPUT_SIZE, image.height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const from = (y * image.width + x) * image.channels;
      const to = (y * INPUT_SIZE + x) * 3;
      for (let c = 0; c < 3; c++) input[to + c] = image.data[from + c]! / 127.5 - 1;
    }
  }
  return input;
}
