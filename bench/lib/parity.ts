/** Pictor's AVIF effort (src/render/encode.ts), given to ipx and the naive loop for encoder parity. */
export const PARITY_AVIF_EFFORT = 1;
