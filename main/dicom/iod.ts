/**
 * Building blocks shared by the IODs Halo writes (MR Image, Segmentation, Parametric Map): value formatting,
 * coded concepts, the patient/study modules copied from a source image, equipment and timestamps.
 */
import pkg from '../../package.json' with { type: 'json' };
import type { Dataset } from './dcmjs';
import { HALO_IMPLEMENTATION_CLASS_UID } from './uid';

export const HALO_VERSION: string = pkg.version;
export const IMPLEMENTATION = { classUID: HALO_IMPLEMENTATION_CLASS_UID, versionName: `HALO_${HALO_VERSION}`.slice(0, 16) };

export const SOP_CLASS = {
  MR_IMAGE: '1.2.840.10008.5.1.4.1.1.4',
  SEGMENTATION: '1.2.840.10008.5.1.4.1.1.66.4',
  PARAMETRIC_MAP: '1.2.840.10008.5.1.4.1.1.30',
} as const;

/**
 * A number as a DS string of at most 16 characters (PS3.5 6.2). dcmjs would slice longer strings blindly
 * (which can cut off an exponent), so we choose the precision ourselves. Values below 1e-10 in magnitude are
 * written as 0: direction cosines like 6e-17 are rounding noise.
 */
export function ds(x: number): string {
  if (!Number.isFinite(x)) throw new Error(`DS value must be finite, got ${x}`);
  if (Math.abs(x) < 1e-10) return '0';
  for (let p = 16; p >= 1; p--) {
    const s = String(Number(x.toPrecision(p)));
    if (s.length <= 16) return s;
  }
  throw new Error(`cannot write ${x} as DS`);
}

export interface Code {
  value: string;
  scheme: string;
  meaning: string;
}

/** A Code Sequence item (PS3.3 Table 8.8-1). */
export function codeItem(c: Code): Dataset {
  return { CodeValue: c.value, CodingSchemeDesignator: c.scheme, CodeMeaning: c.meaning };
}

export const CODES = {
  // CID 7150 (Segmentation Property Categories) gives this SNOMED concept the meaning below.
  morphologicallyAbnormalStructure: { value: '49755003', scheme: 'SCT', meaning: 'Morphologically Altered Structure' },
  neoplasm: { value: '108369006', scheme: 'SCT', meaning: 'Neoplasm' },
  brain: { value: '12738006', scheme: 'SCT', meaning: 'Brain' },
  sourceImageForProcessing: { value: '121322', scheme: 'DCM', meaning: 'Source image for image processing operation' },
  segmentation: { value: '113076', scheme: 'DCM', meaning: 'Segmentation' },
  noUnits: { value: '1', scheme: 'UCUM', meaning: 'no units' },
  // CID 7162 (algorithm families)
  artificialIntelligence: { value: '123110', scheme: 'DCM', meaning: 'Artificial Intelligence' },
  // Quantity definition of the Parametric Map: concept name from SNOMED, value from CID 7464.
  quantity: { value: '246205007', scheme: 'SCT', meaning: 'Quantity' },
  variance: { value: 'C1711260', scheme: 'UMLS', meaning: 'Variance' },
} satisfies Record<string, Code>;

/**
 * Patient, Clinical Trial Subject, General Study, Patient Study and Clinical Trial Study attributes (PS3.3
 * C.7.1.1, C.7.1.3, C.7.2.1, C.7.2.2, C.7.2.3) that a derived object in the same study must repeat exactly.
 */
