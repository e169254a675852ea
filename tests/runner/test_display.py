"""core/runner/display.py: MIME bundles, the budget, and matplotlib's figures."""
import base64
import contextlib
import io
import json
import sys
import unittest

import support

support.load()
from _pyrunner import display  # noqa: E402


class Recorder(display.Display):
    def __init__(self, max_bytes=1 << 20):
        self.sent = []
        super().__init__(max_bytes, send=lambda text: self.sent.append(json.loads(text)))


class Rich:
    def __repr__(self):
        return "Rich()"

    def _repr_html_(self):
        return "<b>rich</b>"

    def _repr_png_(self):
        return b"\x89PNG\r\n"

    def _repr_latex_(self):
        return "$x$", {"isolated": True}


class Broken:
    def _repr_html_(self):
        raise ValueError("no html today")

    def _repr_markdown_(self):
        return None


class Bundled:
    def _repr_mimebundle_(self, include=None, exclude=None):
        return {"text/html": "<i>b</i>", "application/json": {"k": [1, 2]}}, {"text/html": {"m": 1}}


class DisplayTest(unittest.TestCase):
    def test_bundles_have_every_repr_and_text_plain(self):
        r = Recorder()
        r.display(Rich())
        item = r.sent[0]
        self.assertEqual(item["type"], "display")
        self.assertEqual(item["data"]["text/html"], "<b>rich</b>")
        self.assertEqual(base64.b64decode(item["data"]["image/png"]), b"\x89PNG\r\n")
        self.assertEqual(item["data"]["text/latex"], "$x$")
        self.assertEqual(item["data"]["text/plain"], "Rich()")
        self.assertEqual(item["metadata"], {"text/latex": {"isolated": True}})

    def test_mimebundle_and_json_data(self):
        r = Recorder()
        r.execute_result(Bundled())
        item = r.sent[0]
        self.assertEqual(item["type"], "execute_result")
        self.assertEqual(item["data"]["application/json"], {"k": [1, 2]})
        self.assertEqual(item["metadata"], {"text/html": {"m": 1}})
        self.assertIn("text/plain", item["data"])

    def test_a_repr_that_raises_is_skipped_with_a_warning(self):
        r = Recorder()
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            r.display(Broken())
        self.assertEqual(set(r.sent[0]["data"]), {"text/plain"})
        self.assertIn("Broken._repr_html_ raised ValueError: no html today", err.getvalue())

    def test_include_exclude_and_raw(self):
        r = Recorder()
        r.display(Rich(), include=["text/html"])
        self.assertEqual(set(r.sent[0]["data"]), {"text/html", "text/plain"})
        r.display(Rich(), exclude=["text/html"])
        self.assertNotIn("text/html", r.sent[1]["data"])
        r.display({"text/markdown": "# hi", "text/plain": "hi"}, raw=True)
        self.assertEqual(r.sent[2]["data"], {"text/markdown": "# hi", "text/plain": "hi"})

    def test_containers_pretty_print_and_classes_are_not_called(self):
        r = Recorder()
        r.execute_result({"k": list(range(40))})
        self.assertIn("\n", r.sent[0]["data"]["text/plain"])  # pprint breaks long lines
        r.execute_result(Rich)  # the class, not an instance: its methods are not bundles
        self.assertEqual(set(r.sent[1]["data"]), {"text/plain"})

    def test_past_the_budget_items_keep_a_short_text_plain(self):
        r = Recorder(max_bytes=300)
        r.display(Rich())
        big = type("Big", (), {"_repr_html_": lambda self: "x" * 10000,
                               "__repr__": lambda self: "y" * 10000})()
        r.display(big)
        self.assertTrue(r.truncated)
        self.assertEqual(set(r.sent[1]["data"]), {"text/plain"})
        self.assertLessEqual(len(r.sent[1]["data"]["text/plain"]), 300)

    def test_figures_are_png_with_their_size(self):
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        r = Recorder()
        display.configure_figures(("png", "svg"), 100)
        self.addCleanup(display.configure_figures, ("png",), 100)
        fig = plt.figure(dpi=50)  # the code's own choice wins
        plt.plot([1, 4, 9])
        r.display(fig)
        plt.close(fig)
        item = r.sent[0]
        png = base64.b64decode(item["data"]["image/png"])
        self.assertEqual(png[:8], b"\x89PNG\r\n\x1a\n")
        self.assertEqual(item["metadata"]["image/png"], {"width": 320, "height": 240})
        self.assertIn("<svg", item["data"]["image/svg+xml"])
        self.assertEqual(item["data"]["text/plain"], "<Figure size 320x240 with 1 Axes>")

    def test_show_and_open_figures_reach_the_current_display(self):
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        r = Recorder()
        display.install(r)
        try:
            plt.figure()
            plt.plot([1, 2])
            plt.show()
            self.assertEqual(len(r.sent), 1)
            self.assertEqual(plt.get_fignums(), [])  # shown figures are closed
            a, b = plt.figure(), plt.figure()
            b.show()  # Figure.show displays that figure, and leaves it open
            display.emit_open_figures()
            self.assertEqual(len(r.sent), 4)
            self.assertEqual(plt.get_fignums(), [])
            builtins_display = sys.modules["builtins"].display
            builtins_display("text")
            self.assertEqual(r.sent[-1]["data"]["text/plain"], "'text'")
        finally:
            display.install(None)
            plt.close("all")

    def test_install_patches_once_and_keeps_the_programs_settings(self):
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        display.install(Recorder())
        self.addCleanup(display.install, None)
        self.assertIs(plt.show, display._show)
        matplotlib.rcParams["figure.dpi"] = 150  # a session's program, in one run
        self.addCleanup(matplotlib.rcParams.__setitem__, "figure.dpi", 100)
        display.install(Recorder())  # the session's next run
        self.assertEqual(matplotlib.rcParams["figure.dpi"], 150)

    def test_the_configured_resolution_is_matplotlibs_default(self):
        import matplotlib
        display.configure_figures(("png",), 72)
        self.addCleanup(display.configure_figures, ("png",), 100)
        self.assertEqual(matplotlib.rcParams["figure.dpi"], 72)

    def test_png_size_reads_the_header(self):
        header = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x02\x80\x00\x00\x01\xe0"
        self.assertEqual(display._png_size(header), (640, 480))
        self.assertIsNone(display._png_size(b"GIF89a"))


if __name__ == "__main__":
    unittest.main()
