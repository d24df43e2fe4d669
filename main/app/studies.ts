/**
 * Opening a study for the viewer: scan a DICOM folder, map series to roles (guess, unless the user reassigned
 * them), load the assigned series onto one display grid (the FLAIR's when there is one, else the first assigned
 * sequence's). Viewing never needs a FLAIR; segmenting does (the engine checks). Problems the radiologist can fix
 * (no FLAIR, two candidate T2s, series that do not overlap) become `problems` on the StudyView instead of
 * exceptions, so the viewer can show the series list and the role picker.
 */
import { randomBytes } from 'node:crypto';
import { basename } from 'node:path';
import { InputError } from '../errors';
import { describeSeries, scanDicomFolder, seriesToVolume, seriesVoxels, type DicomSeries } from '../dicom/read-study';
import { checkStudySize } from '../io/input-limits';
import { str } from '../dicom/values';
import { alignToReference } from '../study/align';
import { referenceGaps } from '../study/load-study';
import { missingSlices } from '../volume/gaps';
import { refuseDisplaced } from '../study/displacement';
import { guessRoles } from '../study/roles';
import { sameGrid, type Geometry, type Volume } from '../volume/volume';
import type { GridView, Role, SeriesView, StudyView } from './contract';
import { ROLES } from './contract';
import { findPriorResults, type PriorResult } from './prior-results';

export interface OpenStudy {
  id: string;
  folder: string;
  view: StudyView;
  /** The assigned sequences on the display grid; null when nothing can be shown (no role assigned, mismatch). */
  display: Display | null;
  /** Results already in the study (SEG, Parametric Map). */
  prior: PriorResult[];
  /** The image series as scanned (thumbnails are made from them on request). */
  images: DicomSeries[];
}

export interface Display {
  /** Each assigned role's own volume. */
  volumes: Partial<Record<Role, Volume>>;
  /** Each assigned role's data on the display grid. */
  aligned: Partial<Record<Role, Float32Array>>;
}

/** The sequence whose grid the viewer uses: the FLAIR (results live on it), else the first assigned one. */
export const DISPLAY_ORDER: Role[] = ['FLAIR', 'T1ce', 'T1', 'T2'];

export const newId = (): string => randomBytes(9).toString('base64url');

/**
 * Open a study folder. `overrides` are roles the user chose: when they cannot be shown together the call fails
 * (the study stays as it was) instead of returning a study that shows nothing.
 */
export async function openStudyFolder(folder: string, overrides: Partial<Record<Role, string>> = {}, id = newId()): Promise<OpenStudy> {
  const scan = await scanDicomFolder(folder);
  const images = scan.series.filter((s) => isImageSeries(s));
  if (images.length === 0) {
    const results = findPriorResults(scan.series, scan.series[0]?.studyInstanceUID ?? '');
    throw new InputError(
      results.length
        ? `This study holds only results (${results.map((r) => r.view.kind === 'variance' ? 'a Parametric Map' : `a ${r.view.kind} SEG`).join(', ')}) and no images. ` +
            'Results are shown on their images: open or retrieve the whole study, images included.'
        : scan.series.length
          ? `The folder ${folder} holds DICOM objects but no image series. Choose the folder that holds the study's image files.`
          : `There are no DICOM images in ${folder}. Choose the folder that holds the study's image files.`,
    );
  }
  const first = images[0].instances[0].dataset;
  const descriptions = images.map(describeSeries);
  const guesses = guessRoles(descriptions);
  const series: SeriesView[] = descriptions.map((d) => ({
    seriesInstanceUID: d.seriesInstanceUID,
    seriesNumber: d.seriesNumber,
    description: d.seriesDescription || d.protocolName || '(no description)',
    modality: d.modality,
    instanceCount: d.instanceCount,
    guessedRole: guesses.get(d.seriesInstanceUID)!.role,
  }));
  const unreadable = scan.unreadableFiles.map((f) => `A file cannot be read and was skipped: ${f.reason}. Its slice is shown as missing; re-export or re-send it.`);
  const problems: string[] = [...unreadable];
  const studies = new Set(images.map((s) => s.studyInstanceUID));
  if (studies.size > 1) problems.push(`This folder holds ${studies.size} different studies; showing the series of one of them only if you assign them by hand.`);

  const roles: Partial<Record<Role, string>> = {};
  for (const role of ROLES) {
    const given = overrides[role];
    if (given) {
      if (!series.some((s) => s.seriesInstanceUID === given)) throw new InputError(`The series chosen for ${role} is not in this study.`);
      roles[role] = given;
      continue;
    }
    const taken = new Set(Object.values(overrides));
    const candidates = series.filter((s) => s.guessedRole === role && !taken.has(s.seriesInstanceUID));
    if (candidates.length === 1) roles[role] = candidates[0].seriesInstanceUID;
    else if (candidates.length > 1) {
      problems.push(
        `${candidates.length} series could be the ${role} (${candidates.map((c) => `#${c.seriesNumber ?? '?'} ${c.description}`).join(', ')}). Choose one in the header.`,
      );
    }
  }
  const assigned = ROLES.filter((r) => roles[r]);
  const view: StudyView = {
    studyId: id,
    studyInstanceUID: images[0].studyInstanceUID,
    patientName: str(first, 'PatientName').replace(/\^/g, ' ').trim(),
    patientId: str(first, 'PatientID'),
    studyDate: str(first, 'StudyDate'),
    studyDescription: str(first, 'StudyDescription'),
    source: basename(folder),
    series,
    roles,
    reference: null,
    resampled: [],
    problems,
    missing: {},
    results: [],
  };
  const prior = findPriorResults(scan.series, view.studyInstanceUID);
  view.results = prior.map((r) => r.view);
  if (!roles.FLAIR) {
    problems.unshift(
      'This study has no FLAIR series that Halo can recognise. You can view it; to segment, a FLAIR is required: ' +
        'if one of the series is the FLAIR, choose it as FLAIR in the header.',
    );
  }
  const displayRole = DISPLAY_ORDER.find((r) => roles[r]);
  if (!displayRole) {
    problems.unshift('Halo could not tell which sequence each series is. Assign at least one series below to view the study.');
    return { id, folder, view, display: null, prior, images };
  }
  let display: Display;
  try {
    display = loadDisplay(images, roles, displayRole);
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    if (Object.keys(overrides).length) throw new InputError(`Not changed: these series cannot be shown together: ${err.message}`);
    problems.unshift(`These series cannot be shown together: ${err.message}`);
    return { id, folder, view, display: null, prior, images };
  }
  const moved = movedSequences(display, assigned, displayRole);
  if (moved) problems.push(moved);
  const ref = display.volumes[displayRole]!;
  view.reference = { ...gridView(ref.geometry), seriesInstanceUID: roles[displayRole]! };
  const gapProblems: string[] = [];
  for (const role of assigned) {
    const gaps = referenceGaps(ref, [{ name: `The ${role} series "${describeSeries(seriesOf(images, roles, role)).seriesDescription}"`, volume: display.volumes[role]! }]);
    if (!gaps.length) continue;
    view.missing[role] = missingSlices(gaps);
    gapProblems.push(...gaps.map((g) => `${g.text}: shown as missing; segmenting a range that includes them is refused.`));
  }
  // After the unreadable files (which often are the reason), before the rest: what is shown is incomplete.
  problems.splice(unreadable.length ? problems.indexOf(unreadable[unreadable.length - 1]) + 1 : 0, 0, ...gapProblems);
  view.resampled = assigned.filter((r) => r !== displayRole && !sameGrid(display.volumes[r]!.geometry, ref.geometry));
  return { id, folder, view, display, prior, images };
}

