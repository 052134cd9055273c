import type { DecodedMasters } from '../render/decoded-masters.ts';
import type { OutputLimits } from '../render/geometry.ts';
import type { IsolatedRenderer } from '../render/isolated-renderer.ts';
import { pdfPlanCost } from '../render/cost.ts';
import { prepareRender, render, type RenderResult } from '../render/pipeline.ts';
import type { RenderParams } from '../render/render-params.ts';
import type { RenderAdmission } from './render-admission.ts';

export interface RendererLimits {
  maxInputPixels: number;
  renderTimeoutSeconds: number;
  outputLimits: OutputLimits;
}

export interface RenderRequest {
  acceptClass: string;
  /** Decoded, pre-shrunk levels of the master (light renders only). */
  decoded?: { masters: DecodedMasters; masterKey: string };
  subImages?: { mark?: Buffer; blend?: Buffer; mask?: Buffer };
}

/**
 * Every render goes through here: its header is read and its memory estimated (render/cost.ts), it is
 * admitted against the render memory budget, then runs in this process when light, or in a render process
 * that the deadline can kill when heavy.
 */
export class Renderer {
  constructor(
    private readonly admission: RenderAdmission,
    private readonly isolated: IsolatedRenderer,
    private readonly limits: RendererLimits,
  ) {}

  async render(input: Buffer, params: RenderParams, request: RenderRequest): Promise<RenderResult> {
    const options = {
      acceptClass: request.acceptClass,
      maxInputPixels: this.limits.maxInputPixels,
      limits: this.limits.outputLimits,
      timeoutSeconds: this.limits.renderTimeoutSeconds,
      ...(request.subImages ? { subImages: request.subImages } : {}),
    };
    const prepared = await prepareRender(input, params, {
      ...options,
      // A PDF's structure is read in a render process too, admitted like a render.
      planPdf: (...args) => this.admission.run(pdfPlanCost(input.length), () => this.isolated.planPdf(...args, this.limits.renderTimeoutSeconds)),
    });
    if (prepared.cost.heavy) {
      const job = prepared.pdf ? { ...options, pdfPlan: prepared.pdf } : options;
      return this.admission.run(prepared.cost, () => this.isolated.render(input, params, job));
    }
    return this.admission.run(prepared.cost, () => render(input, params, { ...options, ...(request.decoded ? { decoded: request.decoded } : {}) }, prepared));
  }
}
