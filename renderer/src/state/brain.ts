/**
 * The outline of the brain Halo segments inside: whether the user wants it, and the open study's brain, asked of
 * the main process (study.brain) the first time it is needed: when the user turns the outline on (button, key
 * k) or when a run says Halo extracted the brain itself. Checked against the study on screen before it is drawn.
 */
import { reactive } from 'vue';
import { unpack } from '../../../main/app/binary';
import type { SegmentRun, StudyBrainMeta } from '../../../main/app/contract';
import { busy, fail } from './app';
import { studyState } from './study';
import { viewer, viewState } from './view';

export const brainState = reactive({
  /** The user wants the outline (kept from study to study). */
  on: false,
  /** The open study's brain: not asked yet (null), extracted (a mask is outlined) or skull-stripped (none needed). */
  found: null as null | 'extracted' | 'stripped',
});

/** Counts studies shown: an answer for an earlier one is dropped. */
let generation = 0;

/** Another study (or new roles) is shown: its brain is asked again when needed. */
export function forgetBrain(): void {
  generation++;
  brainState.found = null;
}

export async function toggleBrain(): Promise<void> {
  brainState.on = !brainState.on;
  if (brainState.on && brainState.found === null) await loadBrain();
  viewer.setBrainVisible(brainState.on);
}

/**
 * A run started: when Halo extracted the brain for it, the outline is shown for the user to check (the first
 * time only: an outline the user turned off stays off).
 */
export async function onRunStarted(run: SegmentRun): Promise<void> {
  if (!run.brainExtraction || brainState.found !== null) return;
  brainState.on = true;
  if (brainState.found === null) await loadBrain();
  viewer.setBrainVisible(brainState.on);
}

async function loadBrain(): Promise<void> {
  const study = studyState.study;
  if (!study?.reference || !viewState.viewerReady) return;
  const gen = generation;
  const bytes = await busy('Finding the brain', () => window.halo['study.brain']({ studyId: study.studyId }));
  if (!bytes || gen !== generation) return;
  const { meta, arrays } = unpack<StudyBrainMeta>(bytes);
  const ref = study.reference;
  const ours = meta.studyId === study.studyId && meta.studyInstanceUID === study.studyInstanceUID && meta.seriesInstanceUID === ref.seriesInstanceUID && meta.dims.join() === ref.dims.join();
  if (!ours) {
    fail(new Error('The brain mask received does not belong to the study on screen; it is not shown.'));
    return;
  }
  if (meta.extracted) {
    try {
      await viewer.showBrain(arrays.mask as Uint8Array);
    } catch (err) {
      if (gen === generation) fail(err); // else the viewer moved on to another study meanwhile
      return;
    }
    if (gen !== generation) return;
  }
  brainState.found = meta.extracted ? 'extracted' : 'stripped';
}
