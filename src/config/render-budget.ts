/**
 * How the render memory budget (`--render-memory`) is split. The settings check at start that the budget
 * holds the light renders' share and one heavy render; render/cost.ts classifies renders by the same line and
 * delivery/render-admission.ts admits them against the same shares, so the three can never disagree.
 */

/** Renders estimated at or above this run in the isolated render process, where a deadline can kill them. */
export const HEAVY_RENDER_BYTES = 64 * 1024 * 1024;

/** What light renders can hold at most, `lightConcurrency` at a time: set aside from the render memory budget. */
export function lightReserve(lightConcurrency: number): number {
  return lightConcurrency * HEAVY_RENDER_BYTES;
}
