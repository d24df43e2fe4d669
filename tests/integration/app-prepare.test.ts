/**
 * Preparing the model while the study opens (issue 10, item 14), through the real handlers on the bundled demo
 * study: the Segment click reuses the prepared session, and preparing for other settings never closes the
 * session of a run that can still be grown, nor of one that is just starting.
 */
import { describe, expect, it } from 'vitest';
import type { HaloEvents } from '../../main/app/contract';
import { AppServices, type Host } from '../../main/app/services';

/** The real services on a bridge host, and a wait for a run's end. */
function services() {
  const done: HaloEvents['segment.done'][] = [];
  const host: Host = {
    mode: 'bridge',
    emit: (event, payload) => {
      if (event === 'segment.done') done.push(payload as HaloEvents['segment.done']);
    },
    allowedFolders: () => [],
    chooseFolder: async () => null,
  };
  const waitDone = async (runId: string) => {
    while (!done.some((d) => d.runId === runId)) await new Promise((r) => setTimeout(r, 50));
    return done.find((d) => d.runId === runId)!;
  };
  return { svc: new AppServices(host, { cacheDir: null }), waitDone };
}

describe('segment.prepare', () => {
  it('prepares once, is reused by the click, and leaves a growable run alone', async () => {
    const { svc, waitDone } = services();
    try {
      const study = await svc.openDemo();
      const settings = { studyId: study.studyId, modelId: 'wt-4seq', steps: 2, device: 'cpu' as const };
      expect((await svc.prepareSegmentation(settings)).ready).toBe(true);
      const again = await svc.prepareSegmentation(settings);
      expect(again.ready).toBe(true);
      expect(again.seconds).toBeLessThan(0.5); // already open: nothing to do

      const k = Math.floor(study.reference!.dims[2] / 2);
      const run = await svc.startSegmentation({ ...settings, ensemble: 1, focus: k, range: { from: k, to: k + 1 } });
      expect((await waitDone(run.runId)).status).toBe('done');

      // New settings after a run: not prepared (that would close the run's session) ...
      expect((await svc.prepareSegmentation({ ...settings, steps: 3 })).ready).toBe(false);
      // ... so the run still grows.
      const grown = await svc.growEnsemble(run.runId, 1, k);
      expect((await waitDone(grown.runId)).status).toBe('done');
      expect(grown.ensemble).toBe(2);
    } finally {
      await svc.dispose();
    }
  });

  it('a prepare for other settings sent just before the click does not close the run\'s session', async () => {
    // The viewer's model change sends a prepare per setting it updates; one could arrive while the click's run
    // starts. Before session operations were serialised it closed that run's session ("Session already disposed").
    const { svc, waitDone } = services();
    try {
      const study = await svc.openDemo();
      const settings = { studyId: study.studyId, modelId: 'wt-4seq', steps: 2, device: 'cpu' as const };
      expect((await svc.prepareSegmentation(settings)).ready).toBe(true);
      const k = Math.floor(study.reference!.dims[2] / 2);
      const [run, other] = await Promise.all([
        svc.startSegmentation({ ...settings, ensemble: 1, focus: k, range: { from: k, to: k + 1 } }),
        svc.prepareSegmentation({ ...settings, steps: 3 }),
      ]);
      expect(other.ready, 'not prepared: that would close the run\'s session').toBe(false);
      const end = await waitDone(run.runId);
      expect(end.message).toBeUndefined();
      expect(end.status).toBe('done');
    } finally {
      await svc.dispose();
    }
  });
});
