/**
 * Results already in the study (SEG mask, fractional SEG, Parametric Map, Halo's or another tool's), shown in
 * place of a run of ours under the run id PRIOR_RUN; several of one set (mask + probability + variance) layer on
 * the same slices.
 */
import type { PriorResultView } from '../../../main/app/contract';
import { unpack } from '../../../main/app/binary';
import { busy } from './app';
import { forgetEdits } from './edit-tool';
import { forgetResults, resultAt, resultsState, setResult } from './results';
import { PRIOR_RUN, runState } from './run';
import { saveState } from './save';
import { studyState } from './study';
import { viewer, viewState } from './view';

export async function showPrior(r: PriorResultView): Promise<void> {
  const study = studyState.study;
  const ref = study?.reference;
  if (!study || !ref || runState.running) return;
  const bytes = await busy('Loading the result', () => window.halo['study.result']({ studyId: study.studyId, sopInstanceUID: r.sopInstanceUID }));
  if (!bytes || studyState.study?.studyId !== study.studyId) return;
  const { meta, arrays } = unpack<{ studyInstanceUID: string; sopInstanceUID: string; kind: PriorResultView['kind']; slices: number[] }>(bytes);
  if (meta.studyInstanceUID !== study.studyInstanceUID || meta.sopInstanceUID !== r.sopInstanceUID) return;
  if (runState.run?.runId !== PRIOR_RUN) {
    // Leave our own run's results: what is on screen is the stored result from now on.
    forgetResults();
    forgetEdits();
    saveState.save = null;
    runState.lastRunStatus = null;
    runState.progress = null;
    viewer.clearResults();
    runState.run = {
      runId: PRIOR_RUN,
      studyId: study.studyId,
      studyInstanceUID: study.studyInstanceUID,
      seriesInstanceUID: ref.seriesInstanceUID,
      modelId: r.algorithm,
      steps: 0,
      ensemble: r.ensemble ?? 0,
      provider: 'CPU',
      slices: meta.slices,
    };
  }
  const plane = ref.dims[0] * ref.dims[1];
  const pixelMm2 = ref.spacing[0] * ref.spacing[1];
  const mainRole = viewState.shownRoles[0];
  for (const k of meta.slices) {
    const values = arrays[`k${k}`] as Float32Array;
    const tag = { runId: PRIOR_RUN, studyInstanceUID: study.studyInstanceUID, seriesInstanceUID: ref.seriesInstanceUID, k };
    const e = resultAt(k) ?? { tag, mask: new Uint8Array(plane), mean: new Float32Array(plane), variance: new Float32Array(plane), members: [], fromMask: false };
    if (meta.kind === 'mask') {
      e.mask = Uint8Array.from(values, (v) => (v > 0.5 ? 1 : 0));
      e.fromMask = true;
    } else if (meta.kind === 'probability') {
      e.mean = values;
      if (!e.fromMask) e.mask = Uint8Array.from(values, (v) => (v > 0.5 ? 1 : 0));
    } else e.variance = values;
    const brain = mainRole ? viewer.nonZeroOf(mainRole, k) : null;
    let area = 0, nb = 0, sumV = 0, maxV = 0;
    for (let p = 0; p < plane; p++) {
      if (e.mask[p]) area++;
      if (!brain || brain[p]) { nb++; sumV += e.variance[p]; }
      if (e.variance[p] > maxV) maxV = e.variance[p];
    }
    setResult(k, e, { k, areaMm2: area * pixelMm2, brainMm2: brain ? nb * pixelMm2 : 0, meanVariance: nb ? sumV / nb : 0, maxVariance: maxV, ensemble: r.ensemble ?? 0 });
  }
  resultsState.priorShown = [...resultsState.priorShown, r.sopInstanceUID];
  resultsState.memberCount = 0;
}
