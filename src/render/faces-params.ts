/**
 * Normalisation of imgix's face-detection parameters: `fit=facearea` (with `facepad`, `faceindex` and an
 * optional fallback fit, `fit=facearea,fill`), `faces=1` in fm=json, `face-blur` and `face-pixel`.
 * (`crop=faces` is one value of `crop`'s fallback chain: normalize.ts keeps it first in the list.)
 */
import type { Reader } from './normalize.ts';
import type { Fit, RenderParams } from './render-params.ts';

export const FACE_PARAMS = ['faceindex', 'facepad', 'faces', 'face-blur', 'face-pixel'] as const;

/**
 * `fit` as asked: a single mode, or a chain whose first value is facearea and whose second is the fit used
 * when no face is found (imgix's default, clip, when absent). Other chains use their first value.
 */
export function readFit(read: Reader): { fit: string | undefined; facearea: boolean } {
  const list = read.list('fit') as string[] | undefined;
  const single = read.str('fit');
  const chain = list ?? (single === undefined ? [] : [single]);
  if (chain[0] !== 'facearea') return { fit: chain[0], facearea: false };
  return { fit: chain.slice(1).find((fit) => fit !== 'facearea'), facearea: true };
}

/**
 * Runs after normalizeFit, which normalised the fallback fit (and its own parameters) as if it had been
 * asked alone: facearea wraps it as `fit: ['facearea', fallback]`.
 */
export function normalizeFaces(p: RenderParams, read: Reader): void {
  if (readFit(read).facearea) {
    const fallback = p.fit as Fit | undefined;
    p.fit = fallback === undefined ? ['facearea'] : ['facearea', fallback];
    const pad = read.num('facepad');
    if (pad !== undefined && pad !== 1) p.facepad = pad;
    const index = read.num('faceindex');
    if (index !== undefined) p.faceindex = Math.max(1, index);
  }
  for (const name of ['face-blur', 'face-pixel'] as const) {
    const amount = read.num(name);
    if (amount !== undefined && amount > 0) p[name] = amount;
  }
}

/** fm=json: `faces=1` adds the detected faces to the metadata. */
export function normalizeFaceData(p: RenderParams, read: Reader): void {
  if (read.num('faces') === 1) p.faces = 1;
}

/** The fit mode that applies when no face decides the geometry (facearea's fallback; clip by default). */
export function plainFit(params: RenderParams): Fit {
  const fit = params.fit;
  if (Array.isArray(fit)) return fit[1] ?? 'clip';
  return (fit as Fit | undefined) ?? 'clip';
}

export function isFaceArea(params: RenderParams): boolean {
  return Array.isArray(params.fit);
}

/** The geometry depends on where faces are: facearea, or crop=faces. */
export function needsFaceGeometry(params: RenderParams): boolean {
  return isFaceArea(params) || (params.fit === 'crop' && params.crop?.[0] === 'faces');
}

/** Faces are covered (blurred or pixelated) after the resize. */
export function coversFaces(params: RenderParams): boolean {
  return params['face-blur'] !== undefined || params['face-pixel'] !== undefined;
}

/** The render runs the face detector (once). */
export function detectsFaces(params: RenderParams): boolean {
  return needsFaceGeometry(params) || coversFaces(params) || params.faces === 1;
}
