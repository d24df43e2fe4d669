/**
 * Opening a study (a folder, the PACS, the demo, or new sequence roles for the open one): everything about the
 * previous study is forgotten before anything of the new one is drawn, then its images are loaded into the
 * viewer and the model is prepared for it.
 */
import { markRaw } from 'vue';
import { unpack } from '../../../main/app/binary';
import type { Role, StudyView } from '../../../main/app/contract';
import { ROLES } from '../../../main/app/contract';
import { appState, busy } from './app';
import { forgetBrain } from './brain';
import { forgetEdits } from './edit-tool';
import { forgetResults, resultsState } from './results';
import { saveState } from './save';
import { runState } from './run';
import { forgetRun, prepareModel } from './segmentation';
import { studyState } from './study';
import { layoutViews, refreshView, viewer, viewportElements, viewState } from './view';

export const RETRIEVING = 'Retrieving from the PACS';

/**
 * Counts openings (and role changes): when two overlap, e.g. the demo still loading when the user picks a
 * folder, only the later is shown; the earlier is dropped without a word (the main process keeps the later too).
 */
let openings = 0;

export async function openStudy(get: () => Promise<StudyView | null>, what = 'Opening the study'): Promise<void> {
  const opening = ++openings;
  const running = runningRun();
  const study = await busy(what, async () => {
    try {
      return await get();
    } catch (err) {
      if (opening !== openings) return null; // superseded: its refusal is not news
      throw err;
    }
  });
  if (study && opening === openings) await show(study, cancelledRunNotice(running, 'another study was opened'), opening);
}

export async function reassignRole(role: Role, seriesInstanceUID: string): Promise<void> {
  const open = studyState.study;
  if (!open) return;
  const roles: Partial<Record<Role, string>> = {};
  for (const r of ROLES) {
    const uid = r === role ? seriesInstanceUID : open.roles[r];
    if (uid && (r === role || uid !== seriesInstanceUID)) roles[r] = uid;
  }
  const id = open.studyId;
  const opening = ++openings;
  const running = runningRun();
  const study = await busy('Reassigning sequences', () => window.halo['study.setRoles']({ studyId: id, roles }));
  if (study && opening === openings) await show(study, cancelledRunNotice(running, 'the sequences were reassigned'), opening);
}

/** The run under way before a study is opened (the main process cancels it), as the notice will name it. */
function runningRun(): { who: string; n: number } | null {
  if (!runState.running) return null;
  return { who: studyState.study?.patientName || studyState.study?.patientId || 'the previous study', n: runState.settings.ensemble };
}

/**
 * Opening a study (or new roles) ends the run on screen: say what was lost, or the user finds it gone without a
 * word. Read after the opening call, whose cancelled run's 'done' event may have come first.
 */
function cancelledRunNotice(before: { who: string; n: number } | null, why: string): string | null {
  if (!before || !(runState.running || runState.lastRunStatus?.startsWith('Cancelled'))) return null;
  const p = runState.progress;
  const done = p && p.slicesTotal ? `${p.slicesDone} of ${p.slicesTotal} slices were done` : 'no slice was done yet';
  // Finished slices stay in the result cache (when there is one): a new run of that study does not redo them.
  return `The segmentation of ${before.who} (n = ${before.n}) was cancelled because ${why}: ${done}.`;
}

/**
 * A new study starts at the model's ensemble size: a size grown or chosen on the last study would otherwise carry
 * over silently (a run of 10 takes twice as long as the default 5). Said only when the user had chosen it.
 */
function resetEnsemble(): string | null {
  const before = runState.settings.ensemble;
  const chosen = runState.settings.ensembleChosen;
  const m = appState.info?.models.find((x) => x.id === runState.settings.modelId);
  if (!m) return null;
  runState.settings.ensembleChosen = false;
  if (before === m.defaults.ensemble) return null;
  runState.settings.ensemble = m.defaults.ensemble;
  return chosen ? `Ensemble size reset to the model's default of ${m.defaults.ensemble} for this study (it was ${before}).` : null;
}

async function show(study: StudyView, cancelled: string | null, opening: number): Promise<void> {
  const sameStudy = studyState.study?.studyId === study.studyId;
  const notes = [cancelled, sameStudy ? null : resetEnsemble()].filter((x) => x !== null);
  appState.notice = notes.length ? notes.join(' ') : null;
  // Forget everything about the previous study before anything of the new one is drawn.
  forgetRun();
  forgetResults();
  forgetEdits();
  forgetBrain();
  resultsState.memberCount = 0;
  saveState.save = null;
  studyState.study = study;
  appState.panel = 'viewer';
  viewState.viewerReady = false;
  viewer.dispose();
  if (!study.reference) {
    viewState.shownRoles = [];
    return;
  }
  const roles = ROLES.filter((r) => study.roles[r]);
  viewState.shownRoles = roles;
  if (!roles.includes(viewState.mainRole)) viewState.mainRole = roles[0];
  await busy('Loading images', async () => {
    const volumes = [];
    for (const role of roles) {
      const { meta, arrays } = unpack<{ studyInstanceUID: string; role: Role }>(await window.halo['study.volume']({ studyId: study.studyId, role }));
      if (opening !== openings) return; // another study is being shown
      if (meta.studyInstanceUID !== study.studyInstanceUID || meta.role !== role) throw new Error('The images received do not belong to this study.');
      volumes.push({ role, data: markRaw(arrays.data as Float32Array) });
    }
    // Let Vue create the viewport elements first.
    await new Promise((r) => requestAnimationFrame(() => r(null)));
    if (opening !== openings) return;
    await viewer.load(study.studyId, study.reference!, volumes, layoutViews(), viewportElements());
    if (opening !== openings) return;
    viewState.nz = viewer.sliceCount;
    viewState.k = viewer.slice;
    viewer.setOverlay(viewState.overlay);
    refreshView();
    viewState.viewerReady = true;
  });
  void prepareModel();
}
