declare module 'mnist' {
  interface Digit {
    readonly id: number;
    /** Every sample of this digit, 784 values in [0, 1] each, concatenated. */
    readonly raw: readonly number[];
    readonly length: number;
  }
  const mnist: readonly Digit[];
  export default mnist;
}
