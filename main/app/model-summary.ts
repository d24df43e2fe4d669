/**
 * What the UI shows of a model card: inputs, defaults, and the validation summary a radiologist needs before
 * trusting a result (how many patients and slices, Dice, the baseline it must beat, the card's own verdict).
 * The validation block is documentation in the card (it passes through the engine's schema), so it is read
 * leniently here: a card without one is shown as "not validated".
 */
import { z } from 'zod';
import type { ModelCard } from '../model/card';
import type { ModelSummary } from './contract';

const Validation = z.object({
  patient: z.string(),
  single: z.object({ dice: z.number(), slices: z.number() }),
  ensemble5: z.object({ dice: z.number(), hd95_mm: z.number().optional(), empty_predictions: z.number().optional() }),
  uncertainty_auroc_wrong_pixels: z.number().optional(),
  baseline: z.object({ method: z.string(), dice: z.number() }).optional(),
});
/** The card's validation as `halo evaluate` writes it (per patient, and the mean over patients). */
const Evaluation = z.object({
  baseline: z.string(),
  cases: z.array(z.unknown()),
  mean: z.object({
    tumourSlices: z.number(),
    single: z.object({ dice: z.number().nullable() }),
    ensemble: z.object({ dice: z.number().nullable() }),
    varianceAuroc: z.number().nullable(),
    baseline: z.object({ dice: z.number().nullable() }),
  }),
});
const Training = z.object({ data: z.array(z.unknown()), validation: z.array(z.unknown()) });

export function modelSummary(card: ModelCard): ModelSummary {
  const raw = (card as Record<string, unknown>).validation;
  const v = Validation.safeParse(raw);
  const e = Evaluation.safeParse(raw);
  const t = Training.safeParse((card as Record<string, unknown>).training);
  const summary = (card as Record<string, unknown>).summary;
  return {
    id: card.id,
    version: card.version,
    description: card.description,
    inputs: card.inputs,
    defaults: { sampler: card.defaults.sampler, steps: card.defaults.steps, ensemble: card.defaults.ensemble },
    validation: e.success
      ? {
          trainingPatients: t.success ? t.data.data.length : null,
          validationPatients: e.data.cases.length,
          validationSlices: e.data.mean.tumourSlices,
          diceSingle: e.data.mean.single.dice ?? 0,
          diceEnsemble: e.data.mean.ensemble.dice ?? 0,
          baselineDice: e.data.mean.baseline.dice,
          baselineMethod: e.data.baseline,
          auroc: e.data.mean.varianceAuroc,
          verdict: typeof summary === 'string' ? summary : '',
        }
      : v.success
      ? {
          trainingPatients: t.success ? t.data.data.length : null,
          validationPatients: t.success ? t.data.validation.length : 1,
          validationSlices: v.data.single.slices,
          diceSingle: v.data.single.dice,
          diceEnsemble: v.data.ensemble5.dice,
          baselineDice: v.data.baseline?.dice ?? null,
          baselineMethod: v.data.baseline?.method ?? null,
          auroc: v.data.uncertainty_auroc_wrong_pixels ?? null,
          verdict: typeof summary === 'string' ? summary : '',
        }
      : null,
  };
}
