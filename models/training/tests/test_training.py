"""Quick tests of the training code (run by .ci/run through `npm run test:python`): a tiny model learns for a few
iterations, exports to ONNX, and its weights load back from the ONNX file unchanged; the diffusion maths agrees
with improved-diffusion; preprocessing gives the shapes and ranges the model card promises; training resumes."""
import json
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

import numpy as np
import onnx
import torch

HERE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(HERE))

import data  # noqa: E402
import diffusion  # noqa: E402
from export import export  # noqa: E402
from onnx_weights import load_unet_from_onnx  # noqa: E402
from unet import UNet  # noqa: E402


def tiny():
    torch.manual_seed(0)
    return UNet(in_channels=3, model_channels=8, channel_mult=(1, 2), attention_levels=(1,), heads=2)


class DiffusionMaths(unittest.TestCase):
    def test_linear_schedule(self):
        b = diffusion.linear_betas(1000)
        self.assertAlmostEqual(b[0], 1e-4)
        self.assertAlmostEqual(b[-1], 0.02)

    def test_respacing_keeps_the_cumulative_product(self):
        full = diffusion.Schedule(diffusion.linear_betas(1000))
        s = diffusion.Schedule.respaced(1000, 10)
        self.assertEqual(list(s.timesteps), [0, 111, 222, 333, 444, 555, 666, 777, 888, 999])
        np.testing.assert_allclose(s.alphas_cumprod, full.alphas_cumprod[s.timesteps], rtol=1e-12)

    def test_1000_respaced_steps_are_the_full_chain(self):
        full = diffusion.Schedule(diffusion.linear_betas(1000))
        s = diffusion.Schedule.respaced(1000, 1000)
        np.testing.assert_allclose(s.betas, full.betas, rtol=1e-10)

    def test_ddim_eta0_is_deterministic(self):
        model = tiny().eval()
        cond = torch.rand(1, 2, 32, 32)
        x1 = diffusion.sample(model, diffusion.make_sampler("ddim", 1000, 5), cond, generator=torch.Generator().manual_seed(1))
        x2 = diffusion.sample(model, diffusion.make_sampler("ddim", 1000, 5), cond, generator=torch.Generator().manual_seed(1))
        self.assertTrue(torch.equal(x1, x2))
        self.assertLessEqual(float(x1.abs().max()), 1.0 + 1e-6)


class TrainAndExport(unittest.TestCase):
    def test_a_few_iterations_reduce_the_loss_and_export_round_trips(self):
        model = tiny()
        s = diffusion.Schedule(diffusion.linear_betas(1000))
        torch.manual_seed(0)
        cond = torch.rand(4, 2, 32, 32)
        x0 = (cond[:, :1] > 0.5).float() * 2 - 1
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        losses = []
        for _ in range(30):
            loss, _, _ = diffusion.hybrid_loss(s, model, cond, x0)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        self.assertTrue(all(np.isfinite(losses)))
        self.assertLess(np.mean(losses[-5:]), np.mean(losses[:5]))

        with tempfile.TemporaryDirectory() as d:
            path = Path(d) / "m" / "model.onnx"
            export(model.eval(), path, size=32)
            onnx.checker.check_model(onnx.load(str(path)))
            card = {"onnx": {"file": "model.onnx"}, "architecture": model.config}
            (path.parent / "card.json").write_text(json.dumps(card))
            back = load_unet_from_onnx(path.parent)
            x, t = torch.rand(2, 3, 64, 32), torch.tensor([3.0, 700.0])
            self.assertTrue(torch.equal(model(x, t), back(x, t)))


