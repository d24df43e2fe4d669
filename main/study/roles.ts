/**
 * Which DICOM series is T1, T1ce, T2 or FLAIR: from the series description / protocol name first, then the
 * sequence tags (inversion recovery with a long TI is FLAIR, a contrast agent makes T1 into T1ce). Anything
 * ambiguous is refused with the candidates listed, and an explicit override (--role FLAIR=<series>) always wins.
 */
import { InputError } from '../errors';
import type { SeriesDescription } from '../dicom/read-study';
import type { SequenceRole } from '../volume/volume';

export type RoleOverrides = Partial<Record<SequenceRole, string>>;

/** Best guess of one series' role, or null when it does not look like any of the four. */
export function guessRole(d: SeriesDescription): SequenceRole | null {
  const text = `${d.seriesDescription} ${d.protocolName}`.toLowerCase();
  if (/flair|t2f\b|dark.?fluid|tirm|t2.?ir\b/.test(text)) return 'FLAIR';
  if (/t1c\b|t1ce\b|t1.?(\+|post|gad|gd\b|c\+|contrast|ce\b)|post.?(gad|contrast)/.test(text)) return 'T1ce';
  if (/\bt1|t1n\b|mprage|spgr|flash|t1w/.test(text)) return d.contrastAgent ? 'T1ce' : 'T1';
  if (/\bt2|t2w/.test(text) && !/t2\*|t2star|swi|gre/.test(text)) return 'T2';
  // No telling name: fall back on the sequence physics.
  const ir = d.scanningSequence.includes('IR');
  if (ir && (d.inversionTime ?? 0) > 1500) return 'FLAIR';
  const te = d.echoTime ?? 0;
  const tr = d.repetitionTime ?? 0;
  if (te >= 60 && tr >= 2000) return 'T2';
  if (te > 0 && te < 30 && tr > 0 && tr < 1000) return d.contrastAgent ? 'T1ce' : 'T1';
  return null;
}

export function seriesLabel(d: SeriesDescription): string {
  const n = d.seriesNumber !== undefined ? `#${d.seriesNumber} ` : '';
  return `${n}"${d.seriesDescription || d.protocolName || '(no description)'}" (${d.instanceCount} images, ${d.seriesInstanceUID})`;
}

function matches(d: SeriesDescription, key: string): boolean {
  return (
    d.seriesInstanceUID === key ||
    (d.seriesNumber !== undefined && String(d.seriesNumber) === key) ||
    d.seriesDescription.toLowerCase() === key.toLowerCase()
  );
}

/** Map each required role to exactly one series. Returns the series UID per role. */
export function assignRoles(
  series: SeriesDescription[],
  required: readonly SequenceRole[],
  overrides: RoleOverrides = {},
  where = 'the study',
): Record<SequenceRole, string> {
  const result = {} as Record<SequenceRole, string>;
  const listing = series.map((d) => `  ${seriesLabel(d)} → ${guessRole(d) ?? 'unknown role'}`).join('\n');
  for (const role of required) {
    const key = overrides[role];
    const candidates = key ? series.filter((d) => matches(d, key)) : series.filter((d) => guessRole(d) === role);
    if (candidates.length === 0) {
      throw new InputError(
        key
          ? `--role ${role}=${key}: no series in ${where} has that UID, series number or description.\nSeries found:\n${listing}`
          : `No ${role} series in ${where}. The model needs ${required.join(', ')}.\nSeries found:\n${listing}\n` +
              `If one of them is the ${role}, say so with --role ${role}=<series number or UID>; or choose a model that needs fewer sequences.`,
      );
    }
    if (candidates.length > 1) {
      throw new InputError(
        `${candidates.length} series in ${where} could be the ${role}:\n${candidates.map((d) => `  ${seriesLabel(d)}`).join('\n')}\n` +
          `Pick one with --role ${role}=<series number or UID>.`,
      );
    }
    result[role] = candidates[0].seriesInstanceUID;
  }
  return result;
}
