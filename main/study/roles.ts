/**
 * Which DICOM series is T1, T1ce, T2 or FLAIR: from the series description / protocol name first, then the
 * sequence tags (inversion recovery with a long TI is FLAIR, a contrast agent makes T1 into T1ce). Anything
 * ambiguous is refused with the candidates listed, and an explicit override (--role FLAIR=<series>) always wins.
 */
import { InputError } from '../errors';
import type { SeriesDescription } from '../dicom/read-study';
import type { SequenceRole } from '../volume/volume';

export type RoleOverrides = Partial<Record<SequenceRole, string>>;

/** Words in a T1-weighted series' description that say it was acquired after contrast (KM: Kontrastmittel). */
const POST_CONTRAST = /(?:^|[^a-z])(post|\+c|c\+|gd|gad\w*|gado\w*|km|contrast|kontrast|ce)(?![a-z])/;
/** ... and words that say it was not ("T1 pre contrast", "T1 nativ", "w/o contrast"). */
const PRE_CONTRAST = /(?:^|[^a-z])(pre|nativ|native|non.?contrast|w\/o|without)(?![a-z])/;

const describedAs = (d: SeriesDescription) => `${d.seriesDescription} ${d.protocolName}`.toLowerCase();

/** What in a T1-weighted series' headers says it was acquired after contrast, or null when nothing does. */
export function postContrastEvidence(d: SeriesDescription): string | null {
  if (d.contrastAgent) return `its ContrastBolusAgent is "${d.contrastAgent}"`;
  const text = describedAs(d);
  if (PRE_CONTRAST.test(text)) return null;
  const m = POST_CONTRAST.exec(text);
  return m ? `its description says "${m[1]}"` : null;
}

/** Best guess of one series' role, or null when it does not look like any of the four. */
export function guessRole(d: SeriesDescription): SequenceRole | null {
  const text = describedAs(d);
  if (/flair|t2f\b|dark.?fluid|tirm|t2.?ir\b/.test(text)) return 'FLAIR';
  if (/t1c\b|t1ce\b/.test(text)) return 'T1ce';
  if (/\bt1|t1n\b|mprage|spgr|flash|t1w/.test(text)) return postContrastEvidence(d) ? 'T1ce' : 'T1';
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

/** A series' role and, for the post-contrast T1, why. `guess`: only the acquisition order says so. */
export interface RoleGuess {
  role: SequenceRole | null;
  why?: string;
  guess?: boolean;
}

/** "2022-04-07 15:19:06" from SeriesDescription.acquired. */
const moment = (a: string) => `${a.slice(0, 4)}-${a.slice(4, 6)}-${a.slice(6, 8)} ${a.slice(8, 10)}:${a.slice(10, 12)}:${a.slice(12, 14)}`;

/**
 * Every series' role. A clinical study often repeats one T1 sequence before and after contrast with the same
 * description and nothing in the headers to tell them apart: when exactly two such series remain and no series
 * is recognisably post-contrast, the later acquired is taken as the T1ce (contrast is given between them), and
 * the result says that this is a guess from the acquisition order.
 */
export function guessRoles(series: SeriesDescription[]): Map<string, RoleGuess> {
  const guesses = new Map<string, RoleGuess>();
  for (const d of series) {
    const role = guessRole(d);
    const evidence = role === 'T1ce' ? postContrastEvidence(d) : null;
    guesses.set(d.seriesInstanceUID, { role, why: role === 'T1ce' ? (evidence ?? 'its description names it T1ce') : undefined });
  }
  const t1 = series.filter((d) => guesses.get(d.seriesInstanceUID)!.role === 'T1');
  const anyT1ce = series.some((d) => guesses.get(d.seriesInstanceUID)!.role === 'T1ce');
  if (anyT1ce || t1.length !== 2) return guesses;
  const [a, b] = t1;
  const sameSequence = describedAs(a) === describedAs(b) && a.scanningSequence.join() === b.scanningSequence.join();
  if (!sameSequence || !a.acquired || !b.acquired || a.acquired === b.acquired) return guesses;
  const [before, after] = a.acquired < b.acquired ? [a, b] : [b, a];
  guesses.set(after.seriesInstanceUID, {
    role: 'T1ce',
    guess: true,
    why:
      `no header records a contrast agent, but the same T1 sequence was acquired twice and this is the later ` +
      `(${moment(after.acquired!)}, the other ${moment(before.acquired!)}): taken as post-contrast. ` +
      `If that is wrong, choose with --role T1ce=<series number or UID>`,
  });
  return guesses;
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

export interface RoleAssignment {
  /** The series UID per required role. */
  uids: Record<SequenceRole, string>;
  /** Which series was taken as the post-contrast T1 and why (to show the user and keep with the result). */
  notes: string[];
  /** Notes that rest on a guess (the acquisition order), to be shown as warnings. */
  warnings: string[];
}

/** Map each required role to exactly one series. */
export function assignRoles(
  series: SeriesDescription[],
  required: readonly SequenceRole[],
  overrides: RoleOverrides = {},
  where = 'the study',
): RoleAssignment {
  const uids = {} as Record<SequenceRole, string>;
  const notes: string[] = [];
  const warnings: string[] = [];
  const guesses = guessRoles(series);
  const roleOf = (d: SeriesDescription) => guesses.get(d.seriesInstanceUID)!.role;
  const listing = series.map((d) => `  ${seriesLabel(d)} → ${roleOf(d) ?? 'unknown role'}`).join('\n');
  for (const role of required) {
    const key = overrides[role];
    const candidates = key ? series.filter((d) => matches(d, key)) : series.filter((d) => roleOf(d) === role);
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
          `Pick one with --role ${role}=<series number or UID>` +
          (role === 'T1' && required.includes('T1ce')
            ? ', and the post-contrast one with --role T1ce=… (no header records a contrast agent, and the acquisition order cannot tell).'
            : '.'),
      );
    }
    const chosen = candidates[0];
    uids[role] = chosen.seriesInstanceUID;
    const partnerGuessed = role === 'T1' && !key && series.some((d) => guesses.get(d.seriesInstanceUID)!.guess);
    if (partnerGuessed) {
      const note = `T1 (pre-contrast): ${seriesLabel(chosen)}, the earlier of two acquisitions of the same T1 sequence (see the T1ce).`;
      notes.push(note);
      warnings.push(note);
    }
    if (role === 'T1ce') {
      const g = guesses.get(chosen.seriesInstanceUID)!;
      const note = `T1ce (post-contrast): ${seriesLabel(chosen)}, ${key ? `chosen with --role T1ce=${key}` : `because ${g.why}`}.`;
      notes.push(note);
      if (!key && g.guess) warnings.push(note);
    }
  }
  return { uids, notes, warnings };
}