class Preprocessing(unittest.TestCase):
    def test_crop_box_is_a_multiple_of_32_around_the_brain(self):
        brain = np.zeros((120, 120), bool)
        brain[20:90, 30:101] = True
        r0, c0, sr, sc = data.crop_box(brain)
        self.assertEqual((sr % 32, sc % 32), (0, 0))
        self.assertTrue(r0 <= 20 and r0 + sr >= 90 and c0 <= 30 and c0 + sc >= 101)

    def test_normalise_clips_to_brain_percentiles(self):
        rng = np.random.default_rng(0)
        vol = rng.normal(100, 20, (20, 20, 5))
        brain = np.ones_like(vol, bool)
        brain[:2] = False
        out = data.normalise(vol, brain)
        self.assertEqual(out[:2].max(), 0)
        self.assertAlmostEqual(out[brain].min(), 0)
        self.assertAlmostEqual(out[brain].max(), 1)

    def test_resampling_halves_by_averaging_pairs(self):
        a = np.arange(16, dtype=float).reshape(4, 4)
        out = data.resample_2d(a, (1.0, 1.0), 2.0)
        np.testing.assert_allclose(out, [[2.5, 4.5], [10.5, 12.5]])


    def test_thick_slabs_average_five_slices_and_normalise_again(self):
        cond = np.zeros((9, 2, 4, 4), np.float32)
        cond[:, :, 1:3, 1:3] = 0.5  # a column of brain through every slice
        cond[4, 0, 1, 1] = 1.0      # one bright voxel on the middle slice, first sequence only
        cond[:, 1, 1:3, 1:3] = (0.1 * np.arange(1, 10))[:, None, None]  # second sequence: brighter slice by slice
        slab = data.thick_slabs(cond, 5)
        # By hand: the bright voxel shows on the 5 slabs that hold slice 4, at (4 x 0.5 + 1) / 5; then normalised.
        raw = cond[:, 0].astype(np.float64)
        raw[:, 1, 1] = [0.6 if 2 <= k <= 6 else 0.5 for k in range(9)]
        np.testing.assert_allclose(slab[:, 0], data.normalise(raw, raw > 0), atol=1e-6)
        # A ramp keeps its values inside; at the volume's ends the slab holds only the slices that exist.
        ramp = np.zeros((9, 4, 4))
        ramp[:, 1:3, 1:3] = np.array([0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.7, 0.75, 0.8])[:, None, None]
        np.testing.assert_allclose(slab[:, 1], data.normalise(ramp, ramp > 0), atol=1e-6)
        self.assertEqual(slab[:, 0, 1, 1].tolist(), [0, 0, 1, 1, 1, 1, 1, 0, 0])  # the 99th percentile clips it to 1
        self.assertTrue((slab[:, :, 0] == 0).all() and (slab[:, :, :, 3] == 0).all())  # outside the brain: 0


class TrainScript(unittest.TestCase):
    def test_training_validates_resumes_and_refuses_to_overwrite(self):
        with tempfile.TemporaryDirectory() as d:
            cmd = [sys.executable, str(HERE / "train.py"), "--model", "wt-4seq", "--batch", "2", "--out", d,
                   "--save-every", "1", "--threads", "1", "--cases", "1", "--resume-dir", str(Path(d) / "carried")]
            shipped = json.loads((HERE.parent / "wt-4seq" / "card.json").read_text())["training"]["iterations"]
            run = lambda extra: subprocess.run(cmd + extra, capture_output=True, text=True, timeout=600)
            # No checkpoint yet: --resume starts from the shipped model.onnx and counts its iterations on.
            first = run(["--iters", str(shipped + 1), "--resume", "--val-every", "1"])
            self.assertEqual(first.returncode, 0, first.stderr)
            self.assertIn("resumed from the shipped wt-4seq", first.stdout)
            self.assertIn('"validation"', first.stdout)
            self.assertTrue((Path(d) / "wt-4seq" / "best.pt").exists())
            refused = run(["--iters", str(shipped + 2)])
            self.assertNotEqual(refused.returncode, 0)
            self.assertIn("pass --resume", refused.stderr)
            # Resumed with another --lr (annealing): the optimiser takes it, and the recipe keeps the schedule.
            second = run(["--iters", str(shipped + 2), "--resume", "--val-every", "0", "--lr", "5e-5", "--channels", "32",
                          "--small-tumour", "1", "--thick", "1"])
            self.assertEqual(second.returncode, 0, second.stderr)
            self.assertIn(f"resumed at step {shipped + 1}", second.stdout)
            state = torch.load(Path(d) / "wt-4seq" / "last.pt")
            self.assertEqual(state["step"], shipped + 2)
            self.assertEqual(state["best"]["step"], shipped + 1)
            self.assertEqual(state["opt"]["param_groups"][0]["lr"], 5e-5)
            self.assertEqual(state["recipe"]["lr_schedule"], [[shipped, 2e-4], [shipped + 1, 5e-5]])
            self.assertEqual(state["config"]["model_channels"], 16)  # resumed: its own size, not --channels
            self.assertEqual(state["recipe"]["small_tumour"], 1.0)
            self.assertEqual(state["recipe"]["thick"], 1.0)
            # --carry keeps a small resume point (no optimiser state) that a new machine continues from
            carry = run(["--carry"])
            self.assertEqual(carry.returncode, 0, carry.stderr)
            (Path(d) / "wt-4seq" / "last.pt").unlink()
            third = run(["--iters", str(shipped + 3), "--resume", "--val-every", "0"])
            self.assertEqual(third.returncode, 0, third.stderr)
            self.assertIn(f"resumed at step {shipped + 2} from wt-4seq.pt", third.stdout)


