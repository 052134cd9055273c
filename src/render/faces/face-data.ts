/**
 * fm=json&faces=1: the faces in the input, added to its metadata as imgix's `Faces` array. Coordinates are
 * pixels of the image as displayed (EXIF orientation applied), from its top-left corner; `left_eye` and
 * `right_eye` are named as seen by the viewer, as in imgix's output.
 */
import sharp, { type Metadata, type OutputInfo } from 'sharp';
import { PictorError } from '../../errors.ts';
import type { DataResult } from '../data-outputs.ts';
import type { RenderParams } from '../render-params.ts';
import { mapSharpError } from '../sharp-errors.ts';
import { detectFaces, detectionSize, type Face, type Point } from './detector.ts';

export async function withFaceData(result: DataResult, input: Buffer, metadata: Metadata, params: RenderParams, maxInputPixels: number, deadline: number | undefined): Promise<DataResult> {
  if (params.faces !== 1) return result;
  const source = metadata.autoOrient;
  const small = detectionSize(source);
  let image = sharp(input, { limitInputPixels: Math.max(1, Math.floor(maxInputPixels)), failOn: 'error', autoOrient: true })
    .resize(small.width, small.height, { fit: 'fill' })
    .toColourspace('srgb')
    .removeAlpha()
    .raw({ depth: 'uchar' });
  if (deadline !== undefined) {
    const remainingMs = deadline - Date.now();
    if (remainingMs <= 0) throw new PictorError('RENDER_TIMEOUT', 'Rendering took too long');
    image = image.timeout({ seconds: Math.max(1, Math.ceil(remainingMs / 1000)) });
  }
  let raw: { data: Buffer; info: OutputInfo };
  try {
    raw = await image.toBuffer({ resolveWithObject: true });
  } catch (error) {
    throw mapSharpError(error);
  }
  const faces = await detectFaces({ data: raw.data, width: raw.info.width, height: raw.info.height, channels: raw.info.channels }, source);
  const json = JSON.parse(result.body.toString('utf8')) as Record<string, unknown>;
  return { ...result, body: Buffer.from(JSON.stringify({ Faces: faces.map(describe), ...json })) };
}

function describe(face: Face): Record<string, unknown> {
  const point = (p: Point) => ({ x: Math.round(p.x), y: Math.round(p.y) });
  // The subject's left eye is on the viewer's right.
  return {
    bounds: { x: Math.round(face.left), y: Math.round(face.top), width: Math.round(face.width), height: Math.round(face.height) },
    left_eye: point(face.rightEye),
    right_eye: point(face.leftEye),
    mouth: point(face.mouth),
  };
}
