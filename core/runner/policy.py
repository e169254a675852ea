"""The static policy: an AST-level check of imports and builtins, a courtesy that gives a clear
early error. The boundary is the kernel sandbox, which holds with the check switched off."""
import _ast

def _walk(tree):
    # ast.walk without importing ast (and enum, re...): the check must cost microseconds.
    todo = [tree]
    for node in todo:
        yield node
        for field in node._fields:
            value = getattr(node, field, None)
            if isinstance(value, _ast.AST):
                todo.append(value)
            elif isinstance(value, list):
                todo.extend(v for v in value if isinstance(v, _ast.AST))

def check_policy(tree, allowed_modules, denied_builtins, own_modules=None, relative=False):
    """Returns the violation with the lowest line number as a one-line message, or None.

    `own_modules(name)`, if given, is asked about a top-level module the list does not allow:
    None when the run has no such module of its own, "" when it has one that passes this same
    check, or that module's violation. `relative`: the tree is a module of the run's own
    package, whose relative imports stay inside it."""
    allowed = set(allowed_modules)
    denied = set(denied_builtins)
    found = []

    def refused(name, line):
        top = name.split(".")[0]
        if top in allowed:
            return None
        inner = own_modules(top) if own_modules is not None else None
        if inner == "":
            return None
        text = f"Import of '{name}' is not allowed (line {line})"
        return text + ": " + inner if inner else text

    for node in _walk(tree):
        line = getattr(node, "lineno", 0)
        if isinstance(node, _ast.Import):
            for alias in node.names:
                why = refused(alias.name, line)
                if why:
                    found.append((line, why))
        elif isinstance(node, _ast.ImportFrom):
            if node.level:
                if not relative:
                    found.append((line, f"Relative import is not allowed (line {line})"))
            else:
                why = refused(node.module or "", line)
                if why:
                    found.append((line, why))
        elif isinstance(node, _ast.Name) and node.id in denied:
            found.append((line, f"Use of '{node.id}' is not allowed (line {line})"))
        elif isinstance(node, _ast.Attribute) and node.attr in denied:
            found.append((line, f"Use of '{node.attr}' is not allowed (line {line})"))
    return min(found)[1] if found else None


# The run's own modules: a program given as several files imports its other files. They are
# code of the run, so the same check applies to each, once; what the code writes while it runs
# is not there yet, and stays refused.
_OWN_MODULE_FILES = 256       # .py files of one package looked at, at most
_OWN_MODULE_BYTES = 1 << 20   # bytes of one file


def own_modules(directory, allowed_modules, denied_builtins):
    """The `own_modules` of check_policy for the modules in `directory` (the working directory):
    `name.py`, or a package `name/` with an `__init__.py`, regular files only (no links)."""
    import os
    import stat
    verdicts = {}

    def source_of(path):
        st = os.lstat(path)
        if not stat.S_ISREG(st.st_mode):
            return None
        if st.st_size > _OWN_MODULE_BYTES:
            return ValueError("larger than 1 MiB")
        with open(path, "rb") as f:
            return f.read()

    def check_file(path, shown, relative):
        try:
            data = source_of(path)
        except OSError:
            return None
        if isinstance(data, ValueError):
            return f"{shown}: {data}"
        if data is None:
            return None
        try:
            tree = compile(data, shown, "exec", 0x400, dont_inherit=True)
        except (SyntaxError, ValueError) as exc:
            return f"{shown}: {type(exc).__name__}: {exc.args[0] if exc.args else exc}"
        why = check_policy(tree, allowed_modules, denied_builtins, verdict, relative)
        return f"{shown}: {why}" if why else ""

    def check_package(top):
        seen = 0
        for root, dirs, names in os.walk(os.path.join(directory, top)):
            dirs.sort()
            for name in sorted(names):
                if not name.endswith(".py"):
                    continue
                seen += 1
                if seen > _OWN_MODULE_FILES:
                    return f"{top}/: more than {_OWN_MODULE_FILES} .py files"
                path = os.path.join(root, name)
                shown = os.path.relpath(path, directory)
                why = check_file(path, shown, True)
                if why is None:  # a link or a special file: it could not be checked
                    return f"{shown}: not a regular file"
                if why:
                    return why
        return ""

    def verdict(top):
        if top in verdicts:
            # Being checked further up (an import cycle) or checked already.
            return verdicts[top] if verdicts[top] is not None else ""
        verdicts[top] = None
        result = None
        if top.isidentifier():
            package = os.path.join(directory, top)
            try:
                is_package = stat.S_ISDIR(os.lstat(package).st_mode) and \
                    stat.S_ISREG(os.lstat(os.path.join(package, "__init__.py")).st_mode)
            except OSError:
                is_package = False
            if is_package:
                result = check_package(top)
            else:
                result = check_file(os.path.join(directory, top + ".py"), top + ".py", False)
        verdicts[top] = result if result is not None else ""
        if result is None:
            del verdicts[top]
        return result

    return verdict