class Augmentation(unittest.TestCase):
    def test_masks_stay_binary_and_the_background_zero(self):
        import train
        g = torch.Generator().manual_seed(0)
        cond = torch.zeros(3, 4, 128, 128)
        cond[:, :, 30:100, 20:110] = torch.rand(3, 4, 70, 90) * 0.9 + 0.05
        x0 = -torch.ones(3, 1, 128, 128)
        x0[:, :, 50:70, 50:70] = 1
        c, m = train.augment(cond, x0, g)
        self.assertEqual(tuple(c.shape), (3, 4, train.CROP, train.CROP))
        self.assertEqual(set(m.unique().tolist()) - {-1.0, 1.0}, set())
        self.assertTrue(bool((m > 0).any()))
        self.assertGreaterEqual(float(c.min()), 0.0)
        self.assertLessEqual(float(c.max()), 1.0)
        # pixels with no brain in any sequence stay exactly 0 (the engine's preprocessing sets them to 0)
        outside = (c == 0).all(1)
        self.assertGreater(float(outside.float().mean()), 0.05)


    def test_tight_crops_cut_each_slice_to_its_own_brain_box(self):
        import train
        cond = torch.zeros(4, 4, 128, 128)
        x0 = -torch.ones(4, 1, 128, 128)
        cond[0, :, 30:100, 20:105] = 0.5  # a middle slice: 70 x 85 -> 80 x 96
        x0[0, :, 50:60, 50:60] = 1
        cond[1, :, 40:90, 40:90] = 0.7    # 50 x 50 -> 64 x 64, shares the group of the largest
        cond[2, :, 60:75, 60:80] = 0.3    # top slices: 15 x 20 -> 16 x 32
        cond[3, :, 50:70, 50:70] = 0.2    # 20 x 20 -> 32 x 32
        parts = train.tight_crop(cond, x0, multiple=16)
        self.assertEqual([(tuple(c.shape[-2:]), share) for c, _, share in parts], [((32, 32), 0.5), ((80, 96), 0.5)])
        small, large = parts
        # every brain pixel and every tumour pixel is kept; the mask's background stays -1
        self.assertEqual(int((small[0] > 0).any(1).sum()), 15 * 20 + 20 * 20)
        self.assertEqual(int((large[0] > 0).any(1).sum()), 70 * 85 + 50 * 50)
        self.assertEqual(int((large[1] > 0).sum()), 100)
        self.assertEqual(set(large[1].unique().tolist()), {-1.0, 1.0})
        # the largest box is the engine's own box for that slice: the brain fills it up to the rounding
        self.assertEqual(data.crop_box(cond[0, 0].numpy() > 0, 16)[2:], (80, 96))


