/** Zoom and pan of one sequence apply to all: they show the same anatomy on the same grid. */
import { SynchronizerManager, synchronizers } from '@cornerstonejs/tools';

const ZOOM_PAN_SYNC = 'halo-zoom-pan';

export function linkZoomPan(engineId: string, viewportIds: string[]): void {
  const sync = synchronizers.createZoomPanSynchronizer(ZOOM_PAN_SYNC);
  for (const viewportId of viewportIds) sync.add({ renderingEngineId: engineId, viewportId });
}

/**
 * Remove the link, while its viewports still exist. Each viewport is taken out one by one from a copy of the
 * lists: Cornerstone's Synchronizer.destroy() (5.14) removes sources from the array it iterates, so every other
 * viewport kept its listener, and a later study's viewport on the same element passed its zoom to viewports that
 * were gone ("Synchronizer … Cannot read properties of undefined (reading 'render')").
 */
export function unlinkZoomPan(): void {
  const sync = SynchronizerManager.getSynchronizer(ZOOM_PAN_SYNC);
  if (!sync) return;
  for (const v of [...sync.getSourceViewports()]) sync.removeSource(v);
  for (const v of [...sync.getTargetViewports()]) sync.removeTarget(v);
  SynchronizerManager.destroySynchronizer(ZOOM_PAN_SYNC);
}
