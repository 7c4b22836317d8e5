/**
 * Whether this host stores typed-array elements little-endian (every platform Node runs on
 * today, but not guaranteed). Safetensors data is little-endian: on a little-endian host the
 * float readers and writers copy bytes, on a big-endian host they go through a `DataView`.
 */
export const HOST_IS_LITTLE_ENDIAN: boolean = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
