"""Rich display: what the code shows, as Jupyter MIME bundles sent to the parent in order.

Three ways in, as in IPython: display(obj) (a builtin, and IPython.display.display once IPython
is imported), the value of the last top-level expression (an execute_result), and matplotlib
figures (plt.show(), fig.show(), and every figure still open when the code ends).

Bundles come from the object's _repr_mimebundle_ or _repr_*_ methods, always with text/plain.
A method that raises is skipped with a one-line warning on stderr, never a failed run.
Everything sent counts against one budget (max_results_bytes): past it, items keep only a
(shortened) text/plain and the run is marked truncated. Displaying never writes to stdout.
"""
import base64
import builtins
import sys

from _pyrunner import protocol

# (MIME type, method) in IPython's DisplayFormatter order; text/plain comes from repr().
FORMATS = (
    ("text/html", "_repr_html_"),
    ("text/markdown", "_repr_markdown_"),
    ("image/svg+xml", "_repr_svg_"),
    ("image/png", "_repr_png_"),
    ("image/jpeg", "_repr_jpeg_"),
    ("text/latex", "_repr_latex_"),
    ("application/json", "_repr_json_"),
    ("application/javascript", "_repr_javascript_"),
    ("application/pdf", "_repr_pdf_"),
)
BINARY = frozenset({"image/png", "image/jpeg", "application/pdf"})
# What a figure can be rendered as (python.figure_formats), with savefig's format name.
FIGURE_FORMATS = {"png": "image/png", "svg": "image/svg+xml", "jpeg": "image/jpeg",
                  "pdf": "application/pdf"}
# text/plain of an item past the budget, or of a repr that is itself huge.
PLAIN_LIMIT = 4096


class Display:
    """The run's display state: the budget, the figure settings, and where items go."""

    def __init__(self, max_bytes, send=None):
        self.remaining = max_bytes
        self.truncated = False
        self.count = 0
        self._send = send or (lambda text: protocol.send("M", text))

    # -- public entry points ------------------------------------------------------------------

    def display(self, *objs, include=None, exclude=None, metadata=None, raw=False, **_ignored):
        """The display() builtin, with IPython's signature (transient, display_id... ignored)."""
        for obj in objs:
            if raw:
                data, meta = (dict(obj), dict(metadata or {})) if isinstance(obj, dict) else \
                    ({"text/plain": _plain(obj)}, {})
            else:
                data, meta = self.bundle(obj, include, exclude)
                if metadata:
                    meta.update(metadata)
            self.publish("display", data, meta)

    def execute_result(self, value):
        data, meta = self.bundle(value)
        self.publish("execute_result", data, meta)

    def figure(self, fig):
        self.publish("display", *self.figure_bundle(fig))

    # -- bundles --------------------------------------------------------------------------------

    def bundle(self, obj, include=None, exclude=None):
        if _is_figure(obj):
            return self.figure_bundle(obj)
        data, meta = {}, {}
        method = _method(obj, "_repr_mimebundle_")
        if method is not None:
            try:
                got = method(include=include, exclude=exclude)
            except Exception as exc:
                _warn(obj, "_repr_mimebundle_", exc)
                got = None
            if isinstance(got, tuple) and len(got) == 2:
                got, extra = got
                if isinstance(extra, dict):
                    meta.update(extra)
            if isinstance(got, dict):
                data.update(got)
        for mime, name in FORMATS:
            if mime in data or not _wanted(mime, include, exclude):
                continue
            method = _method(obj, name)
            if method is None:
                continue
            try:
                value = method()
            except Exception as exc:
                _warn(obj, name, exc)
                continue
            if isinstance(value, tuple) and len(value) == 2:
                value, extra = value
                if isinstance(extra, dict):
                    meta[mime] = extra
            if value is not None:
                data[mime] = value
        if "text/plain" not in data:
            data["text/plain"] = _plain(obj)
        return data, meta

    def figure_bundle(self, fig):
        import io
        data, meta = {"text/plain": _plain(fig)}, {}
        if not fig.axes and not getattr(fig, "lines", None):
            return data, meta  # nothing drawn: no image (IPython's rule)
        for fmt in _figures["formats"]:
            mime = FIGURE_FORMATS[fmt]
            buf = io.BytesIO()
            try:
                # At the figure's own resolution (python.figure_dpi unless the code chose one):
                # the image is exactly as large as its text/plain says.
                fig.savefig(buf, format=fmt, dpi="figure")
            except Exception as exc:
                _warn(fig, "savefig", exc)
                continue
            value = buf.getvalue()
            data[mime] = value if mime in BINARY else value.decode("utf-8", "replace")
            size = _png_size(value) if mime == "image/png" else None
            if size:
                meta[mime] = {"width": size[0], "height": size[1]}
        return data, meta

    # -- sending --------------------------------------------------------------------------------

    def publish(self, kind, data, meta):
        """Encodes one item within the budget and sends it; past the budget, text/plain only."""
        encoded = {}
        for mime, value in data.items():
            if not isinstance(mime, str):
                continue
            if isinstance(value, (bytes, bytearray, memoryview)):
                value = base64.b64encode(value).decode("ascii")
            elif mime in BINARY and isinstance(value, str):
                value = value.replace("\n", "")  # already base64: one line, as Jupyter's
            elif not isinstance(value, str) and not mime.endswith("json"):
                value = str(value)
            encoded[mime] = value
        text = self._encode(kind, encoded, meta)
        if text is None or len(text) > self.remaining:
            self.truncated = True
            plain = _shorten(encoded.get("text/plain", ""), min(PLAIN_LIMIT, max(self.remaining, 0)))
            text = self._encode(kind, {"text/plain": plain}, {})
        self.remaining -= len(text)
        self.count += 1
        self._send(text)

    @staticmethod
    def _encode(kind, data, meta):
        try:
            return protocol.encode({"type": kind, "data": data, "metadata": meta})
        except (TypeError, ValueError):  # metadata or JSON data that is not JSON
            try:
                return protocol.encode({"type": kind, "data": {k: v if isinstance(v, str) else str(v)
                                                               for k, v in data.items()},
                                        "metadata": {}})
            except (TypeError, ValueError):
                return None


