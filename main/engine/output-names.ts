/** File names of a run's results (a module of its own: naming them must not load dcmjs). */
export const VOLUME_OUTPUT_FILES = ['mean.nii.gz', 'variance.nii.gz', 'mask.nii.gz', 'samples.nii.gz', 'summary.json'] as const;
export const DICOM_OUTPUT_FILES = { seg: 'seg.dcm', fractional: 'seg-fractional.dcm', variance: 'variance-pm.dcm' } as const;
/** Every file a run may write: an earlier run's files that a new run does not write are removed with it. */
export const ALL_OUTPUT_FILES = [...VOLUME_OUTPUT_FILES, ...Object.values(DICOM_OUTPUT_FILES)];
