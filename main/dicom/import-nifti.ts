/**
 * Turn a NIfTI case folder named as BraTS names its files (one .nii/.nii.gz/.nii.xz per sequence; BraTS, or a
 * skull-on clinical case such as the TCGA ones) into a DICOM MR study: one series per sequence, one
 * MR Image file per axial slice, exact geometry from the NIfTI affine, original int16 values. The result is
 * honestly labelled as derived (converted) data: unknown acquisition parameters stay empty.
 */
import { mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';
import { InputError } from '../errors';
import { writeFileAtomic } from '../io/atomic';
import { readNifti } from '../io/nifti';
import { findCaseFiles } from '../study/load-study';
import { SEQUENCE_ROLES, type SequenceRole, type Vec3, type Volume, voxelToWorld } from '../volume/volume';
import { buildMrImage, type MrSeriesInfo } from './mr-image';
import { newUid } from './uid';
import { HALO_VERSION } from './iod';

/** How each role is described, and the MR defined terms that the sequence type itself implies. */
const ROLE_SERIES: Record<SequenceRole, { number: number; description: string; scanningSequence: string[]; contrast?: string }> = {
  // FLAIR is by definition an inversion-recovery (spin-echo) sequence.
  FLAIR: { number: 1, description: 'FLAIR', scanningSequence: ['SE', 'IR'] },
  // BraTS pools T1 protocols (2D spin echo, 3D gradient echo) and does not record which: RM = "research mode".
  T1: { number: 2, description: 'T1', scanningSequence: ['RM'] },
  T1ce: {
    number: 3,
    description: 'T1 post-contrast',
    scanningSequence: ['RM'],
    // BraTS T1ce is gadolinium-enhanced by protocol; the actual agent is not recorded.
    contrast: 'Gadolinium-based contrast agent (agent not recorded)',
  },
  // Clinical T2-weighted imaging is (turbo) spin echo.
  T2: { number: 4, description: 'T2', scanningSequence: ['SE'] },
};

export interface ImportedSeries {
  role: SequenceRole;
  seriesInstanceUID: string;
  folder: string;
  files: string[];
  niftiPath: string;
}

export interface ImportResult {
  studyInstanceUID: string;
  frameOfReferenceUID: string;
  patientID: string;
  series: ImportedSeries[];
}

export interface ImportOptions {
  /** Only these slices (k, inclusive range), e.g. to keep tests fast. Default: all. */
  slices?: { from: number; to: number };
  now?: Date;
}

const dot = (a: Vec3, b: Vec3) => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
const cross = (a: Vec3, b: Vec3): Vec3 => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];

/**
 * Import a BraTS case folder into `outDir` (created; must be empty): `outDir/<n>-<ROLE>/IM<k>.dcm`.
 * Patient name and ID are the case folder's name (e.g. BraTS-GLI-00027-000).
 */
export async function importNiftiCase(caseDir: string, outDir: string, options: ImportOptions = {}): Promise<ImportResult> {
  const byRole = await findCaseFiles(caseDir);
  const files = SEQUENCE_ROLES.filter((r) => byRole[r]).map((role) => ({ role, path: byRole[role]! }));
  if (files.length === 0) {
    throw new InputError(
      `no BraTS sequence files in ${caseDir}: expected names ending in _flair/_t1/_t1ce/_t2 or -t2f/-t1n/-t1c/-t2w, with .nii, .nii.gz or .nii.xz`,
    );
  }
  files.sort((x, y) => ROLE_SERIES[x.role].number - ROLE_SERIES[y.role].number);
  const existing = await readdir(outDir).catch(() => [] as string[]);
  if (existing.length > 0) throw new InputError(`output folder ${outDir} is not empty; give a new or empty folder for the DICOM study`);
  await mkdir(outDir, { recursive: true });

  const caseName = path.basename(path.resolve(caseDir));
  const studyInstanceUID = newUid();
  const frameOfReferenceUID = newUid(); // one frame: BraTS sequences of a case are co-registered in one space
  const now = options.now ?? new Date();
  const result: ImportResult = { studyInstanceUID, frameOfReferenceUID, patientID: caseName, series: [] };

  for (const file of files) {
    const volume = await readNifti(file.path);
    const info = ROLE_SERIES[file.role];
    const seriesInstanceUID = newUid();
    const folder = path.join(outDir, `${info.number}-${file.role}`);
    await mkdir(folder, { recursive: true });
    const series: MrSeriesInfo = {
      patientName: caseName,
      patientID: caseName,
      // A NIfTI file holds no patient identity: name and ID are the case folder's name.
      deidentificationMethod: 'NIfTI import: no identity in source; ID is the folder name',
      studyInstanceUID,
      // Not "BraTS": skull-on clinical cases (TCGA) come through here too, and the name says the collection.
      studyDescription: `${caseName} (imported from NIfTI)`,
      seriesInstanceUID,
      seriesNumber: info.number,
      seriesDescription: info.description,
      frameOfReferenceUID,
      scanningSequence: info.scanningSequence,
      sequenceVariant: ['NONE'],
      contrastAgent: info.contrast,
      derivationDescription:
        `Converted by Halo ${HALO_VERSION} import-nifti from ${path.basename(file.path)} (case ${caseName}). ` +
        'NIfTI records no acquisition parameters: they are left empty, and ScanningSequence reflects the sequence ' +
        'type only.',
    };
    const written = await writeSeries(volume, series, folder, file.path, options, now);
    result.series.push({ role: file.role, seriesInstanceUID, folder, files: written, niftiPath: file.path });
  }
  return result;
}

