/** The package version, reported in {@link batchNorm}'s `meta`. */
export const VERSION = '0.1.0';