class WarmStart(unittest.TestCase):
    def test_a_flair_t1_model_starts_as_the_4seq_model_without_t1ce_and_t2(self):
        import train
        torch.manual_seed(0)
        src = UNet(in_channels=5, model_channels=8, channel_mult=(1, 2), attention_levels=(1,), heads=2).eval()
        dst = UNet(in_channels=3, model_channels=8, channel_mult=(1, 2), attention_levels=(1,), heads=2).eval()
        train.transfer_weights(dst, src.state_dict(), ["T1", "T1ce", "T2", "FLAIR"], ["FLAIR", "T1"])
        flair, t1, x = torch.rand(2, 1, 32, 32), torch.rand(2, 1, 32, 32), torch.randn(2, 1, 32, 32)
        t = torch.tensor([10.0, 700.0])
        zero = torch.zeros_like(flair)
        with torch.no_grad():
            want = src(torch.cat([t1, zero, zero, flair, x], 1), t)
            got = dst(torch.cat([flair, t1, x], 1), t)
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
        wider = UNet(in_channels=3, model_channels=16, channel_mult=(1, 2), attention_levels=(1,), heads=2)
        with self.assertRaises(SystemExit):
            train.transfer_weights(wider, src.state_dict(), ["T1", "T1ce", "T2", "FLAIR"], ["FLAIR", "T1"])

    def test_a_widened_model_computes_what_the_narrow_one_does(self):
        from widen import widen
        torch.manual_seed(0)
        narrow = UNet(in_channels=5, model_channels=8, channel_mult=(1, 2), attention_levels=(1,), heads=2).eval()
        with torch.no_grad():  # no zero-initialised layers: every path must carry over
            for p in narrow.parameters():
                p.add_(torch.randn_like(p) * 0.2)
        x, t = torch.randn(2, 5, 32, 48), torch.tensor([10.0, 700.0])
        wide = widen(narrow, noise=0).eval()
        self.assertEqual(wide.config["model_channels"], 16)
        with torch.no_grad():
            torch.testing.assert_close(wide(x, t), narrow(x, t), rtol=1e-4, atol=1e-4)
            self.assertGreater(float((widen(narrow, noise=1e-2)(x, t) - narrow(x, t)).abs().max()), 0)

    def test_a_2p5d_net_starts_as_the_2d_one_whatever_the_neighbours_hold(self):
        import train
        torch.manual_seed(0)
        flat = UNet(in_channels=5, model_channels=8, channel_mult=(1, 2), attention_levels=(1,), heads=2).eval()
        with torch.no_grad():
            for p in flat.parameters():
                p.add_(torch.randn_like(p) * 0.2)
        deep = train.add_neighbour_inputs(flat, 4).eval()
        self.assertEqual(deep.config["in_channels"], 13)
        own, x, t = torch.rand(2, 4, 32, 32), torch.randn(2, 1, 32, 32), torch.tensor([10.0, 700.0])
        with torch.no_grad():
            torch.testing.assert_close(deep(torch.cat([own, torch.rand(2, 8, 32, 32), x], 1), t),
                                       flat(torch.cat([own, x], 1), t), rtol=1e-5, atol=1e-5)


