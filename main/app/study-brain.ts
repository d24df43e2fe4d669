/**
 * The brain Halo segments inside, for the viewer's outline: on a study with the skull, the brain extracted from
 * its FLAIR (brain-extraction.ts, the same function on the same series as a run's, so the same mask), on the
 * reference grid; on a skull-stripped study nothing (its brain is what is not black). Made on request, once.
 */
import { InputError } from '../errors';
import { brainIfUnstripped } from '../engine/brain-extraction';
import { pack } from './binary';
import type { StudyBrainMeta } from './contract';
import type { OpenStudy } from './studies';

const made = new WeakMap<OpenStudy, Uint8Array | null>();

/** The packed answer of `study.brain`: meta, and `mask` (1/0 per voxel of the reference grid) when extracted. */
export function studyBrain(s: OpenStudy): Uint8Array {
  const ref = s.view.reference;
  const flair = s.display?.aligned.FLAIR;
  if (!ref || !flair || ref.seriesInstanceUID !== s.view.roles.FLAIR) {
    throw new InputError('Halo finds the brain on the FLAIR: assign the FLAIR series in the viewport header first.');
  }
  let mask = made.get(s);
  if (mask === undefined) {
    const geometry = s.display!.volumes.FLAIR!.geometry;
    made.set(s, (mask = brainIfUnstripped(flair, geometry)));
  }
  const meta: StudyBrainMeta = {
    studyId: s.id,
    studyInstanceUID: s.view.studyInstanceUID,
    seriesInstanceUID: ref.seriesInstanceUID,
    dims: ref.dims,
    extracted: mask !== null,
  };
  return pack(meta, mask ? { mask } : {});
}
