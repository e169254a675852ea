"""core/runner/runner.py: the helpers main() is made of (main itself is driven through the real
binary by the C++ tests: it ends with os._exit)."""
import os
import subprocess
import sys
import unittest

import support

support.load()
from _pyrunner import runner  # noqa: E402

CONFIG = {"policy": True, "allowed_modules": ["math"], "denied_builtins": ["eval"],
          "workdir": "/nonexistent"}


class RunnerTest(unittest.TestCase):
    def setUp(self):
        self.saved = runner._config
        runner._config = CONFIG

    def tearDown(self):
        runner._config = self.saved

    def test_the_last_expression_is_kept_apart(self):
        body, last = runner._compile("x = 2\nx * 21", "main.py")
        namespace = {}
        exec(body, namespace)
        self.assertEqual(eval(last, namespace), 42)

    def test_a_semicolon_or_a_statement_hides_the_value(self):
        for source in ("x = 1\nx;", "x = 1\nx ;  # quiet", "x = 1", "if True:\n    1"):
            _, last = runner._compile(source, "main.py")
            self.assertIsNone(last, source)
        _, last = runner._compile("a = 'é'; a", "main.py")  # byte offsets, not characters
        self.assertIsNotNone(last)

    def test_the_policy_rejects_before_anything_runs(self):
        with self.assertRaises(runner._Rejected) as caught:
            runner._compile("import os", "main.py")
        self.assertEqual(str(caught.exception), "Import of 'os' is not allowed (line 1)")

    def test_tracebacks_start_at_the_users_code(self):
        user = {"__name__": "__main__"}
        exec(compile("def f():\n    1/0\n", "main.py", "exec"), user)
        # A frame of the runner's own calls the user's code and catches what it raises.
        ours = {"__name__": "_pyrunner.runner", "f": user["f"]}
        exec(compile("def call():\n    try:\n        f()\n    except Exception as e:\n"
                     "        return e\n", "<pyrunner>/runner.py", "exec"), ours)
        exc = ours["call"]()
        self.assertEqual(exc.__traceback__.tb_frame.f_code.co_filename, "<pyrunner>/runner.py")
        tb = runner._user_traceback(exc.__traceback__)
        self.assertEqual(tb.tb_frame.f_code.co_filename, "main.py")

    def test_exception_info_is_the_contract_shape(self):
        try:
            exec(compile("1/0", "main.py", "exec"), {"__name__": "__main__"})
        except ZeroDivisionError as exc:
            saved, sys.stderr = sys.stderr, open("/dev/null", "w")
            try:
                info = runner._exception_info(exc, "1/0", "main.py")
            finally:
                sys.stderr.close()
                sys.stderr = saved
        self.assertEqual(info["name"], "ZeroDivisionError")
        self.assertEqual(info["value"], "division by zero")
        self.assertEqual(info["traceback"][-1], "ZeroDivisionError: division by zero")
        self.assertIn('  File "main.py", line 1, in <module>', info["traceback"])

    def test_each_line_leaves_the_process_when_printed(self):
        # What a run printed before it is killed (a timeout), or while it is streamed, must be
        # out of the process already: a newline or a carriage return writes out both streams.
        code = ("import os, sys\nsys.path.insert(0, %r)\nimport support\nsupport.load()\n"
                "from _pyrunner import runner\nrunner._streams()\n"
                "print('out')\nprint('err', file=sys.stderr)\nsys.stderr.write('50%%\\r')\n"
                "os._exit(0)  # as a kill would: nothing is flushed\n") % os.path.dirname(__file__)
        p = subprocess.run([sys.executable, "-c", code], stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=60)
        self.assertEqual(p.stdout, b"out\n")
        self.assertEqual(p.stderr, b"err\n50%\r")


if __name__ == "__main__":
    unittest.main()
