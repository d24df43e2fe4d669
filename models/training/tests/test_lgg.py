"""The skull-on LGG patients for training (train.py --lgg): the split is by patient and follows its stated rule,
and data.load_case prepares a real skull-on case as the engine does (brain extracted from the FLAIR, inputs in
[0, 1] inside it and 0 outside), giving arrays that train beside the BraTS ones."""
import sys
import unittest
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(HERE))

import brain  # noqa: E402
import data  # noqa: E402
import train  # noqa: E402

LGG = data.DATA / "skull-on" / "lgg"


class LggSplit(unittest.TestCase):
    def test_split_by_patient_every_third_of_each_site(self):
        self.assertEqual(set(train.LGG_TRAIN) & set(train.LGG_VALIDATION), set())
        self.assertEqual(set(train.LGG_TRAIN) | set(train.LGG_VALIDATION), set(train.LGG_PATIENTS))
        sites = sorted({site for _, site in train.LGG_PATIENTS.values()})
        expected = [p for s in sites for p in sorted(n for n, (_, site) in train.LGG_PATIENTS.items() if site == s)[1::3]]
        self.assertEqual(sorted(train.LGG_VALIDATION), sorted(expected))
        self.assertEqual(len(train.LGG_VALIDATION), 8)

    def test_every_patient_with_flair_t1_and_a_mask_is_in_it(self):
        usable = {d.name for d in LGG.iterdir()
                  if all((d / f"{d.name}_{s}.nii.xz").exists() for s in ("flair", "t1", "seg"))}
        self.assertEqual(usable, set(train.LGG_PATIENTS))
        self.assertNotIn("TCGA_DU_7013_19860523", usable)  # FLAIR only

    def test_lgg_needs_a_model_without_t2(self):
        with self.assertRaisesRegex(SystemExit, "no T2"):
            train.add_lgg("wt-4seq")

    def test_lgg_share_splits_each_half_of_a_batch(self):
        # batch 8: 4 tumour slices (3 BraTS, 1 LGG) and 4 tumour-free (3, 1); without a share, as before
        self.assertEqual(train.pool_counts([4, 4], 0.25), [3, 1, 3, 1])
        self.assertEqual(train.pool_counts([4, 4], 0.5), [2, 2, 2, 2])
        self.assertEqual(train.pool_counts([3, 4], 0.0), [3, 4])
        # --lgg-free-share: the tumour-free half split by its own share
        self.assertEqual(train.pool_counts([4, 4], 0.5, 0.75), [2, 2, 1, 3])

    def test_the_quick_validation_checks_every_tumour_free_slice_of_an_lgg_patient(self):
        # 10 slices: tumour on 3-5, brain on 1-8; a BraTS patient gets 2 evenly spaced tumour-free slices, an LGG one all
        masks = np.zeros((10, 4, 4), bool)
        masks[3:6, 1, 1] = True
        vol = type("Volume", (), {"masks": masks, "has_brain": np.arange(10) % 9 != 0})()
        self.assertEqual(train.free_slices_checked("Brats18_2013_20_1"), 2)
        self.assertIsNone(train.free_slices_checked(train.LGG_VALIDATION[0]))
        self.assertEqual(train.validation_slices(vol, 8, 2)[1], [1, 8])
        self.assertEqual(train.validation_slices(vol, 8, None), ([3, 4, 5], [1, 2, 6, 7, 8]))

    def test_every_lgg_series_is_5_mm_thick_as_2p5d_neighbours_assume(self):
        for name, (folder, _) in train.LGG_PATIENTS.items():
            zooms = data.load(data.DATA / folder / f"{name}_flair.nii.xz")[1]
            self.assertAlmostEqual(float(zooms[2]), train.SLICE_MM["lgg"], msg=name)

    def test_2p5d_neighbours_are_millimetres_away_on_any_slice_thickness(self):
        self.assertEqual(train.neighbour_offset("brats", 5), 5)  # BraTS: 1 mm slices
        self.assertEqual(train.neighbour_offset("lgg", 5), 1)    # the adjacent 5 mm slice
        self.assertEqual(train.neighbour_offset("lgg", 10), 2)
        self.assertEqual(train.neighbour_offset("lgg", 0), 0)
        with self.assertRaisesRegex(SystemExit, "5 mm thick"):
            train.neighbour_offset("lgg", 3)

    def test_a_slab_s_neighbours_are_the_slabs_5_mm_away_and_an_lgg_slice_s_the_adjacent_slices(self):
        # slice k of each patient holds k + 1 (brain everywhere); a BraTS patient of 15 slices, an LGG one of 4
        volume = lambda z: type("Prepared", (), {"cond": np.arange(1, z + 1, dtype=np.float32)[:, None, None, None]
                                                 * np.ones((z, 1, 128, 128), np.float32),
                                                 "masks": np.zeros((z, 128, 128), np.float32), "has_brain": np.ones(z, bool)})()
        spec, vols = [("brats", "a"), ("lgg", "b")], [volume(15), volume(4)]
        both = train.thick_slices(spec, vols, 5)[:, :, 64, 64]
        slabs = train.thick_slices(spec, vols)[:, 0, 64, 64]
        np.testing.assert_array_equal(both[:, 0], slabs)  # each slab's own sequence as without neighbours
        np.testing.assert_array_equal(both[7, 1:], [slabs[2], slabs[12]])  # BraTS slab 7: slabs 2 and 12
        np.testing.assert_array_equal(both[15 + 1, 1:], [slabs[15], slabs[17]])  # LGG slice 1: slices 0 and 2
        self.assertEqual(vols[0].cond.shape[1], 1)  # the patients' own arrays are left as they were

    def test_lgg_slices_are_flagged_in_training_order(self):
        # training_slices keeps each patient's slices with brain, in order: 2 of a BraTS patient, then 3 of an LGG one
        patient = lambda brain: type("Prepared", (), {"has_brain": np.array(brain)})()
        spec = [("brats", "a"), ("lgg", "b")]
        flags = train.lgg_slice_flags(spec, [patient([0, 1, 1, 0]), patient([1, 1, 1])])
        self.assertEqual(flags.tolist(), [False, False, True, True, True])


