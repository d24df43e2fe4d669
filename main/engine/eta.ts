/**
 * Seconds left in a run, from the recent speed. The mean speed since the start trails a machine whose speed
 * drifts (a shared VM's neighbours, a laptop's thermal limit): on the idle 2-core VM the step time drifted from
 * 99 to about 130 ms within half an hour, and an ETA from the whole run's mean was 21–26 % short. The speed over
 * the last `windowSeconds` follows such drift; a window of a minute holds many model calls, so the jitter from one
 * slice to the next stays out.
 */
export class EtaEstimator {
  private readonly marks: { t: number; units: number }[];

  constructor(
    private readonly totalUnits: number,
    private readonly windowSeconds = 60,
    private readonly now: () => number = () => performance.now() / 1000,
  ) {
    this.marks = [{ t: now(), units: 0 }];
  }

  /** `units` of the total are done now; returns the seconds left, or null before there is a measurement. */
  update(units: number): number | null {
    const t = this.now();
    this.marks.push({ t, units });
    // Drop the marks older than the window, keeping one at or before its start so that it spans the full window.
    while (this.marks.length > 2 && t - this.marks[1].t >= this.windowSeconds) this.marks.shift();
    const from = this.marks[0];
    const done = units - from.units;
    if (units <= 0 || done <= 0) return null;
    return ((t - from.t) / done) * Math.max(0, this.totalUnits - units);
  }
}
