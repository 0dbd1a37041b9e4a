"""The published results hang together: docs/results.md's tables are lines of the report that
`neurop reproduce` wrote (docs/results/report.md), that report's main table carries the OOD means of
docs/results/results.json, and the results are one complete, clean reproduction at one commit."""
import json
import os
import re
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOCS = os.path.join(ROOT, "docs")


def read(*parts):
    with open(os.path.join(DOCS, *parts), encoding="utf-8") as f:
        return f.read()


class TestPublished(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.page = read("results.md")
        cls.report = read("results", "report.md")
        cls.results = json.loads(read("results", "results.json"))

    def test_page_tables_are_the_reports(self):
        report_lines = set(self.report.split("\n"))
        rows = [l for l in self.page.split("\n") if l.startswith("|")]
        self.assertGreater(len(rows), 50, "docs/results.md has lost its tables")
        missing = [l for l in rows if l not in report_lines]
        self.assertEqual(missing, [], "table lines of docs/results.md not in docs/results/report.md")

    def test_report_carries_results_json(self):
        main = self.report[self.report.index("| task | method | seeds |"):]
        main = main[:main.index("\n\n")].split("\n")
        self.assertEqual(len(self.results["results"]), 12)
        for r in self.results["results"]:
            ood = "%.3f ± %.3f" % (r["ood"]["mean"], r["ood"]["std"])
            hits = [l for l in main if "| %s |" % r["method_name"] in l and ood in l]
            self.assertEqual(len(hits), 1, "%s %s: OOD %s not in the report's main table" %
                             (r["task"], r["method"], ood))
        commit = self.results["commit"]
        self.assertRegex(commit, r"^[0-9a-f]{40}$")
        self.assertIn("| commit | %s |" % commit, self.report)

    def test_one_complete_clean_full_reproduction(self):
        r = self.results
        self.assertEqual(r["mode"], "full")
        self.assertFalse(r["dirty"])
        self.assertFalse(r["interrupted"])
        self.assertEqual(r["runs"]["complete"], r["runs"]["total"])
        self.assertEqual(r["runs"]["failed"] + r["runs"]["missing"], 0)
        for x in r["results"]:
            self.assertEqual(x["n_seeds"], r["seeds"], "%s %s" % (x["task"], x["method"]))
        # the page names the commit its tables come from
        self.assertIn(r["commit"][:7], self.page)
        self.assertTrue(re.search(r"cpu=.*kernel", r["machine"]["cpu"]), "the CPU and BLAS kernel are recorded")


if __name__ == "__main__":
    unittest.main()