def _method(obj, name):
    # Looked up on the type, as IPython does: a class's own _repr_html_ is not the instance's,
    # and objects whose __getattr__ answers every name (mocks, proxies) are not called.
    if isinstance(obj, type):
        return None
    method = getattr(type(obj), name, None)
    if method is None or not callable(method):
        return None
    try:
        return getattr(obj, name)
    except Exception:
        return None


def _wanted(mime, include, exclude):
    return (include is None or mime in include) and (exclude is None or mime not in exclude)


def _plain(obj):
    try:
        if type(obj) in (dict, list, tuple, set, frozenset):
            import pprint
            text = pprint.pformat(obj, width=79, sort_dicts=False)
        else:
            text = repr(obj)
    except Exception as exc:
        _warn(obj, "__repr__", exc)
        text = "<%s object>" % type(obj).__name__
    return text


def _shorten(text, limit):
    if len(text) <= limit:
        return text
    return text[:max(limit - 1, 0)] + "\u2026"


def _warn(obj, what, exc):
    try:
        name = type(obj).__name__
        sys.stderr.write("display: %s.%s raised %s: %s\n" % (name, what, type(exc).__name__, exc))
    except Exception:
        pass


def _is_figure(obj):
    figure = sys.modules.get("matplotlib.figure")
    return figure is not None and isinstance(obj, figure.Figure)


def _png_size(data):
    # The IHDR chunk: width and height as big-endian 32-bit integers at bytes 16-24.
    if len(data) >= 24 and data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR":
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    return None


# -- matplotlib and IPython ---------------------------------------------------------------------

_current = None  # the Display of the run in progress (one per process, or per session run)
_figures = {"formats": ("png",), "dpi": 100}  # python.figure_formats and python.figure_dpi