export const PATIENT_STUDY_KEYWORDS = [
  // Patient
  'PatientName', 'PatientID', 'IssuerOfPatientID', 'IssuerOfPatientIDQualifiersSequence', 'TypeOfPatientID',
  'PatientBirthDate', 'PatientBirthTime', 'PatientSex', 'QualityControlSubject', 'OtherPatientIDsSequence',
  'OtherPatientNames', 'EthnicGroup', 'EthnicGroupCodeSequence', 'PatientComments', 'PatientSpeciesDescription',
  'PatientSpeciesCodeSequence', 'PatientBreedDescription', 'PatientBreedCodeSequence', 'BreedRegistrationSequence',
  'StrainDescription', 'StrainNomenclature', 'StrainCodeSequence', 'StrainAdditionalInformation', 'StrainStockSequence',
  'GeneticModificationsSequence', 'ResponsiblePerson', 'ResponsiblePersonRole', 'ResponsibleOrganization',
  'PatientIdentityRemoved', 'DeidentificationMethod', 'DeidentificationMethodCodeSequence',
  'SourcePatientGroupIdentificationSequence', 'GroupOfPatientsIdentificationSequence', 'ReferencedPatientPhotoSequence',
  // Clinical Trial Subject
  'ClinicalTrialSponsorName', 'ClinicalTrialProtocolID', 'ClinicalTrialProtocolName', 'IssuerOfClinicalTrialProtocolID',
  'OtherClinicalTrialProtocolIDsSequence', 'ClinicalTrialSiteID', 'ClinicalTrialSiteName', 'IssuerOfClinicalTrialSiteID',
  'ClinicalTrialSubjectID', 'IssuerOfClinicalTrialSubjectID', 'ClinicalTrialSubjectReadingID',
  'IssuerOfClinicalTrialSubjectReadingID', 'ClinicalTrialProtocolEthicsCommitteeName',
  'ClinicalTrialProtocolEthicsCommitteeApprovalNumber', 'EthicsCommitteeApprovalEffectivenessStartDate',
  'EthicsCommitteeApprovalEffectivenessEndDate',
  // General Study
  'StudyInstanceUID', 'StudyDate', 'StudyTime', 'ReferringPhysicianName', 'ReferringPhysicianIdentificationSequence',
  'ConsultingPhysicianName', 'ConsultingPhysicianIdentificationSequence', 'StudyID', 'AccessionNumber',
  'IssuerOfAccessionNumberSequence', 'StudyDescription', 'PhysiciansOfRecord', 'PhysiciansOfRecordIdentificationSequence',
  'NameOfPhysiciansReadingStudy', 'PhysiciansReadingStudyIdentificationSequence', 'RequestingServiceCodeSequence',
  'ReferencedStudySequence', 'ProcedureCodeSequence', 'ReasonForPerformedProcedureCodeSequence',
  // Patient Study
  'AdmittingDiagnosesDescription', 'AdmittingDiagnosesCodeSequence', 'PatientAge', 'PatientSize', 'PatientWeight',
  'PatientBodyMassIndex', 'MeasuredAPDimension', 'MeasuredLateralDimension', 'PatientSizeCodeSequence',
  'MedicalAlerts', 'Allergies', 'SmokingStatus', 'PregnancyStatus', 'LastMenstrualDate', 'PatientState',
  'Occupation', 'AdditionalPatientHistory', 'AdmissionID', 'IssuerOfAdmissionIDSequence', 'ServiceEpisodeID',
  'IssuerOfServiceEpisodeIDSequence', 'ServiceEpisodeDescription', 'PatientSexNeutered', 'ReasonForVisit',
  'ReasonForVisitCodeSequence',
  // Clinical Trial Study
  'ClinicalTrialTimePointID', 'ClinicalTrialTimePointDescription', 'LongitudinalTemporalOffsetFromEvent',
  'LongitudinalTemporalEventType', 'ClinicalTrialTimePointTypeCodeSequence', 'IssuerOfClinicalTrialTimePointID',
  'ConsentForClinicalTrialUseSequence',
] as const;

/** Type 2 attributes of those modules: present (maybe empty) in every output even when the source lacks them. */
const PATIENT_STUDY_TYPE2 = [
  'PatientName', 'PatientID', 'PatientBirthDate', 'PatientSex', 'StudyDate', 'StudyTime', 'ReferringPhysicianName',
  'StudyID', 'AccessionNumber',
];

/** The patient and study modules of `source`, copied attribute for attribute (nothing invented, nothing dropped). */
export function patientStudyModules(source: Record<string, unknown>): Dataset {
  const out: Dataset = {};
  const vrMap: Record<string, string> = {};
  const srcVrMap = (source._vrMap ?? {}) as Record<string, string>;
  for (const k of PATIENT_STUDY_KEYWORDS) {
    if (source[k] !== undefined) {
      out[k] = source[k];
      if (srcVrMap[k]) vrMap[k] = srcVrMap[k];
    }
  }
  for (const k of PATIENT_STUDY_TYPE2) if (out[k] === undefined) out[k] = '';
  if (!out.StudyInstanceUID) throw new Error('source dataset has no StudyInstanceUID');
  if (Object.keys(vrMap).length) out._vrMap = vrMap;
  return out;
}

/** General + Enhanced General Equipment: Halo is the device that made the object. */
export function haloEquipment(): Dataset {
  return {
    Manufacturer: 'Halo',
    ManufacturerModelName: 'Halo',
    // Enhanced General Equipment needs a serial number (Type 1); a software device has none, and we say so.
    DeviceSerialNumber: 'none (software)',
    SoftwareVersions: HALO_VERSION,
  };
}

/** DICOM DA and TM (local time, as the standard's default for these attributes). */
export function dicomNow(now = new Date()): { date: string; time: string } {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return {
    date: `${now.getFullYear()}${p(now.getMonth() + 1)}${p(now.getDate())}`,
    time: `${p(now.getHours())}${p(now.getMinutes())}${p(now.getSeconds())}.${p(now.getMilliseconds(), 3)}`,
  };
}

/** LO/SH-safe text: these VRs forbid backslash and control characters. */
export function shortText(s: string, max: number): string {
  return s.replace(/[\\\u0000-\u001f]/g, ' ').slice(0, max);
}

/**
 * LO/SH-safe text cut at a word boundary with "..." when it does not fit (a cut mid-word or mid-number, like
 * "125 slices" shown as "12", would say something false).
 */
export function fitText(s: string, max: number): string {
  const clean = shortText(s, Infinity);
  if (clean.length <= max) return clean;
  const cut = clean.slice(0, max - 2);
  const space = cut.lastIndexOf(' ');
  return `${(space > 0 ? cut.slice(0, space) : cut.slice(0, -1)).replace(/[\s,;:]+$/, '')}...`;
}

/** The private coding scheme Halo uses where no standard code exists (PS3.3 8.2: a 99-prefixed designator). */
export const HALO_CODING_SCHEME = {
  CodingSchemeDesignator: '99HALO',
  CodingSchemeName: 'Halo private codes',
  CodingSchemeResponsibleOrganization: 'Halo project',
};
