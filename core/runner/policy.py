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

def check_policy(tree, allowed_modules, denied_builtins):
    """Returns the violation with the lowest line number as a one-line message, or None."""
    allowed = set(allowed_modules)
    denied = set(denied_builtins)
    found = []
    for node in _walk(tree):
        line = getattr(node, "lineno", 0)
        if isinstance(node, _ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] not in allowed:
                    found.append((line, f"Import of '{alias.name}' is not allowed (line {line})"))
        elif isinstance(node, _ast.ImportFrom):
            if node.level:
                found.append((line, f"Relative import is not allowed (line {line})"))
            elif (node.module or "").split(".")[0] not in allowed:
                found.append((line, f"Import of '{node.module}' is not allowed (line {line})"))
        elif isinstance(node, _ast.Name) and node.id in denied:
            found.append((line, f"Use of '{node.id}' is not allowed (line {line})"))
        elif isinstance(node, _ast.Attribute) and node.attr in denied:
            found.append((line, f"Use of '{node.attr}' is not allowed (line {line})"))
    return min(found)[1] if found else None