/** The assigned series as volumes, each resampled onto the display role's grid; one study only. */
function loadDisplay(images: DicomSeries[], roles: Partial<Record<Role, string>>, displayRole: Role): Display {
  const assigned = ROLES.filter((r) => roles[r]);
  const volumes: Partial<Record<Role, Volume>> = {};
  const names: Partial<Record<Role, string>> = {};
  checkStudySize(assigned.map((role) => ({ what: `the ${role} series`, voxels: seriesVoxels(seriesOf(images, roles, role)) })));
  for (const role of assigned) {
    const series = images.find((s) => s.seriesInstanceUID === roles[role])!;
    volumes[role] = seriesToVolume(series);
    names[role] = `the ${role} series "${describeSeries(series).seriesDescription}"`;
  }
  const studies = new Set(assigned.map((r) => images.find((s) => s.seriesInstanceUID === roles[r])!.studyInstanceUID));
  if (studies.size > 1) throw new InputError(`the sequences come from ${studies.size} different studies; use series of one study.`);
  const data = alignToReference(volumes[displayRole]!, assigned.map((r) => ({ name: names[r]!, volume: volumes[r]! })), names[displayRole]!);
  const aligned: Partial<Record<Role, Float32Array>> = {};
  assigned.forEach((r, n) => (aligned[r] = data[n]));
  return { volumes, aligned };
}

const seriesOf = (images: DicomSeries[], roles: Partial<Record<Role, string>>, role: Role): DicomSeries =>
  images.find((s) => s.seriesInstanceUID === roles[role])!;
/** The movement between series that segmenting would refuse (displacement.ts), as a problem; null when none. */
function movedSequences(display: Display, assigned: Role[], displayRole: Role): string | null {
  const named = (v: Volume) => (v.source.kind === 'dicom' ? ` "${v.source.seriesDescription}"` : '');
  const onGrid = (r: Role) => ({ name: `the ${r} series${named(display.volumes[r]!)}`, volume: display.volumes[r]!, aligned: display.aligned[r]! });
  try {
    refuseDisplaced(onGrid(displayRole), assigned.filter((r) => r !== displayRole).map(onGrid));
    return null;
  } catch (err) {
    if (err instanceof InputError) return err.message;
    throw err;
  }
}

function isImageSeries(s: DicomSeries): boolean {
  const ds = s.instances[0].dataset;
  const sop = str(ds, 'SOPClassUID');
  return ds.PixelData !== undefined && !['1.2.840.10008.5.1.4.1.1.66.4', '1.2.840.10008.5.1.4.1.1.30'].includes(sop);
}

export function gridView(g: Geometry): GridView {
  return {
    dims: [...g.dims],
    spacing: [...g.spacing],
    origin: [...g.origin],
    direction: [[...g.direction[0]], [...g.direction[1]], [...g.direction[2]]],
    frameOfReferenceUID: g.frameOfReferenceUID,
  };
}
