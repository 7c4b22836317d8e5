// Written by scripts/sync-versions.mjs from package.json; do not edit by hand.
/** The version of this package, reported in its plugins' `meta.version`. */
export const VERSION = '0.0.0';
