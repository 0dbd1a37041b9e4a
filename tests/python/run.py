"""Runs every unittest in tests/python/test_*.py (or those whose name contains argv[1]) and
prints what the C runner prints: `ok   name (0.12s)`, `FAIL name` with the failure, and the
final line `N passed, N failed, N skipped`; exits 1 when any test failed."""
import os
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))


def tests_of(suite):
    for t in suite:
        if isinstance(t, unittest.TestSuite):
            yield from tests_of(t)
        else:
            yield t


def name_of(test):
    return "py." + test.id().replace("test_", "", 1)


class Result(unittest.TestResult):
    """Prints one line per test as it ends; a failing class fixture (setUpClass) counts as one failure."""

    def __init__(self):
        super().__init__()
        self.passed = self.failed = self.skipped = 0

    def startTest(self, test):
        super().startTest(test)
        self.t0, self.problems, self.skip = time.monotonic(), [], None

    def _problem(self, test, err):
        self.problems.append(self._exc_info_to_string(err, test))
        if not isinstance(test, unittest.TestCase):   # setUpClass / tearDownClass: no startTest/stopTest
            self.failed += 1
            print("FAIL %s\n    %s" % (test.description, self.problems.pop().rstrip().replace("\n", "\n    ")))

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._problem(test, err)

    def addError(self, test, err):
        super().addError(test, err)
        self._problem(test, err)

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None:
            self._problem(subtest, err)

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self.skip = reason

    def stopTest(self, test):
        super().stopTest(test)
        if self.problems:
            self.failed += 1
            print("FAIL %s" % name_of(test))
            for p in self.problems:
                print("    " + p.rstrip().replace("\n", "\n    "))
        elif self.skip is not None:
            self.skipped += 1
            print("skip %s: %s" % (name_of(test), self.skip))
        else:
            self.passed += 1
            print("ok   %s (%.2fs)" % (name_of(test), time.monotonic() - self.t0))
        sys.stdout.flush()


def main():
    sys.path.insert(0, HERE)
    pattern = sys.argv[1] if len(sys.argv) > 1 else ""
    suite = unittest.TestLoader().discover(HERE, pattern="test_*.py", top_level_dir=HERE)
    chosen = unittest.TestSuite(t for t in tests_of(suite) if pattern in name_of(t))
    r = Result()
    chosen.run(r)
    print("%d passed, %d failed, %d skipped" % (r.passed, r.failed, r.skipped))
    return 1 if r.failed else 0


if __name__ == "__main__":
    sys.exit(main())