class LggLoader(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.name = "TCGA_DU_6399_19830416"
        cls.vol = data.load_case(LGG / cls.name, ["FLAIR", "T1"], train.MODEL_SPACING, detect_skull=True)
        cls.flair, cls.zooms = data.load(LGG / cls.name / f"{cls.name}_flair.nii.xz")
        cls.seg = data.load(LGG / cls.name / f"{cls.name}_seg.nii.xz")[0] > 0

    def test_the_brain_is_extracted_from_the_flair_as_the_engine_does(self):
        extracted = brain.brain_if_unstripped(self.flair, self.zooms)
        self.assertIsNotNone(extracted)
        np.testing.assert_array_equal(self.vol.brain, extracted.transpose(2, 1, 0))
        head = (self.flair != 0).transpose(2, 1, 0)
        # The skull and scalp are gone: the brain is well inside the non-zero head...
        self.assertLess(self.vol.brain.sum(), 0.75 * head.sum())
        # ...and holds the tumour.
        seg = self.seg.transpose(2, 1, 0)
        self.assertGreater((seg & self.vol.brain).sum() / seg.sum(), 0.98)

    def test_inputs_are_normalised_inside_the_brain_and_zero_outside(self):
        cond = self.vol.cond
        self.assertEqual(cond.shape[1], 2)
        self.assertGreaterEqual(cond.min(), 0.0)
        self.assertLessEqual(cond.max(), 1.0)
        # On the model grid (2 mm), nothing outside the resampled brain.
        inside = data.crop(data.resample_2d(self.vol.brain.astype(float), (self.zooms[1], self.zooms[0]),
                                            train.MODEL_SPACING) > 0, self.vol.box)
        self.assertEqual(float(np.abs(cond * ~inside[:, None]).max()), 0.0)
        # Clipped at the brain's 1st/99th percentiles: the brain's pixels spread over [0, 1].
        for channel in range(2):
            values = cond[:, channel][inside]
            self.assertGreater(float(np.percentile(values, 90)) - float(np.percentile(values, 10)), 0.2)

    def test_masks_and_training_arrays_fit_beside_brats(self):
        masks = self.vol.masks
        self.assertEqual(set(np.unique(masks)), {0.0, 1.0})
        self.assertEqual(int(masks.reshape(len(masks), -1).any(1).sum()), int(self.seg.any((0, 1)).sum()))
        cond, mask = data.training_slices([self.vol], min_size=train.PAD)
        self.assertEqual(cond.shape[1:], (2, train.PAD, train.PAD))
        self.assertEqual(mask.shape[1:], (1, train.PAD, train.PAD))
        self.assertEqual(len(cond), int(self.vol.has_brain.sum()))

    def test_a_skull_stripped_brats_case_is_left_alone(self):
        case = data.DATA / "brats" / "BraTS2021_00006"
        plain = data.load_case(case, ["FLAIR", "T1"], train.MODEL_SPACING)
        detected = data.load_case(case, ["FLAIR", "T1"], train.MODEL_SPACING, detect_skull=True)
        np.testing.assert_array_equal(plain.cond, detected.cond)


if __name__ == "__main__":
    unittest.main()
