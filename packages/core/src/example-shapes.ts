/**
 * Example input shapes with the channels on `channelAxis`, for a plugin's `exampleShapes` and
 * `largeShapes` (the shapes the gradient checker runs). Each base lists the sizes of an
 * `(N, C, …)` shape with a placeholder at index 1; the channel count is moved to
 * `channelAxis` (negative counts from the end), and ranks that have no such axis are left
 * out.
 *
 * @param bases - `(N, C, …)` sizes, index 1 a placeholder for the channels
 * @param channels - the number of channels
 * @param channelAxis - where the channels go (e.g. 1, or −1 for channels-last)
 * @returns the shapes
 * @example
 * ```ts
 * withChannels([[4, 0], [2, 0, 3, 2]], 3, -1); // [[4, 3], [2, 3, 2, 3]]
 * ```
 */
export function withChannels(bases: readonly (readonly number[])[], channels: number, channelAxis: number): number[][] {
  const shapes: number[][] = [];
  for (const base of bases) {
    const rank = base.length;
    if (channelAxis < -rank || channelAxis >= rank) continue;
    const axis = channelAxis < 0 ? channelAxis + rank : channelAxis;
    const sizes = base.filter((_, k) => k !== 1);
    sizes.splice(axis, 0, channels);
    shapes.push(sizes);
  }
  return shapes;
}