class Neighbours(unittest.TestCase):
    def test_neighbours_follow_the_slice_and_are_zero_beyond_the_ends(self):
        cond = np.arange(1, 6, dtype=np.float32)[:, None, None, None] * np.ones((5, 2, 3, 3), np.float32)
        got = data.stack_neighbours(cond, 2)[:, :, 0, 0]
        np.testing.assert_array_equal(got[:, ::2], [[1, 0, 3], [2, 0, 4], [3, 1, 5], [4, 2, 0], [5, 3, 0]])

    def test_augmentation_changes_a_sequence_alike_in_the_slice_and_its_neighbours(self):
        import train
        slice_ = torch.zeros(2, 2, 128, 128)
        slice_[:, :, 30:100, 20:110] = 0.5
        neighbour = torch.zeros(2, 2, 128, 128)
        neighbour[:, :, 40:90, 30:100] = 0.5  # a smaller brain: outside it the neighbour stays 0
        cond = torch.cat([slice_, neighbour, slice_], 1)
        c, _ = train.augment(cond, -torch.ones(2, 1, 128, 128), torch.Generator().manual_seed(0), slices=3)
        torch.testing.assert_close(c[:, 0:2], c[:, 4:6])
        inside = (c[:, 2:4] > 0).any(1)
        self.assertTrue(bool(inside.any()))
        self.assertLess(int(inside.sum()), int((c[:, 0:2] > 0).any(1).sum()))
        # inside the neighbour's brain (away from its edge, which the warp blurs into 0), its sequences got the
        # same gamma, field, gain and shift as the slice's
        interior = -torch.nn.functional.max_pool2d(-inside[:, None].float(), 5, stride=1, padding=2) > 0
        both = interior.expand(-1, 2, -1, -1)
        torch.testing.assert_close(c[:, 2:4][both], c[:, 0:2][both])


if __name__ == "__main__":
    unittest.main()


class DataPack(unittest.TestCase):
    """The pack carried to the GPU machine: every tumour slice kept, a share of the tumour-free ones, intensities
    at the stated levels, and train.py's reader giving back what was packed."""

    def test_pack_keeps_tumour_slices_and_round_trips(self):
        import pack_data
        rng = np.random.default_rng(0)
        cond = rng.random((10, 2, 16, 16)).astype(np.float32)
        mask = np.zeros((10, 1, 16, 16), bool)
        mask[[1, 4, 7], 0, 5:9, 5:9] = True
        keep = pack_data.keep_slices(mask, 0.5)
        self.assertTrue(keep[[1, 4, 7]].all())
        self.assertEqual(keep.sum(), 3 + 4)  # half of the 7 tumour-free slices, rounded
        # A tumour share of 0.5 keeps half of a run of tumour slices, spread over it with both ends (3 of 6).
        run = np.zeros((10, 1, 4, 4), bool)
        run[2:8, 0, 1, 1] = True
        np.testing.assert_array_equal(np.flatnonzero(pack_data.keep_slices(run, 1.0, 0.5) & run.any((1, 2, 3))), [2, 4, 7])
        from_lgg = np.arange(10) >= 6
        arrays = {"cond": pack_data.quantise(cond[keep], 128), "mask": mask[keep], "levels": np.array(128),
                  "from_lgg": from_lgg[keep],
                  "val_cond_0": pack_data.quantise(cond[:2], 128), "val_mask_0": mask[:2], "val_names": np.array(["p"])}
        with tempfile.TemporaryDirectory() as d:
            out = Path(d) / "m.npz.xz"
            pack_data.write_pack(arrays, out)
            c, m, vols, names, lgg, neighbours = data.unpack(out)
            del arrays["from_lgg"]  # a pack of an earlier session: no slice is an LGG patient's
            pack_data.write_pack(arrays, out)
            self.assertFalse(data.unpack(out)[4].any())
            self.assertEqual(data.unpack(out)[5], 0)  # single slices, unless packed with --neighbours
            pack_data.write_pack({**arrays, "neighbours": np.array(5)}, out)
            self.assertEqual(data.unpack(out)[5], 5)
        self.assertEqual(neighbours, 0)
        self.assertEqual(names, ["p"])
        np.testing.assert_array_equal(lgg, from_lgg[keep])
        self.assertLessEqual(np.abs(c - cond[keep]).max(), 0.5 / 127 + 1e-6)  # within half a step of 128 levels
        np.testing.assert_array_equal(m, mask[keep].astype(np.float32))
        self.assertEqual(vols[0].cond.shape, (2, 2, 16, 16))
