/**
 * Elements per tile of the channel-innermost (`inner = 1`) loops: a tile of
 * `⌊TILE / C⌋` whole rows is walked four channels at a time with the per-channel
 * constants in registers, while its data stay in cache (16 Ki elements = 64 KiB of float32).
 */
export const TILE_ELEMENTS = 16384;

/** Rows per tile for `channels` channels (at least 1). */
export function tileRows(channels: number): number {
  return Math.max(1, Math.floor(TILE_ELEMENTS / channels));
}
