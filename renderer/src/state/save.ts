/**
 * Saving what is shown: the choice of ensemble size and slices, the save job (SEG, fractional SEG, Parametric
 * Map, and the measurements as an SR, to a PACS or a folder) and its items' status as the main process reports them.
 */
import { reactive } from 'vue';
import type { SaveJob } from '../../../main/app/contract';
import { appState, busy } from './app';
import { packedCorrections } from './corrections';
import { measureState, measurementsToSave } from './measurements';
import { hasResult, resultsState } from './results';
import { PRIOR_RUN, runState } from './run';
import { studyState } from './study';

export const saveState = reactive({
  save: null as SaveJob | null,
});

/**
 * What can be saved: per ensemble size n shown on some slice, the slices that have at least n samples. One
 * option when every slice shows the same n (save exactly what is displayed); several when a grow was cancelled
 * part way, and the user chooses (the saved objects carry one n).
 */
export function saveOptions(): { ensemble: number; slices: number[] }[] {
  if (runState.run?.runId === PRIOR_RUN) return []; // already stored
  const shown = Object.values(resultsState.stats).filter((s) => hasResult(s.k));
  const sizes = [...new Set(shown.map((s) => s.ensemble))].sort((a, b) => a - b);
  return sizes.map((n) => ({ ensemble: n, slices: shown.filter((s) => s.ensemble >= n).map((s) => s.k).sort((a, b) => a - b) }));
}

/**
 * A save reports its progress as events, and the events and the reply to save.start/save.retry travel separately
 * (in the browser bridge, an event stream and a fetch): a folder save can be written before its reply arrives.
 * The newest status of a job not yet known is kept, so the list never sticks at "queued".
 */
const earlySave = new Map<string, SaveJob>();
let saveEvents = 0; // statuses applied to the job on screen: a retry's reply is older than any that came after it was asked
function keepEarlySave(job: SaveJob): void {
  if (earlySave.size >= 16) earlySave.delete(earlySave.keys().next().value!);
  earlySave.set(job.jobId, job);
}
function saveKnown(job: SaveJob): void {
  saveState.save = earlySave.get(job.jobId) ?? job;
  earlySave.clear();
}

/** A save.status event. */
export function onSaveStatus(job: SaveJob): void {
  if (saveState.save && job.jobId === saveState.save.jobId) {
    saveState.save = job;
    saveEvents++;
  } else keepEarlySave(job);
}

export async function save(target: { kind: 'pacs'; node: string } | { kind: 'folder'; folder?: string }, choice: { ensemble: number; slices: number[] }): Promise<void> {
  const run = runState.run;
  if (!run || !choice.slices.length) return;
  const edited = packedCorrections(choice.slices);
  const measurements = measurementsToSave();
  const left = measureState.list.length - measurements.length;
  if (left) appState.notice = `${left} measurement${left === 1 ? ' is' : 's are'} not saved: not on one axial slice, or an ROI whose values are not shown yet.`;
  const job = await busy('Preparing the DICOM objects', () =>
    window.halo['save.start']({
      runId: run.runId,
      target,
      slices: choice.slices,
      ensemble: choice.ensemble,
      edits: edited.length ? edited : undefined,
      measurements: measurements.length ? measurements : undefined,
    }),
  );
  if (job) saveKnown(job);
}

/** The measurements alone (an SR), when there is no result of this session to save them with. */
export async function saveMeasurementsOnly(target: { kind: 'pacs'; node: string } | { kind: 'folder'; folder?: string }): Promise<void> {
  const study = studyState.study;
  const measurements = measurementsToSave();
  if (!study || !measurements.length) return;
  const job = await busy('Preparing the DICOM objects', () => window.halo['save.measurements']({ studyId: study.studyId, target, measurements }));
  if (job) saveKnown(job);
}

export async function retry(itemId: string): Promise<void> {
  const job = saveState.save;
  if (!job) return;
  const seen = saveEvents;
  const next = await busy('Retrying', () => window.halo['save.retry']({ jobId: job.jobId, itemId }));
  if (next && saveEvents === seen && saveState.save?.jobId === next.jobId) saveState.save = next;
}
