/**
 * The renderer's start: subscribe to the main process's events, connect the viewer's callbacks to the state,
 * read what the app offers, and open the demo study when there is one. Also the read-only views the end-to-end
 * tests and the developer tools use (window.haloViewer, window.haloDebug).
 */
import { appState, busy } from './app';
import { collectEdit } from './edit-tool';
import { refreshMeasurements } from './measurements';
import { openStudy, RETRIEVING } from './open-study';
import { resultSlices, resultsState, sliceChanged, type SliceStat } from './results';
import { applyModel, runState } from './run';
import { onSaveStatus } from './save';
import { onDone, onProgress, onSlice } from './segmentation';
import { studyState } from './study';
import { refreshView, viewer, viewState } from './view';

Object.assign(window as unknown as Record<string, unknown>, {
  haloViewer: viewer,
  haloDebug: Object.freeze({
    runId: () => runState.run?.runId ?? null,
    resultSlices,
    stats: () => JSON.parse(JSON.stringify(resultsState.stats)) as Record<number, SliceStat>,
    settings: () => ({ ...runState.settings }),
    spacingZ: () => studyState.study?.reference?.spacing[2] ?? 0,
    dims: () => [...(studyState.study?.reference?.dims ?? [])],
    spacing: () => [...(studyState.study?.reference?.spacing ?? [])],
  }),
});

export async function start(): Promise<void> {
  window.halo.on('segment.progress', onProgress);
  window.halo.on('segment.slice', (ev) => void onSlice(ev));
  window.halo.on('segment.done', onDone);
  window.halo.on('pacs.retrieve', (p) => {
    if (appState.busy?.startsWith(RETRIEVING)) appState.busy = `${RETRIEVING}: ${p.done}${p.total ? ` of ${p.total}` : ''} images`;
  });
  window.halo.on('save.status', onSaveStatus);
  viewer.onMaskEdited = collectEdit;
  viewer.onMeasurementsChanged = refreshMeasurements;
  viewer.onViewChange = refreshView;
  viewer.onCrosshairChange = refreshView;
  viewer.onSliceChange = (k) => {
    const prev = viewState.k;
    viewState.k = k;
    refreshView();
    sliceChanged(prev, k);
  };
  const info = await busy('Starting', () => window.halo['app.info']({}));
  if (!info) return;
  appState.info = info;
  const model = info.models.find((m) => m.id === 'wt-4seq') ?? info.models[0];
  if (model) applyModel(model.id);
  if (info.demoAvailable) await openStudy(() => window.halo['study.openDemo']({}), 'Opening the demo study');
}