/**
 * Writes `volume` as one MR Image file per k slice into `folder` (which must exist): the slices are the volume's
 * i-j planes, whatever their orientation. `niftiPath` names the source in messages. Values must be int16.
 */
export async function writeSeries(
  volume: Volume,
  series: MrSeriesInfo,
  folder: string,
  niftiPath: string,
  options: ImportOptions,
  now: Date,
): Promise<string[]> {
  const g = volume.geometry;
  const [nx, ny, nz] = g.dims;
  const [rowDir, colDir, sliceDir] = g.direction;
  // DICOM slices carry only a row and a column direction; the stack direction is implied by the positions.
  // A sheared NIfTI grid (slice axis not perpendicular to the slices) cannot be read back as a regular stack.
  const normal = cross(rowDir, colDir);
  if (Math.abs(Math.abs(dot(normal, sliceDir)) - 1) > 1e-4 || Math.abs(dot(rowDir, colDir)) > 1e-4) {
    throw new InputError(`${niftiPath}: the NIfTI affine is sheared (voxel axes not orthogonal); resample it to an orthogonal grid first`);
  }
  // Note: for a left-handed grid (slice axis = -normal) a DICOM reader sorts the slices along the normal, so
  // it sees the same voxels in reverse k order. BraTS grids are right-handed in LPS.
  const { from, to } = options.slices ?? { from: 0, to: nz - 1 };
  if (!(Number.isInteger(from) && Number.isInteger(to) && from >= 0 && to < nz && from <= to)) {
    throw new InputError(`slice range ${from}..${to} is outside 0..${nz - 1} of ${niftiPath}`);
  }
  const sliceLen = nx * ny;
  const files: string[] = [];
  for (let k = from; k <= to; k++) {
    const src = volume.data.subarray(k * sliceLen, (k + 1) * sliceLen);
    const pixels = new Int16Array(sliceLen);
    for (let p = 0; p < sliceLen; p++) {
      const v = src[p];
      if (!Number.isInteger(v) || v < -32768 || v > 32767) {
        throw new InputError(
          `${niftiPath} holds value ${v} at slice ${k}, which is not a 16-bit integer; import-nifti keeps the original values and needs integer (int16) BraTS volumes`,
        );
      }
      pixels[p] = v;
    }
    const buf = buildMrImage(
      series,
      {
        sopInstanceUID: newUid(),
        instanceNumber: k + 1,
        rows: ny,
        columns: nx,
        position: voxelToWorld(g, 0, 0, k),
        rowDirection: rowDir,
        columnDirection: colDir,
        pixelSpacing: [g.spacing[1], g.spacing[0]],
        sliceThickness: g.spacing[2],
        spacingBetweenSlices: g.spacing[2],
        pixels,
      },
      now,
    );
    const file = path.join(folder, `IM${String(k + 1).padStart(4, '0')}.dcm`);
    await writeFileAtomic(file, buf);
    files.push(file);
  }
  return files;
}
