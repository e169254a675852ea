"""core/runner/policy.py: the static import/builtin check (a courtesy, not the boundary)."""
import unittest

import support

support.load()
from _pyrunner import policy  # noqa: E402

ALLOWED = ["math", "numpy"]
DENIED = ["eval", "exec", "__import__"]


def check(source):
    return policy.check_policy(compile(source, "main.py", "exec", 0x400), ALLOWED, DENIED)


class PolicyTest(unittest.TestCase):
    def test_allowed_code_passes(self):
        self.assertIsNone(check("import math\nimport numpy.linalg\nfrom numpy import array\n"))

    def test_each_kind_of_violation_has_its_text(self):
        self.assertEqual(check("import os"), "Import of 'os' is not allowed (line 1)")
        self.assertEqual(check("x = 1\nfrom subprocess import run"),
                         "Import of 'subprocess' is not allowed (line 2)")
        self.assertEqual(check("from . import x"), "Relative import is not allowed (line 1)")
        self.assertEqual(check("eval('1')"), "Use of 'eval' is not allowed (line 1)")
        self.assertEqual(check("import builtins\nbuiltins.exec('1')"),
                         "Import of 'builtins' is not allowed (line 1)")
        self.assertEqual(check("y = math.__import__"), "Use of '__import__' is not allowed (line 1)")

    def test_the_first_violation_by_line_is_reported(self):
        self.assertEqual(check("import math\n\nexec('x')\nimport os"),
                         "Use of 'exec' is not allowed (line 3)")

    def test_nested_code_is_checked(self):
        self.assertEqual(check("def f():\n    class C:\n        def g(self):\n            import socket"),
                         "Import of 'socket' is not allowed (line 4)")


if __name__ == "__main__":
    unittest.main()
