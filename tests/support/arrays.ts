/** The largest absolute difference between two arrays of the same length (a parity check's measure). */
export function maxAbsDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`maxAbsDifference: lengths ${a.length} and ${b.length} differ`);
  let worst = 0;
  for (let p = 0; p < a.length; p++) worst = Math.max(worst, Math.abs(a[p] - b[p]));
  return worst;
}
