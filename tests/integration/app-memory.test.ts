/**
 * Memory over a reading session (issue 22, item 8): opening another study releases the previous one's volumes,
 * runs (every member of every slice) and model session, so ten studies opened and segmented one after another
 * hold what one does. Measured through the real handlers on the bundled demo study, after garbage collection.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import type { HaloEvents } from '../../main/app/contract';
import { AppServices, type Host } from '../../main/app/services';

setFlagsFromString('--expose_gc');
const gc = runInNewContext('gc') as () => void;

/** What the JS side holds: the heap and the ArrayBuffers behind volumes and results. */
function heldMiB(): number {
  gc();
  gc();
  const m = process.memoryUsage();
  return (m.heapUsed + m.external + m.arrayBuffers) / 2 ** 20;
}

describe('memory over ten studies', () => {
  it('returns to the level of one study after opening and segmenting ten', async () => {
    const done = new Set<string>();
    const host: Host = {
      mode: 'bridge',
      emit: (event, payload) => {
        if (event === 'segment.done') done.add((payload as HaloEvents['segment.done']).runId);
      },
      allowedFolders: () => [],
      chooseFolder: async () => null,
    };
    const svc = new AppServices(host, { cacheDir: null });
    const levels: number[] = [];
    try {
      for (let i = 0; i < 10; i++) {
        const study = await svc.openDemo();
        const k = Math.floor(study.reference!.dims[2] / 2);
        const run = await svc.startSegmentation({ studyId: study.studyId, modelId: 'wt-4seq', steps: 2, device: 'cpu', ensemble: 2, focus: k, range: { from: k - 2, to: k + 3 } });
        while (!done.has(run.runId)) await new Promise((r) => setTimeout(r, 50));
        levels.push(heldMiB());
      }
      console.log(`held after each study (MiB): ${levels.map((v) => v.toFixed(0)).join(', ')}`);
      expect(svc.held()).toEqual({ studies: 1, runs: 1, sessions: 1 });
      // One study's volumes alone are tens of MiB: ten kept would be far above this margin.
      expect(levels[9] - levels[0]).toBeLessThan(24);
    } finally {
      await svc.dispose();
    }
  }, 300_000);
});
