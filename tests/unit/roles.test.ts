import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeSeries, scanDicomFolder, type SeriesDescription } from '../../main/dicom/read-study';
import { assignRoles, guessRole } from '../../main/study/roles';
import { DATA } from '../support/paths';

const series = (seriesDescription: string, extra: Partial<SeriesDescription> = {}): SeriesDescription => ({
  seriesInstanceUID: `1.2.3.${seriesDescription.length}.${Math.round(Math.random() * 1e6)}`,
  modality: 'MR',
  sopClassUID: '1.2.840.10008.5.1.4.1.1.4',
  instanceCount: 155,
  seriesDescription,
  protocolName: '',
  sequenceName: '',
  scanningSequence: [],
  sequenceVariant: [],
  imageType: [],
  contrastAgent: '',
  ...extra,
});

describe('sequence roles', () => {
  it('reads the usual series descriptions', () => {
    expect(guessRole(series('AX FLAIR'))).toBe('FLAIR');
    expect(guessRole(series('t2_tirm_tra_dark-fluid'))).toBe('FLAIR');
    expect(guessRole(series('T1 MPRAGE POST GAD'))).toBe('T1ce');
    expect(guessRole(series('t1_mprage_sag', { contrastAgent: 'Gadovist' }))).toBe('T1ce');
    expect(guessRole(series('t1_fl2d_sag'))).toBe('T1');
    expect(guessRole(series('T2 TSE AX'))).toBe('T2');
    expect(guessRole(series('T2* GRE'))).toBe(null);
  });

  it('falls back on sequence physics when the description says nothing', () => {
    expect(guessRole(series('SERIES 5', { scanningSequence: ['SE', 'IR'], inversionTime: 2500 }))).toBe('FLAIR');
    expect(guessRole(series('SERIES 6', { echoTime: 100, repetitionTime: 4000 }))).toBe('T2');
    expect(guessRole(series('SERIES 7', { echoTime: 10, repetitionTime: 500 }))).toBe('T1');
  });

  it('refuses ambiguity and honours overrides', () => {
    const a = series('FLAIR AX', { seriesNumber: 4 });
    const b = series('FLAIR COR', { seriesNumber: 5 });
    const t1 = series('T1 SE', { seriesNumber: 2 });
    expect(() => assignRoles([a, b, t1], ['FLAIR', 'T1'])).toThrow(/2 series .* could be the FLAIR/s);
    expect(assignRoles([a, b, t1], ['FLAIR', 'T1'], { FLAIR: '5' }).uids).toEqual({ FLAIR: b.seriesInstanceUID, T1: t1.seriesInstanceUID });
    expect(() => assignRoles([a, t1], ['FLAIR', 'T2'])).toThrow(/No T2 series/);
  });
});

describe('the post-contrast T1, from the headers', () => {
  // One Siemens T1 sequence acquired twice in one session (t1-sag-hfs at 15:04:41 as series 3, t1-sag-hfp at
  // 15:19:06 as series 2): the same description, no ContrastBolusAgent, as a pre/post-contrast pair often is.
  const real = async (folder: string) => describeSeries((await scanDicomFolder(join(DATA, 'dicom', folder))).series[0]);

  it('reads when each series was acquired', async () => {
    expect((await real('t1-sag-hfs')).acquired).toBe('20220407150441.525000');
    expect((await real('t1-sag-hfp')).acquired).toBe('20220407151906.572500');
  });

  it('takes the later of two acquisitions of the same T1 sequence as the T1ce, by time not series number, and says it is a guess', async () => {
    const [first, second] = [await real('t1-sag-hfs'), await real('t1-sag-hfp')];
    const r = assignRoles([second, first], ['T1', 'T1ce']);
    expect(r.uids).toEqual({ T1: first.seriesInstanceUID, T1ce: second.seriesInstanceUID });
    expect(r.warnings).toHaveLength(2);
    expect(r.warnings.join('\n')).toMatch(/T1ce \(post-contrast\): #2 "t1_fl2d_sag".*later \(2022-04-07 15:19:06, the other 2022-04-07 15:04:41\)/);
    expect(r.warnings.join('\n')).toMatch(/T1 \(pre-contrast\): #3 "t1_fl2d_sag" .*, the earlier/);
    // An explicit choice is no guess.
    const chosen = assignRoles([second, first], ['T1', 'T1ce'], { T1ce: '3', T1: '2' });
    expect(chosen.uids).toEqual({ T1: second.seriesInstanceUID, T1ce: first.seriesInstanceUID });
    expect(chosen.warnings).toEqual([]);
    expect(chosen.notes[0]).toMatch(/chosen with --role T1ce=3/);
  });

  it('believes ContrastBolusAgent over the acquisition order', async () => {
    const [first, second] = [await real('t1-sag-hfs'), await real('t1-sag-hfp')];
    const r = assignRoles([{ ...first, contrastAgent: 'Gadovist' }, second], ['T1', 'T1ce']);
    expect(r.uids).toEqual({ T1: second.seriesInstanceUID, T1ce: first.seriesInstanceUID });
    expect(r.notes).toEqual([expect.stringMatching(/#3 "t1_fl2d_sag".*because its ContrastBolusAgent is "Gadovist"/)]);
    expect(r.warnings).toEqual([]);
  });

  it('reads post-contrast in the description ("post", "+C", "GD", "KM"), and not in "pre contrast"', async () => {
    const t1 = await real('t1-sag-hfs');
    const named = (seriesDescription: string) => guessRole({ ...t1, seriesDescription, protocolName: '' });
    for (const post of ['T1 SE fs +C', 'T1_SE_tra KM', 'AX T1 POST', 'T1 SE GD', 'T1W_SE gado', 'T1 C+ AX']) expect(named(post), post).toBe('T1ce');
    for (const pre of ['T1 SE fs', 'T1 pre contrast', 'T1 SE nativ', 't1_fl2d_sag']) expect(named(pre), pre).toBe('T1');
    const r = assignRoles([{ ...t1, seriesDescription: 'T1 SE fs +C' }, await real('t1-sag-hfp')], ['T1', 'T1ce']);
    expect(r.notes[0]).toMatch(/because its description says "\+c"/);
  });

  it('refuses when the order cannot tell: no acquisition time, or three acquisitions', async () => {
    const [first, second] = [await real('t1-sag-hfs'), await real('t1-sag-hfp')];
    expect(() => assignRoles([{ ...first, acquired: undefined }, second], ['T1', 'T1ce'])).toThrow(/2 series .* could be the T1[^]*--role T1=.*and the post-contrast one with --role T1ce=/);
    const third = { ...second, seriesInstanceUID: '1.2.3.4', seriesNumber: 9, acquired: '20220407160000.000000' };
    expect(() => assignRoles([first, second, third], ['T1', 'T1ce'])).toThrow(/3 series .* could be the T1/);
  });
});
