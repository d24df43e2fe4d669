"""The README's validation table is the shipped model's `halo evaluate --protocol paper` report, as
readme_table.py writes it: shipping a model without updating the table (or editing a number by hand) fails here."""
import json
import sys
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(HERE))

from readme_table import lgg_table, table  # noqa: E402

ROOT = HERE.parents[1]


class ReadmeTable(unittest.TestCase):
    def test_readme_holds_the_shipped_models_report(self):
        report = json.loads((HERE / "eval" / "wt-4seq.json").read_text())
        card = json.loads((ROOT / "models" / "wt-4seq" / "card.json").read_text())
        self.assertEqual(report["model"]["version"], card["version"], "eval/wt-4seq.json is not the shipped model's report")
        self.assertIn(table(report), (ROOT / "README.md").read_text())

    def test_readme_holds_the_shipped_models_skull_on_report(self):
        report = json.loads((HERE / "eval" / "lgg" / "wt-flair-t1.json").read_text())
        card = json.loads((ROOT / "models" / "wt-flair-t1" / "card.json").read_text())
        self.assertEqual(report["model"]["version"], card["version"], "eval/lgg/wt-flair-t1.json is not the shipped model's report")
        self.assertIn(lgg_table(report), (ROOT / "README.md").read_text())


if __name__ == "__main__":
    unittest.main()