def configure_figures(formats, dpi):
    """What figures are rendered as; matplotlib's default resolution becomes `dpi` (now if it is
    imported, else when it is)."""
    _figures["formats"] = tuple(f for f in formats if f in FIGURE_FORMATS) or ("png",)
    _figures["dpi"] = dpi
    module = sys.modules.get("matplotlib")
    if module is not None:
        _configure_matplotlib(module)


def current():
    return _current


def install(state):
    """Makes `state` receive display(), figures and IPython's display from now on. The modules
    are patched once per process (a zygote's children inherit it): again in every run, the
    patching would cost each run its copy-on-write faults, and in a session it would undo the
    program's own rcParams."""
    global _current
    _current = state
    builtins.display = _display
    if _PostImport.install():
        for name in list(_PostImport.hooks):
            module = sys.modules.get(name)
            if module is not None:
                _PostImport.hooks[name](module)


def _display(*objs, **kwargs):
    if _current is not None:
        _current.display(*objs, **kwargs)


_display.__name__ = _display.__qualname__ = "display"
_display.__doc__ = "Display objects as rich output (HTML, images, LaTeX...), as Jupyter's display()."


def emit_open_figures(close=True, skip=None):
    """Every pyplot figure still open, in creation order (then closed), as Jupyter inline does;
    but `skip`, a figure that is about to be displayed as the execute_result."""
    pyplot = sys.modules.get("matplotlib.pyplot")
    helpers = sys.modules.get("matplotlib._pylab_helpers")  # imported by pyplot
    if pyplot is None or helpers is None or _current is None:
        return
    try:
        if not helpers.Gcf.figs:
            return  # the common case, and the cheapest
        managers = sorted(helpers.Gcf.get_all_fig_managers(), key=lambda m: m.num)
    except Exception:
        return
    for manager in managers:
        if manager.canvas.figure is not skip:
            _current.figure(manager.canvas.figure)
    if close and managers:
        pyplot.close("all")


def _show(*args, **kwargs):
    """plt.show(): the open figures are displayed and closed (matplotlib-inline's behaviour)."""
    emit_open_figures(close=True)


def _figure_show(self, *args, **kwargs):
    if _current is not None:
        _current.figure(self)


def _configure_matplotlib(matplotlib):
    matplotlib.rcParams["figure.dpi"] = _figures["dpi"]


def _patch_pyplot(pyplot):
    if getattr(pyplot.show, "__module__", None) != __name__:
        pyplot.show = _show
    figure = sys.modules.get("matplotlib.figure")
    if figure is not None and figure.Figure.show is not _figure_show:
        figure.Figure.show = _figure_show


def _patch_ipython(module):
    # IPython.display re-exports display_functions.display; both names reach ours.
    for name in ("IPython.core.display_functions", "IPython.core.display", "IPython.display"):
        mod = sys.modules.get(name)
        if mod is not None and hasattr(mod, "display"):
            mod.display = _display


class _PostImport:
    """A meta-path finder that patches a module right after it is first imported: programs
    import matplotlib and IPython themselves, in cold runs after the runner has started."""
    hooks = {"matplotlib": _configure_matplotlib, "matplotlib.pyplot": _patch_pyplot,
             "IPython.display": _patch_ipython}
    _installed = False

    @classmethod
    def install(cls):
        """True the first time: the modules already imported are to be patched now."""
        if cls._installed:
            return False
        sys.meta_path.insert(0, cls())
        cls._installed = True
        return True

    def find_spec(self, name, path=None, target=None):
        hook = self.hooks.get(name)
        if hook is None:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None and spec.loader is not None:
                spec.loader = _PatchingLoader(spec.loader, hook)
                return spec
        return None


class _PatchingLoader:
    def __init__(self, loader, hook):
        self._loader, self._hook = loader, hook

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        try:
            self._hook(module)
        except Exception:
            pass

    def __getattr__(self, name):
        return getattr(self._loader, name)
