"""A fingerprint of the library code a command runs, so that a code change reruns its jobs.

Snakemake reruns a job when its rule's code or params change, not when the library the rule
calls changes. Each rule therefore passes, as a param, the fingerprint of its command module and
of every ``sparse_pkg`` module that module imports, transitively (imports inside functions too).
The fingerprint hashes each module's syntax tree with docstrings removed: comments, docstrings
and formatting do not change it, any change to what the code does does. Modules are found by
reading the files, never imported, so computing it costs milliseconds at DAG build.
"""

from __future__ import annotations

import ast
import hashlib
from functools import cache
from pathlib import Path

PACKAGE = "sparse_pkg"
ROOT = Path(__file__).resolve().parent


def module_file(name: str, root: Path = ROOT) -> Path | None:
    """The source file of package module ``name`` (``sparse_pkg.a.b``), or None if none."""
    parts = name.split(".")
    if parts[0] != PACKAGE:
        return None
    base = root.joinpath(*parts[1:])
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _parents(name: str) -> list[str]:
    """The packages whose ``__init__`` runs when ``name`` is imported: a.b.c -> a, a.b."""
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def _absolute(node: ast.ImportFrom, current: str, is_package: bool) -> str:
    """The absolute module a (possibly relative) ``from X import ...`` names."""
    if not node.level:
        return node.module or ""
    package = current.split(".") if is_package else current.split(".")[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imported_modules(tree: ast.AST, current: str, is_package: bool,
                     root: Path = ROOT) -> set[str]:
    """The package modules that ``tree`` (module ``current``) imports anywhere in its code."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = _absolute(node, current, is_package)
            # `from pkg import sub` imports the submodule sub when there is one
            names = [module] + [f"{module}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            if module_file(name, root) is not None:
                found.add(name)
                found.update(_parents(name))
    return found


def _without_docstrings(tree: ast.AST) -> ast.AST:
    """``tree`` with the docstring of the module and of every class and function removed."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if (body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                    and isinstance(body[0].value.value, str)):
                node.body = body[1:] or [ast.Pass()]
    return tree


def _normalized(tree: ast.AST) -> str:
    """What a fingerprint hashes of one file: its syntax tree without docstrings (``tree`` is
    changed in place)."""
    return ast.dump(_without_docstrings(tree), include_attributes=False)


def _parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


@cache
def _module_info(name: str, root: Path) -> tuple[frozenset[str], str]:
    """(package modules it imports, normalized source) of module ``name``, read once."""
    path = module_file(name, root)
    if path is None:
        raise ValueError(f"{name}: no such module in {root}")
    tree = _parse(path)
    imports = frozenset(imported_modules(tree, name, path.name == "__init__.py", root))
    return imports, _normalized(tree)


def module_closure(name: str, root: Path = ROOT) -> list[str]:
    """``name``, its parent packages and every package module they import, transitively."""
    todo = [name, *_parents(name)]
    seen: set[str] = set()
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        todo.extend(_module_info(current, root)[0] - seen)
    return sorted(seen)


@cache
def code_fingerprint(name: str, root: Path = ROOT) -> str:
    """16 hex digits of SHA-256 over the normalized code of ``module_closure(name)``."""
    digest = hashlib.sha256()
    for module in module_closure(name, root):
        digest.update(module.encode() + b"\0")
        digest.update(_module_info(module, root)[1].encode() + b"\0")
    return digest.hexdigest()[:16]


def command_fingerprint(command: str) -> str:
    """The fingerprint of the workflow command ``sparse_pkg.commands.<command>``."""
    return code_fingerprint(f"{PACKAGE}.commands.{command}")


def file_fingerprint(path: str | Path) -> str:
    """16 hex digits of SHA-256 over one Python file's syntax tree without docstrings (a user's
    own model or data-set module: editing its code reruns the jobs that use it)."""
    return hashlib.sha256(_normalized(_parse(Path(path))).encode()).hexdigest()[:16]
