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
const Training = z.object({ data: z.array(z.unknown()), validation: z.array(z.unknown()) });

export function modelSummary(card: ModelCard): ModelSummary {
  const v = Validation.safeParse((card as Record<string, unknown>).validation);
  const t = Training.safeParse((card as Record<string, unknown>).training);
  const summary = (card as Record<string, unknown>).summary;
  return {
    id: card.id,
    version: card.version,
    description: card.description,
    inputs: card.inputs,
    defaults: { sampler: card.defaults.sampler, steps: card.defaults.steps, ensemble: card.defaults.ensemble },
    validation: v.success
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
