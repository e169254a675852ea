"""core/runner/files.py: the working directory's files in and out, links never followed."""
import base64
import os
import sys
import tempfile
import unittest

import support

support.load()
from _pyrunner import files  # noqa: E402

LIMITS = dict(max_files=100, max_file_inline=1 << 20, max_inline_total=8 << 20)


class FilesTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.root = self.dir.name
        self.outside = tempfile.TemporaryDirectory()

    def tearDown(self):
        self.dir.cleanup()
        self.outside.cleanup()

    def path(self, *parts):
        return os.path.join(self.root, *parts)

    def write(self, name, data=b"x"):
        os.makedirs(os.path.dirname(self.path(name)), exist_ok=True)
        with open(self.path(name), "wb") as f:
            f.write(data)

    def collect(self, before, **limits):
        return files.collect(before, **dict(LIMITS, **limits), root=self.root)

    def test_inputs_are_written_with_their_directories(self):
        files.write_inputs([{"path": "data/in.csv", "size": 4}, {"path": "b.bin", "size": 2}],
                           b"x\n1\n\x00\xff", root=self.root)
        with open(self.path("data", "in.csv"), "rb") as f:
            self.assertEqual(f.read(), b"x\n1\n")
        with open(self.path("b.bin"), "rb") as f:
            self.assertEqual(f.read(), b"\x00\xff")

    def test_a_given_module_imports_though_its_directory_was_looked_in_before(self):
        missing = self.path("later")  # not there yet: the import system caches that
        sys.path.insert(0, missing)
        try:
            with self.assertRaises(ImportError):
                import given_module  # noqa: F401
            os.mkdir(missing)
            files.write_inputs([{"path": "given_module.py", "size": 6}], b"X = 7\n", root=missing)
            import given_module
            self.assertEqual(given_module.X, 7)
        finally:
            sys.path.remove(missing)
            sys.modules.pop("given_module", None)

    def test_inputs_never_go_through_a_link(self):
        os.symlink(self.outside.name, self.path("link"))
        with self.assertRaises(OSError):
            files.write_inputs([{"path": "link/x", "size": 1}], b"x", root=self.root, replace=True)
        os.symlink(os.path.join(self.outside.name, "target"), self.path("file_link"))
        with self.assertRaises(OSError):
            files.write_inputs([{"path": "file_link", "size": 1}], b"x", root=self.root,
                               replace=True)
        self.assertEqual(os.listdir(self.outside.name), [])

    def test_an_existing_input_is_an_error_unless_replaced(self):
        self.write("a.txt", b"old")
        with self.assertRaises(FileExistsError):
            files.write_inputs([{"path": "a.txt", "size": 3}], b"new", root=self.root)
        files.write_inputs([{"path": "a.txt", "size": 3}], b"new", root=self.root, replace=True)
        with open(self.path("a.txt"), "rb") as f:
            self.assertEqual(f.read(), b"new")

    def test_only_created_or_changed_files_are_listed_sorted(self):
        self.write("input.csv", b"kept")
        self.write("changed.txt", b"v1")
        before = files.snapshot(self.root)
        self.write("z/out.txt", b"done")
        self.write("a.png", b"\x89PNG")
        self.write("changed.txt", b"version 2")
        got, truncated = self.collect(before)
        self.assertFalse(truncated)
        self.assertEqual([f["path"] for f in got], ["a.png", "changed.txt", "z/out.txt"])
        out = got[2]
        self.assertEqual(out["size"], 4)
        self.assertEqual(out["mime"], "text/plain")
        self.assertEqual(base64.b64decode(out["content"]), b"done")
        self.assertEqual(got[0]["mime"], "image/png")

    def test_links_fifos_and_devices_are_never_read(self):
        before = files.snapshot(self.root)
        secret = os.path.join(self.outside.name, "secret")
        with open(secret, "w") as f:
            f.write("host secret")
        os.symlink(secret, self.path("to_secret"))
        os.symlink("/etc/passwd", self.path("passwd"))
        os.symlink(self.outside.name, self.path("dir_link"))
        os.mkfifo(self.path("fifo"))
        got, _ = self.collect(before)
        self.assertEqual(got, [])

    def test_caps_omit_content_and_truncate_the_list(self):
        before = files.snapshot(self.root)
        self.write("big.bin", b"b" * 2000)
        for i in range(5):
            self.write(f"f{i}.txt", b"small")
        got, truncated = self.collect(before, max_files=3, max_file_inline=1000)
        self.assertTrue(truncated)
        self.assertEqual([f["path"] for f in got], ["big.bin", "f0.txt", "f1.txt"])
        self.assertIsNone(got[0]["content"])
        self.assertEqual(got[0]["omitted"], "too large")
        self.assertEqual(got[0]["size"], 2000)
        # The run's inline total: past it, later files come without content.
        got, _ = self.collect(before, max_inline_total=12)
        inline = [f["path"] for f in got if f["content"] is not None]
        self.assertEqual(inline, ["f0.txt", "f1.txt"])

    def test_a_name_that_is_not_utf8_is_reported_with_replacement(self):
        before = files.snapshot(self.root)
        with open(os.path.join(os.fsencode(self.root), b"caf\xe9.txt"), "wb") as f:
            f.write(b"x")
        got, _ = self.collect(before)
        self.assertEqual(got[0]["path"], "caf\ufffd.txt")
        self.assertEqual(base64.b64decode(got[0]["content"]), b"x")


if __name__ == "__main__":
    unittest.main()
