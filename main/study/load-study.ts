/**
 * A study as the engine needs it: the required sequences, each on the reference (FLAIR) grid, with a stable
 * identity for the cache. Three ways in: a BraTS-layout NIfTI case folder, explicit NIfTI files per sequence,
 * or a DICOM study folder (series grouped and mapped to roles).
 */
import { createHash, webcrypto } from 'node:crypto';
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError } from '../errors';
import { checkStudySize } from '../io/input-limits';
import { decodeNifti, readNiftiLayout } from '../io/nifti';
import { SEQUENCE_ROLES, type SequenceRole, type Volume } from '../volume/volume';
import type { DicomSource } from '../dicom/derived';
import { str } from '../dicom/values';
import { describeGap, gapsOf, missingSlices, type NamedGap } from '../volume/gaps';
import { alignToReference, slicesReading } from './align';
import { refuseDisplaced } from './displacement';
import { assignRoles, type RoleOverrides } from './roles';

export type StudyInput =
  | { kind: 'case'; folder: string }
  | { kind: 'files'; files: Partial<Record<SequenceRole, string>> }
  | {
      kind: 'dicom';
      folder: string;
      roles?: RoleOverrides;
      /** Combine series whose PatientID or PatientName differ (the user says they are one patient). */
      allowMixedPatients?: boolean;
    };

export interface Study {
  /** Human-readable origin, for messages and summaries. */
  label: string;
  /** The FLAIR: outputs are on its grid and (for DICOM) reference it. */
  reference: Volume;
  /** The original volumes, by role (only the roles that were asked for). */
  volumes: Partial<Record<SequenceRole, Volume>>;
  /** Each role's data on the reference grid. */
  aligned: Partial<Record<SequenceRole, Float32Array>>;
  /** Content identity per role (file hash or DICOM UIDs) for the result cache. */
  identity: Partial<Record<SequenceRole, string>>;
  /** How the series were chosen (DICOM: which is the post-contrast T1 and why); `warnings` rest on a guess. */
  roleNotes: { notes: string[]; warnings: string[] };
  /** What was accepted with a change the user should know of (e.g. a description shortened to its VR's length). */
  warnings?: string[];
  /**
   * Slices of the reference grid where some sequence has no image (missing or unreadable files): empty in every
   * `aligned` sequence, never segmented; a run may not span them (see refuseRangeAcrossGap).
   */
  gaps: NamedGap[];
}

/** File name patterns of BraTS 2021 (`_flair`) and 2023 (`-t2f`) cases. */
const BRATS_NAMES: Record<SequenceRole, RegExp> = {
  T1: /[_-](t1|t1n)\.nii(\.gz|\.xz)?$/i,
  T1ce: /[_-](t1ce|t1c)\.nii(\.gz|\.xz)?$/i,
  T2: /[_-](t2|t2w)\.nii(\.gz|\.xz)?$/i,
  FLAIR: /[_-](flair|t2f)\.nii(\.gz|\.xz)?$/i,
};

export async function findCaseFiles(folder: string): Promise<Partial<Record<SequenceRole, string>>> {
  const info = await stat(folder).catch(() => undefined);
  if (!info?.isDirectory()) throw new InputError(`Case folder ${folder} does not exist or is not a folder.`);
  const names = (await readdir(folder)).sort();
  const files: Partial<Record<SequenceRole, string>> = {};
  for (const role of SEQUENCE_ROLES) {
    const hits = names.filter((n) => BRATS_NAMES[role].test(n));
    if (hits.length > 1) throw new InputError(`Case folder ${folder} has several ${role} files: ${hits.join(', ')}. Keep one.`);
    if (hits.length === 1) files[role] = join(folder, hits[0]);
  }
  return files;
}

export interface LoadHooks {
  /**
   * Called once the files' bytes are in memory and their decompression is running on the thread pool: the
   * moment to start other main-thread work (the ONNX session) so that both overlap.
   */
  onFilesRead?: () => void;
  /** Called with each NIfTI volume as soon as it is decoded, while the others may still decompress. */
  onVolumeDecoded?: (role: SequenceRole, volume: Volume) => void;
}

