/**
 * The DICOM results of a run on a DICOM study: binary SEG, fractional (probability) SEG and the variance
 * Parametric Map, all derived from the FLAIR series and written atomically.
 */
import { join } from 'node:path';
import { buildParametricMap } from '../dicom/parametric-map';
import { buildSegmentation } from '../dicom/seg';
import { writeFileAtomic } from '../io/atomic';
import type { ModelCard } from '../model/card';
import type { Study } from '../study/load-study';
import type { SequenceRole } from '../volume/volume';
import type { VolumeOutputs } from './outputs';

import { DICOM_OUTPUT_FILES } from './output-names';

export { DICOM_OUTPUT_FILES };

export interface DicomOutputs {
  seg: Buffer;
  fractional: Buffer;
  variance: Buffer;
}

export interface DicomOutputOptions {
  /**
   * Leave out SEG frames with no tumour (highdicom's default; the fractional SEG of a whole volume shrinks from
   * about 9 MB). The processed slices are still listed in ImageComments, so a missing frame of a processed slice
   * reads as "no tumour", never as "not computed". The Parametric Map keeps every processed slice.
   */
  omitEmptyFrames?: boolean;
  /** Halo extracted the brain itself (a study with the skull): the objects say so. */
  brainExtracted?: boolean;
}

export function buildDicomOutputs(
  study: Study,
  card: ModelCard,
  v: VolumeOutputs,
  processedSlices: number[],
  opts: DicomOutputOptions = {},
): DicomOutputs {
  const others = (Object.keys(study.volumes) as SequenceRole[]).filter((r) => r !== 'FLAIR').map((r) => study.volumes[r]!);
  const shared = {
    source: study.reference,
    otherInputs: others,
    ensembleSize: v.ensemble,
    model: { id: card.id, version: card.version },
    processedSlices,
    brainExtracted: opts.brainExtracted,
  };
  return {
    seg: buildSegmentation({ ...shared, content: { type: 'BINARY', mask: v.mask }, omitEmptyFrames: opts.omitEmptyFrames }),
    fractional: buildSegmentation({ ...shared, content: { type: 'FRACTIONAL', probability: v.mean }, omitEmptyFrames: opts.omitEmptyFrames }),
    variance: buildParametricMap({ ...shared, variance: v.variance }),
  };
}

export async function writeDicomOutputs(dir: string, outputs: DicomOutputs): Promise<string[]> {
  const files: string[] = [];
  for (const key of ['seg', 'fractional', 'variance'] as const) {
    await writeFileAtomic(join(dir, DICOM_OUTPUT_FILES[key]), outputs[key]);
    files.push(DICOM_OUTPUT_FILES[key]);
  }
  return files;
}
