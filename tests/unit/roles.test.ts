import { describe, expect, it } from 'vitest';
import type { SeriesDescription } from '../../main/dicom/read-study';
import { assignRoles, guessRole } from '../../main/study/roles';

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
    expect(assignRoles([a, b, t1], ['FLAIR', 'T1'], { FLAIR: '5' })).toEqual({ FLAIR: b.seriesInstanceUID, T1: t1.seriesInstanceUID });
    expect(() => assignRoles([a, t1], ['FLAIR', 'T2'])).toThrow(/No T2 series/);
  });
});