export async function loadStudy(input: StudyInput, required: readonly SequenceRole[], hooks: LoadHooks = {}): Promise<Study> {
  const needed: SequenceRole[] = [...new Set<SequenceRole>(['FLAIR', ...required])];
  if (input.kind === 'dicom') return loadDicomStudy(input, needed).finally(() => hooks.onFilesRead?.());

  const files = input.kind === 'case' ? await findCaseFiles(input.folder) : input.files;
  const where = input.kind === 'case' ? `case folder ${input.folder}` : 'the files given';
  const missing = needed.filter((r) => !files[r]);
  if (missing.length) {
    const found = Object.entries(files).map(([r, f]) => `${r}: ${f}`).join(', ') || 'none';
    throw new InputError(
      `Missing ${missing.join(', ')} in ${where} (found ${found}). The model needs ${required.join(', ')}` +
        (input.kind === 'case' ? '; BraTS names end in _t1/_t1ce/_t2/_flair or -t1n/-t1c/-t2w/-t2f (.nii, .nii.gz or .nii.xz).' : '.'),
    );
  }
  // Each file is read once (hashed for the cache and decoded from the same bytes); all decode at once.
  const raw = await Promise.all(
    needed.map((role) =>
      readFile(files[role]!).catch((err: Error) => {
        throw new InputError(`Cannot read NIfTI file ${files[role]}: ${err.message}`);
      }),
    ),
  );
  // The headers first: inputs that together would not fit in memory are refused before any is decompressed.
  const layouts = await Promise.all(raw.map((bytes, n) => readNiftiLayout(bytes, files[needed[n]]!)));
  checkStudySize(layouts.map((layout, n) => ({ what: files[needed[n]]!, voxels: layout.voxels })));
  const decoded = Promise.all(
    raw.map((bytes, n) =>
      decodeNifti(bytes, files[needed[n]]!).then((volume) => {
        hooks.onVolumeDecoded?.(needed[n], volume);
        return volume;
      }),
    ),
  );
  hooks.onFilesRead?.();
  // WebCrypto hashes on the thread pool, beside the decompression, not on the main thread.
  const hashes = Promise.all(raw.map(async (bytes) => Buffer.from(await webcrypto.subtle.digest('SHA-256', bytes)).toString('hex')));
  const [volumesDecoded, hashed] = await Promise.all([decoded, hashes]);
  const loaded = volumesDecoded.map((volume, n) => ({ volume, hash: hashed[n] }));
  const volumes: Partial<Record<SequenceRole, Volume>> = {};
  const identity: Partial<Record<SequenceRole, string>> = {};
  needed.forEach((role, n) => {
    volumes[role] = loaded[n].volume;
    identity[role] = loaded[n].hash;
  });
  return assemble(input.kind === 'case' ? input.folder : files.FLAIR!, volumes, identity, (r) => files[r]!);
}

async function loadDicomStudy(
  { folder, roles: overrides, allowMixedPatients }: Extract<StudyInput, { kind: 'dicom' }>,
  needed: SequenceRole[],
): Promise<Study> {
  // dcmjs is large: load it only for DICOM studies.
  const [{ describeSeries, scanDicomFolder, seriesToVolume, seriesVoxels }, { checkCopiedValues }] = await Promise.all([
    import('../dicom/read-study'),
    import('../dicom/copied-values'),
  ]);
  const scan = await scanDicomFolder(folder);
  if (scan.series.length === 0) {
    const unreadable = scan.unreadableFiles.map((f) => f.reason);
    throw new InputError(
      unreadable.length
        ? `No readable DICOM files in ${folder}: ${unreadable.slice(0, 3).join('; ')}${unreadable.length > 3 ? ` (and ${unreadable.length - 3} more)` : ''}. Re-export the study.`
        : `No DICOM files in ${folder} (${scan.skippedFiles.length} other files skipped). Give the folder of a DICOM study.`,
    );
  }
  const studies = new Set(scan.series.map((s) => s.studyInstanceUID));
  const descriptions = scan.series.map(describeSeries);
  const { uids, notes, warnings } = assignRoles(descriptions, needed, overrides, folder);
  const volumes: Partial<Record<SequenceRole, Volume>> = {};
  const identity: Partial<Record<SequenceRole, string>> = {};
  const chosen = (role: SequenceRole) => scan.series.find((s) => s.seriesInstanceUID === uids[role])!;
  checkStudySize(needed.map((role) => ({ what: `the ${role} series`, voxels: seriesVoxels(chosen(role)) })));
  for (const role of needed) {
    const series = chosen(role);
    const volume = seriesToVolume(series);
    volumes[role] = volume;
    const sops = volume.source.kind === 'dicom' ? volume.source.instances.map((i) => i?.sopInstanceUID ?? '') : [];
    identity[role] = createHash('sha256').update(`${series.seriesInstanceUID}\n${sops.join('\n')}`).digest('hex');
  }
  if (studies.size > 1) {
    const used = new Set(needed.map((r) => (volumes[r]!.source as { studyInstanceUID: string }).studyInstanceUID));
    if (used.size > 1) throw new InputError(`The sequences chosen in ${folder} come from ${used.size} different studies; use series of one study.`);
  }
  if (!allowMixedPatients) refuseMixedPatients(folder, needed, volumes);
  const name = (r: SequenceRole) => {
    const d = descriptions.find((x) => x.seriesInstanceUID === uids[r])!;
    return `the ${r} series "${d.seriesDescription}"`;
  };
  // The results repeat the FLAIR's patient and study attributes: they must fit, before any sampling starts.
  const copied = checkCopiedValues((volumes.FLAIR!.source as DicomSource).firstDataset, `${name('FLAIR')} in ${folder}`);
  const study = assemble(folder, volumes, identity, name);
  const skipped = scan.unreadableFiles.map((f) => `skipped a file that cannot be read: ${f.reason}.`);
  return { ...study, roleNotes: { notes, warnings }, warnings: [...skipped, ...(study.warnings ?? []), ...copied] };
}

