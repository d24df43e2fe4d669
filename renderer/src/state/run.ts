/**
 * The segmentation run on screen and the settings for the next one: which run the results belong to, whether
 * it is running, its progress, and whether the model is prepared. Starting and following a run: segment.ts.
 */
import { reactive } from 'vue';
import type { ResultTag, SegmentRun } from '../../../main/app/contract';
import { appState } from './app';
import { studyState } from './study';

/** The run id under which results already in the study are shown: never sent to the main process. */
export const PRIOR_RUN = 'prior';

export const runState = reactive({
  settings: {
    modelId: '',
    steps: 20,
    ensemble: 5,
    /** The user typed the ensemble size; else a run takes the model's default for the study (larger with the skull). */
    ensembleChosen: false,
    scope: 'all' as 'all' | 'around',
    radius: 2,
    device: 'auto' as 'auto' | 'cpu' | 'cuda',
  },
  run: null as SegmentRun | null,
  running: false,
  progress: null as { fraction: number; etaSeconds: number | null; slicesDone: number; slicesTotal: number } | null,
  lastRunStatus: null as string | null,
  /** The model prepared for the open study and the current settings (so Segment only runs slices). */
  model: null as null | 'preparing' | 'ready',
});

export function applyModel(id: string): void {
  const m = appState.info?.models.find((x) => x.id === id);
  if (!m) return;
  runState.settings.modelId = m.id;
  runState.settings.steps = m.defaults.steps;
  runState.settings.ensemble = m.defaults.ensemble;
  runState.settings.ensembleChosen = false;
}

/** A tag belongs to what is on screen: same run, same study, same reference (FLAIR) series. */
export function tagMatches(tag: ResultTag): boolean {
  const s = studyState.study;
  const run = runState.run;
  return !!s && !!s.reference && !!run && tag.runId === run.runId && tag.studyInstanceUID === s.studyInstanceUID && tag.seriesInstanceUID === s.reference.seriesInstanceUID && tag.k >= 0 && tag.k < s.reference.dims[2];
}
