"""Exercises the preloaded libraries once in the zygote, so that their lazy imports and first-use
caches are filled before any fork instead of in every run. Best effort: nothing here may fail
the zygote, and nothing may leave a thread, an open file or an open figure behind."""
import sys


def _numpy(np):
    a = np.arange(100.0).reshape(10, 10)
    str(a @ a), a.mean(), a.std(), a.cumsum(), np.linalg.inv(a + np.eye(10)), np.random.rand(3)


def _pandas(pd):
    df = pd.DataFrame({"a": range(30), "b": [i % 3 for i in range(30)], "c": [0.5] * 30})
    str(df.groupby("b").agg({"a": "sum", "c": "mean"})), str(df.describe()), str(df.head())
    df.sort_values("a").merge(df, on="a").pivot_table(index="b_x", values="c_x")
    # What a DataFrame as the last expression costs: its repr and its HTML table.
    repr(df), df._repr_html_(), repr(df.a), df.a.sum()


def _sympy(sp):
    x = sp.symbols("x")
    str(sp.expand((x + 1) ** 3)), str(sp.factor(x ** 2 - 1)), str(sp.pi.evalf(30))
    sp.solve(x ** 2 - 1, x), sp.integrate(x ** 2, x), sp.simplify(sp.sin(x) ** 2 + sp.cos(x) ** 2)
    sp.latex(x ** 2 / 2), (x ** 2)._repr_latex_()


def _pyplot(plt):
    import io
    fig = plt.figure()
    plt.plot([1, 2, 3])
    plt.title("t")
    fig.savefig(io.BytesIO(), format="png")
    plt.close("all")
    # A font FreeType opened keeps its file open, and each child closes every fd it inherits:
    # a cached font would then read from a closed (or reused) fd. Children reopen the fonts.
    font_manager = sys.modules.get("matplotlib.font_manager")
    if font_manager is not None and hasattr(font_manager, "_get_font"):
        font_manager._get_font.cache_clear()


_STEPS = (("numpy", _numpy), ("pandas", _pandas), ("sympy", _sympy),
          ("matplotlib.pyplot", _pyplot))


def run():
    for name, step in _STEPS:
        module = sys.modules.get(name)
        if module is None:
            continue
        try:
            step(module)
        except Exception:
            pass