/**
 * One result is filed under one patient: series whose PatientID or PatientName differ from the FLAIR's are
 * refused (even in one study and frame of reference, a mixed-up export or a merge gone wrong), unless the user
 * says they are the same person (a renamed or re-identified patient).
 */
function refuseMixedPatients(folder: string, needed: SequenceRole[], volumes: Partial<Record<SequenceRole, Volume>>): void {
  const patientOf = (role: SequenceRole) => {
    const ds = (volumes[role]!.source as DicomSource).firstDataset;
    return { id: str(ds, 'PatientID'), name: str(ds, 'PatientName') };
  };
  const flair = patientOf('FLAIR');
  const describe = (p: { id: string; name: string }) => `PatientID "${p.id}", PatientName "${p.name}"`;
  const odd = needed
    .filter((r) => r !== 'FLAIR')
    .map((role) => ({ role, patient: patientOf(role), series: (volumes[role]!.source as DicomSource).seriesDescription }))
    .filter(({ patient }) => patient.id !== flair.id || patient.name !== flair.name);
  if (odd.length) {
    throw new InputError(
      `The series chosen in ${folder} are not of one patient: the FLAIR series "${(volumes.FLAIR!.source as DicomSource).seriesDescription}" is of ${describe(flair)}, but ` +
        odd.map((o) => `the ${o.role} series "${o.series}" is of ${describe(o.patient)}`).join('; ') +
        '. Choose series of one patient (--role); if they are the same person under two names, combine them explicitly with `halo segment --allow-mixed-patients` (the results are labelled with the FLAIR\'s patient).',
    );
  }
}


function assemble(
  label: string,
  volumes: Partial<Record<SequenceRole, Volume>>,
  identity: Partial<Record<SequenceRole, string>>,
  name: (r: SequenceRole) => string,
): Study {
  const roles = Object.keys(volumes) as SequenceRole[];
  for (const role of roles) {
    const v = volumes[role]!;
    if (!v.data.some((x) => x !== 0)) throw new InputError(`${name(role)} is empty: every voxel is 0. Check that the right file/series was exported.`);
  }
  const reference = volumes.FLAIR!;
  const others = roles.map((r) => ({ name: name(r), volume: volumes[r]! }));
  const data = alignToReference(reference, others, name('FLAIR'));
  const aligned: Partial<Record<SequenceRole, Float32Array>> = {};
  roles.forEach((r, n) => (aligned[r] = data[n]));
  const gaps = referenceGaps(reference, others);
  // Missing in one sequence is missing for the model: every sequence is emptied there (copies, not the volumes).
  const plane = reference.geometry.dims[0] * reference.geometry.dims[1];
  const missing = missingSlices(gaps);
  if (missing.length) {
    for (const r of roles) {
      const copy = aligned[r]!.slice();
      for (const k of missing) copy.fill(0, k * plane, (k + 1) * plane);
      aligned[r] = copy;
    }
  }
  const onGrid = (r: SequenceRole) => ({ name: name(r), volume: volumes[r]!, aligned: aligned[r]! });
  refuseDisplaced(onGrid('FLAIR'), roles.filter((r) => r !== 'FLAIR').map(onGrid));
  const warnings = gaps.map((g) => `${g.text}; ${g.first === g.last ? 'it is' : 'they are'} shown empty and never segmented.`);
  return { label, reference, volumes, aligned, identity, roleNotes: { notes: [], warnings: [] }, gaps, ...(warnings.length ? { warnings } : {}) };
}

/** Each sequence's missing slices, as slices of the reference grid, each named in a sentence. */
export function referenceGaps(reference: Volume, sequences: { name: string; volume: Volume }[]): NamedGap[] {
  return sequences.flatMap(({ name, volume }) =>
    (volume.gaps ?? []).flatMap((own) =>
      gapsOf(slicesReading(volume.geometry, own, reference.geometry)).map((g) => ({ ...g, text: `${name}: ${describeGap(volume.geometry, own)}` })),
    ),
  );
}
