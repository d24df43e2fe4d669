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
import { forgetEdits } from './edit-tool';
import { forgetResults, resultsState } from './results';
import { saveState } from './save';
import { forgetRun, prepareModel } from './segmentation';
import { studyState } from './study';
import { refreshView, viewer, viewportElements, viewState } from './view';

export const RETRIEVING = 'Retrieving from the PACS';

export async function openStudy(get: () => Promise<StudyView | null>, what = 'Opening the study'): Promise<void> {
  const study = await busy(what, get);
  if (study) await show(study);
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
  await openStudy(() => window.halo['study.setRoles']({ studyId: id, roles }), 'Reassigning sequences');
}

async function show(study: StudyView): Promise<void> {
  // Forget everything about the previous study before anything of the new one is drawn.
  forgetRun();
  forgetResults();
  forgetEdits();
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
      if (meta.studyInstanceUID !== study.studyInstanceUID || meta.role !== role) throw new Error('The images received do not belong to this study.');
      volumes.push({ role, data: markRaw(arrays.data as Float32Array) });
    }
    // Let Vue create the viewport elements first.
    await new Promise((r) => requestAnimationFrame(() => r(null)));
    await viewer.load(study.studyId, study.reference!, volumes, viewportElements());
    viewState.nz = viewer.sliceCount;
    viewState.k = viewer.slice;
    viewState.labels = viewer.labels();
    viewer.setOverlay(viewState.overlay);
    refreshView();
    viewState.viewerReady = true;
  });
  void prepareModel();
}
