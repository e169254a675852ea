"""core/runner/policy.py: the static import/builtin check (a courtesy, not the boundary)."""
import os
import tempfile
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


class OwnModulesTest(unittest.TestCase):
    """A program given as several files imports its own modules, each checked the same way."""

    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.addCleanup(self.dir.cleanup)

    def write(self, path, text):
        full = os.path.join(self.dir.name, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w") as f:
            f.write(text)

    def check(self, source):
        own = policy.own_modules(self.dir.name, ALLOWED, DENIED)
        return policy.check_policy(compile(source, "main.py", "exec", 0x400), ALLOWED, DENIED,
                                   own)

    def test_a_clean_own_module_is_allowed(self):
        self.write("helper.py", "import math\ndef f():\n    return math.pi\n")
        self.assertIsNone(self.check("import helper\nfrom helper import f"))

    def test_an_own_module_is_checked_like_the_program(self):
        self.write("helper.py", "x = 1\nimport os\n")
        self.assertEqual(self.check("import helper"),
                         "Import of 'helper' is not allowed (line 1): "
                         "helper.py: Import of 'os' is not allowed (line 2)")

    def test_what_the_own_module_imports_is_checked_too(self):
        self.write("a.py", "import b\n")
        self.write("b.py", "eval('1')\n")
        self.assertEqual(self.check("import a"),
                         "Import of 'a' is not allowed (line 1): a.py: Import of 'b' is not "
                         "allowed (line 1): b.py: Use of 'eval' is not allowed (line 1)")

    def test_import_cycles_end(self):
        self.write("a.py", "import b\n")
        self.write("b.py", "import a\nimport math\n")
        self.assertIsNone(self.check("import a"))

    def test_a_package_is_checked_file_by_file_and_may_import_relatively(self):
        self.write("pkg/__init__.py", "from . import sub\n")
        self.write("pkg/sub.py", "import numpy\n")
        self.assertIsNone(self.check("import pkg.sub"))
        self.write("pkg/deep/bad.py", "import socket\n")
        self.assertEqual(self.check("from pkg import sub"),
                         "Import of 'pkg' is not allowed (line 1): "
                         "pkg/deep/bad.py: Import of 'socket' is not allowed (line 1)")

    def test_links_and_missing_modules_stay_refused(self):
        os.symlink("/usr/lib/python3.11/os.py", os.path.join(self.dir.name, "linked.py"))
        self.assertEqual(self.check("import linked"), "Import of 'linked' is not allowed (line 1)")
        self.assertEqual(self.check("import nothere"), "Import of 'nothere' is not allowed (line 1)")
        self.write("pkg/__init__.py", "")
        os.symlink("/usr/lib/python3.11/os.py", os.path.join(self.dir.name, "pkg", "l.py"))
        self.assertEqual(self.check("import pkg"), "Import of 'pkg' is not allowed (line 1): "
                         "pkg/l.py: not a regular file")

    def test_an_own_module_that_does_not_parse_is_named(self):
        self.write("broken.py", "def (:\n")
        self.assertTrue(self.check("import broken").startswith(
            "Import of 'broken' is not allowed (line 1): broken.py: SyntaxError"))


if __name__ == "__main__":
    unittest.main()
