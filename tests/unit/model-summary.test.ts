/** The viewer's model summary reads the card's validation as `halo evaluate` writes it (per patient + mean). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { modelSummary } from '../../main/app/model-summary';
import { ModelCardSchema } from '../../main/model/card';
import { ROOT } from '../support/paths';

const card = ModelCardSchema.parse(JSON.parse(readFileSync(join(ROOT, 'models', 'wt-4seq', 'card.json'), 'utf8')));

describe('model summary', () => {
  it('shows the per-patient evaluation: patients, slices, mean Dice, baseline, AUROC', () => {
    const validation = {
      ensemble: 5,
      baseline: 'FLAIR above its 90th percentile inside the brain (per case)',
      cases: [{ case: 'A' }, { case: 'B' }],
      mean: { tumourSlices: 31, single: { dice: 0.6 }, ensemble: { dice: 0.7 }, varianceAuroc: 0.81, baseline: { dice: 0.5 } },
    };
    const s = modelSummary({ ...card, validation, summary: 'verdict' } as typeof card);
    expect(s.validation).toMatchObject({
      ensemble: 5, validationPatients: 2, validationSlices: 31, diceSingle: 0.6, diceEnsemble: 0.7, baselineDice: 0.5, auroc: 0.81,
      baselineMethod: validation.baseline, verdict: 'verdict',
    });
  });

  it('shows the skull-on evaluation next to it, with its false positives, where the card has one', () => {
    const skullOn = {
      ensemble: 10,
      baseline: 'FLAIR above its 90th percentile inside the brain (per case; the extracted brain where Halo extracted it)',
      cases: [{ case: 'A' }, { case: 'B' }, { case: 'C' }],
      mean: { tumourSlices: 40, single: { dice: 0.65 }, ensemble: { dice: 0.72 }, varianceAuroc: 0.9, falsePositiveCm2: 0.7, baseline: { dice: 0.46 } },
    };
    const s = modelSummary({ ...card, validationSkullOn: skullOn, summary: 'verdict' } as typeof card);
    expect(s.validationSkullOn).toMatchObject({ ensemble: 10, validationPatients: 3, validationSlices: 40, diceEnsemble: 0.72, falsePositiveCm2: 0.7, baselineDice: 0.46 });
    expect(modelSummary(card).validationSkullOn).toBeNull(); // wt-4seq: never validated with the skull
  });

  it('reads the shipped wt-flair-t1 card: BraTS and skull-on evaluations, each at the default for its kind of study', () => {
    const flairT1 = ModelCardSchema.parse(JSON.parse(readFileSync(join(ROOT, 'models', 'wt-flair-t1', 'card.json'), 'utf8')));
    const s = modelSummary(flairT1);
    expect(s.validation?.validationPatients).toBe(8);
    expect(s.validationSkullOn?.validationPatients).toBe(8);
    expect(s.validationSkullOn?.falsePositiveCm2).not.toBeNull();
    expect(s.defaults).toMatchObject({ ensemble: 5, ensembleBrainExtracted: 10 });
    expect(s.validation?.ensemble).toBe(s.defaults.ensemble);
    expect(s.validationSkullOn?.ensemble).toBe(s.defaults.ensembleBrainExtracted);
    expect(modelSummary(card).defaults.ensembleBrainExtracted).toBeNull(); // wt-4seq: the same size on any study
  });

  it('says "not validated" (null) for a card without validation', () => {
    expect(modelSummary({ ...card, validation: undefined } as typeof card).validation).toBeNull();
  });
});
