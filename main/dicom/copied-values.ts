/**
 * The patient and study attributes a derived object copies from its source (iod.ts) must fit their VR's length
 * (PS3.5 6.2), or the SEG and Parametric Map fail validation, or dcmjs refuses to write them after the whole
 * computation. Checked when a study is loaded, before any sampling: identifiers that are too long are refused
 * (a shortened PatientID or AccessionNumber would file the result under another patient or order); free text
 * that is too long is shortened, with a warning.
 */
import { InputError } from '../errors';
import { type Dataset, vrOfKeyword } from './dcmjs';
import { fitText, PATIENT_STUDY_KEYWORDS } from './iod';

/** Maximum characters per value (PS3.5 Table 6.2-1); PN per component group. */
const MAX_LENGTH: Record<string, number> = {
  AE: 16, AS: 4, CS: 16, DA: 8, DS: 16, DT: 26, IS: 12, LO: 64, LT: 10240, PN: 64, SH: 16, ST: 1024, TM: 14, UI: 64,
};

/** Free text a reader can do without the end of: shortened rather than refused. */
const SHORTENED = new Set([
  'StudyDescription', 'PatientComments', 'AdditionalPatientHistory', 'AdmittingDiagnosesDescription', 'MedicalAlerts',
  'Allergies', 'Occupation', 'ServiceEpisodeDescription', 'ClinicalTrialTimePointDescription', 'PatientSpeciesDescription',
  'PatientBreedDescription', 'StrainDescription', 'StrainAdditionalInformation', 'ReasonForVisit', 'ClinicalTrialProtocolName',
]);

/** One value's text: PN values are objects of component groups. */
function texts(v: unknown): string[] {
  if (v && typeof v === 'object') return Object.values(v as Record<string, unknown>).map((x) => String(x ?? ''));
  return [String(v ?? '')];
}

/**
 * Check (and where allowed, shorten in place) the copied attributes of `source`, a naturalized dataset.
 * Returns the warnings for what was shortened; throws InputError naming the attribute for what cannot be.
 */
export function checkCopiedValues(source: Dataset, where: string): string[] {
  const warnings: string[] = [];
  for (const keyword of PATIENT_STUDY_KEYWORDS) {
    const value = source[keyword];
    const vr = vrOfKeyword(keyword);
    const max = vr ? MAX_LENGTH[vr] : undefined;
    if (value === undefined || value === null || !max) continue;
    const values = Array.isArray(value) ? value : [value];
    const longest = Math.max(0, ...values.flatMap(texts).map((t) => t.length));
    if (longest <= max) continue;
    if (!SHORTENED.has(keyword) || vr === 'PN') {
      throw new InputError(
        `${where}: ${keyword} is ${longest} characters long, more than the ${max} its VR (${vr}) allows, so no valid SEG or ` +
          `Parametric Map can repeat it, and shortening it would change who or what the result is filed under. Correct ${keyword} in the source (or the PACS) and export again.`,
      );
    }
    source[keyword] = Array.isArray(value) ? values.map((v) => fitText(String(v), max)) : fitText(String(value), max);
    warnings.push(`${keyword} is ${longest} characters, more than the ${max} of its VR (${vr}): the results carry it shortened to "${String(Array.isArray(source[keyword]) ? (source[keyword] as unknown[])[0] : source[keyword])}".`);
  }
  return warnings;
}
