"""The layout as a guard: imports run one way (down), no cycles, no demo seed or test driver in production.

The import graph is read from the source with ``ast`` (imports inside functions included), so a lazy
import cannot hide a cycle. See README, "Layout", for what each package may import.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

SHARED = frozenset(
    {
        "bot",
        "bot.__main__",
        "bot.errors",
        "bot.config",
        "bot.events",
        "bot.periods",
        "bot.progress",
        "bot.retry",
    }
)
"""The only modules at the top of ``bot/``: what every package may use."""
DEMO_ONLY = ("bot.seed", "bot.testing")
"""Demo data and test drivers: production code never imports them."""
MAY_IMPORT_DEMO = ("bot.seed", "bot.testing", "bot.cli.seed")
"""Who may: the demo seed itself, the test drivers, and the one command that runs the seed."""
SPEECH_MAY_IMPORT = ("bot.speech", "bot.errors", "bot.config", "bot.progress")
"""Speech engines know bytes and phrases only."""
SERVICES = ("bot.household", "bot.offers", "bot.topics", "bot.finance", "bot.energy", "bot.telemetry")
"""Services: no HTTP, no Rasa, nothing of the layers that call them."""
ABOVE_SERVICES = (
    "bot.gateway",
    "bot.conversation",
    "bot.rasa",
    "bot.stack",
    "bot.cli",
    "bot.bundle",
    "bot.wyoming",
    "bot.studio",
    "bot.partners",
    "actions",
)
NO_SERVICE_DEPENDENCY = ("aiohttp", "rasa_sdk", "rasa")


@dataclass(frozen=True)
class Edge:
    """``source`` imports ``target`` at ``line``."""

    source: str
    target: str
    line: int


def module_name(path: Path, root: Path) -> str:
    """``bot/speech/vad.py`` → ``bot.speech.vad``; a package's ``__init__.py`` → the package."""
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules(root: Path) -> dict[str, Path]:
    """Every module of the product (``bot`` and ``actions``) by dotted name."""
    found = {}
    for top in ("bot", "actions"):
        for path in sorted((root / top).rglob("*.py")):
            found[module_name(path, root)] = path
    return found


def imported(name: str, path: Path) -> Iterable[tuple[str, int]]:
    """(dotted name, line) of everything the module imports, relative imports resolved."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            yield base, node.lineno
            for alias in node.names:
                yield f"{base}.{alias.name}", node.lineno


def import_graph(root: Path) -> tuple[dict[str, Path], list[Edge]]:
    """The product's modules and the edges between them (third-party imports kept as targets)."""
    mods = modules(root)
    edges = []
    for name, path in mods.items():
        seen = set()
        for target, line in imported(name, path):
            if target in mods and target != name and target not in seen:
                seen.add(target)
                edges.append(Edge(name, target, line))
            elif target not in mods and target.split(".")[0] in NO_SERVICE_DEPENDENCY:
                edges.append(Edge(name, target, line))
    # ``from bot.x import y`` names the package bot.x as well as the module bot.x.y: keep the module.
    modules_named = {(e.source, e.target) for e in edges}
    kept = [
        e
        for e in edges
        if not (e.target in mods and _is_package(mods[e.target]) and _names_a_submodule(e, modules_named))
    ]
    return mods, kept


def _is_package(path: Path) -> bool:
    return path.name == "__init__.py"


def _names_a_submodule(edge: Edge, pairs: set[tuple[str, str]]) -> bool:
    return any(s == edge.source and t.startswith(edge.target + ".") for s, t in pairs)


def package_of(module: str) -> str:
    """The unit of the package graph: ``bot.<package>``, a shared top module, or ``actions``."""
    parts = module.split(".")
    if parts[0] == "actions":
        return "actions"
    if module in SHARED or len(parts) < 2:
        return module
    return ".".join(parts[:2])


def cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one member (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def under(module: str, prefixes: Iterable[str]) -> bool:
    """Whether ``module`` is one of ``prefixes`` or inside one of them."""
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def module_cycles(edges: Iterable[Edge], mods: Mapping[str, Path]) -> list[list[str]]:
    """Cycles between modules of the product."""
    graph: dict[str, set[str]] = {}
    for e in edges:
        if e.target in mods:
            graph.setdefault(e.source, set()).add(e.target)
    return cycles(graph)


def package_cycles(edges: Iterable[Edge], mods: Mapping[str, Path]) -> list[list[str]]:
    """Cycles between packages (``bot.<package>``, the shared modules, ``actions``)."""
    graph: dict[str, set[str]] = {}
    for e in edges:
        a, b = package_of(e.source), package_of(e.target)
        if e.target in mods and a != b:
            graph.setdefault(a, set()).add(b)
    return cycles(graph)


def violations(edges: Iterable[Edge], mods: Mapping[str, Path]) -> list[str]:
    """Every import that runs the wrong way, as ``source:line → target (rule)``."""
    out = []
    for e in edges:
        rule = _broken_rule(e, mods)
        if rule is not None:
            out.append(f"{e.source}:{e.line} → {e.target} ({rule})")
    return out


def _broken_rule(e: Edge, mods: Mapping[str, Path]) -> str | None:
    if e.target not in mods:
        if under(e.source, SERVICES) or under(e.source, ("bot.store",)):
            return "services know nothing of HTTP or Rasa"
        return None
    if under(e.target, DEMO_ONLY) and not under(e.source, MAY_IMPORT_DEMO):
        return "production never imports the demo seed or test drivers"
    if under(e.source, ("bot.speech",)) and not under(e.target, SPEECH_MAY_IMPORT):
        return "speech knows bytes and phrases only"
    if under(e.source, SERVICES) and under(e.target, ABOVE_SERVICES):
        return "services never import the layers that call them"
    if e.source in SHARED and e.source != "bot.__main__" and e.target not in SHARED:
        return "shared modules import only each other"
    if under(e.source, ("bot",)) and under(e.target, ("actions",)):
        return "bot/ never imports the Rasa actions"
    return None


# --- the tests ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def graph() -> tuple[dict[str, Path], list[Edge]]:
    return import_graph(ROOT)


def test_no_module_imports_itself_back(graph: tuple[dict[str, Path], list[Edge]]) -> None:
    mods, edges = graph
    assert module_cycles(edges, mods) == []


def test_no_package_imports_itself_back(graph: tuple[dict[str, Path], list[Edge]]) -> None:
    mods, edges = graph
    assert package_cycles(edges, mods) == []


def test_imports_run_down(graph: tuple[dict[str, Path], list[Edge]]) -> None:
    mods, edges = graph
    assert violations(edges, mods) == []


def test_top_of_bot_holds_only_the_shared_modules() -> None:
    top = {f"bot.{p.stem}" for p in (ROOT / "bot").glob("*.py")} - {"bot.__init__"}
    assert top | {"bot"} == set(SHARED)


def test_every_package_has_a_charter_and_nothing_else() -> None:
    for init in sorted((ROOT / "bot").rglob("__init__.py")):
        if "migrations" in init.parts:
            continue
        tree = ast.parse(init.read_text(encoding="utf-8"))
        doc = ast.get_docstring(tree)
        assert doc, f"{init.relative_to(ROOT)} needs a one-line charter"
        assert all(isinstance(n, ast.Expr) for n in tree.body if not _is_version(n)), (
            f"{init.relative_to(ROOT)}: charter only, no re-exports"
        )


def _is_version(node: ast.stmt) -> bool:
    """``bot/__init__.py`` keeps ``__version__`` (and its future import)."""
    if isinstance(node, ast.ImportFrom):
        return node.module == "__future__"
    return isinstance(node, ast.Assign) and any(
        isinstance(t, ast.Name) and t.id == "__version__" for t in node.targets
    )


def test_actions_stay_flat() -> None:
    assert [p for p in (ROOT / "actions").iterdir() if p.is_dir() and p.name != "__pycache__"] == []


# --- the guard guards: each rule fails on a made-up tree --------------------------------------


def _tree(tmp_path: Path, files: Mapping[str, str]) -> tuple[dict[str, Path], list[Edge]]:
    for rel, text in files.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    for pkg in ("bot", "actions"):
        (tmp_path / pkg).mkdir(exist_ok=True)
        (tmp_path / pkg / "__init__.py").touch()
    return import_graph(tmp_path)


def test_a_lazy_import_cycle_is_found(tmp_path: Path) -> None:
    mods, edges = _tree(
        tmp_path,
        {
            "bot/conversation/__init__.py": "",
            "bot/conversation/locks.py": "def f():\n    from bot.conversation.pipeline import X\n",
            "bot/conversation/pipeline.py": "from bot.conversation.locks import f\nX = 1\n",
        },
    )
    assert module_cycles(edges, mods) == [["bot.conversation.locks", "bot.conversation.pipeline"]]


def test_a_package_cycle_is_found_even_without_a_module_cycle(tmp_path: Path) -> None:
    mods, edges = _tree(
        tmp_path,
        {
            "bot/offers/__init__.py": "",
            "bot/offers/service.py": "from bot.tenants.config import C\n",
            "bot/tenants/__init__.py": "",
            "bot/tenants/config.py": "C = 1\n",
            "bot/tenants/admin.py": "from bot.offers import service\n",
        },
    )
    assert module_cycles(edges, mods) == []
    assert package_cycles(edges, mods) == [["bot.offers", "bot.tenants"]]


def test_production_importing_the_seed_or_a_driver_is_refused(tmp_path: Path) -> None:
    mods, edges = _tree(
        tmp_path,
        {
            "bot/seed/__init__.py": "",
            "bot/seed/demo.py": "NOTICE = 1\n",
            "bot/testing/__init__.py": "",
            "bot/testing/harness.py": "from bot.seed.demo import NOTICE\n",
            "actions/runtime.py": "from bot.seed.demo import NOTICE\n",
            "bot/cli/__init__.py": "",
            "bot/cli/seed.py": "from bot.seed.demo import NOTICE\n",
        },
    )
    assert violations(edges, mods) == [
        "actions.runtime:1 → bot.seed.demo (production never imports the demo seed or test drivers)"
    ]


def test_speech_importing_the_product_is_refused(tmp_path: Path) -> None:
    mods, edges = _tree(
        tmp_path,
        {
            "bot/errors.py": "",
            "bot/speech/__init__.py": "",
            "bot/speech/stt/__init__.py": "",
            "bot/speech/stt/grammar.py": "from bot.errors import X\nfrom bot.finance.catalog import p\n",
            "bot/finance/__init__.py": "",
            "bot/finance/catalog.py": "p = 1\n",
        },
    )
    assert violations(edges, mods) == [
        "bot.speech.stt.grammar:2 → bot.finance.catalog (speech knows bytes and phrases only)"
    ]


def test_a_service_reaching_up_or_into_http_is_refused(tmp_path: Path) -> None:
    mods, edges = _tree(
        tmp_path,
        {
            "bot/offers/__init__.py": "",
            "bot/offers/service.py": "import aiohttp\nfrom bot.gateway.routes import r\n",
            "bot/gateway/__init__.py": "",
            "bot/gateway/routes.py": "r = 1\n",
        },
    )
    assert violations(edges, mods) == [
        "bot.offers.service:1 → aiohttp (services know nothing of HTTP or Rasa)",
        "bot.offers.service:2 → bot.gateway.routes (services never import the layers that call them)",
    ]
