/**
 * How large the inputs of one study may be, so that a damaged or hostile header (a 65535 x 65535 DICOM, a
 * NIfTI that inflates to gigabytes) is refused before its memory is allocated rather than exhausting the
 * workstation. Every input is held as float32 voxels; the limits are in voxels.
 */
import { InputError } from '../errors';

/** One volume: 2^28 voxels (1 GiB as float32), e.g. 1024 x 1024 x 256; clinical MR series are far smaller. */
export const MAX_VOLUME_VOXELS = 2 ** 28;
/** All the volumes of one study together: 2^29 voxels (2 GiB as float32). */
export const MAX_STUDY_VOXELS = 2 ** 29;

const gib = (voxels: number) => `${((voxels * 4) / 2 ** 30).toFixed(1)} GiB`;

/** Throws InputError when one volume of `dims` would exceed MAX_VOLUME_VOXELS. */
export function checkVolumeSize(dims: readonly number[], where: string): void {
  const voxels = dims.reduce((a, b) => a * b, 1);
  if (voxels > MAX_VOLUME_VOXELS) {
    throw new InputError(
      `${where} describes ${dims.join(' x ')} voxels (${gib(voxels)} as float32), more than the ${gib(MAX_VOLUME_VOXELS)} Halo ` +
        'reads per volume: the header is damaged, or this is not a head MR volume. Check or re-export the file.',
    );
  }
}

/** Throws InputError when the volumes of one study together would exceed MAX_STUDY_VOXELS. */
export function checkStudySize(volumes: { what: string; voxels: number }[]): void {
  const total = volumes.reduce((a, v) => a + v.voxels, 0);
  if (total > MAX_STUDY_VOXELS) {
    throw new InputError(
      `The inputs together hold ${gib(total)} of voxels (${volumes.map((v) => `${v.what}: ${gib(v.voxels)}`).join(', ')}), ` +
        `more than the ${gib(MAX_STUDY_VOXELS)} Halo reads for one study. Resample the series to a coarser grid first.`,
    );
  }
}
