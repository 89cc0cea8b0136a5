"""The asset lifecycle: one state machine, one writer of an asset's state, no import cycles (#14)."""

from __future__ import annotations

import ast
import hashlib
import itertools
import re
from pathlib import Path

import pytest

from pipeline.catalog import Catalog
from pipeline.errors import UsageError
from pipeline.models import AssetState, Cue

PACKAGE = Path(__file__).resolve().parent.parent / "pipeline"
S = AssetState
# Written out by hand, not read from TRANSITIONS, so that a change to the state machine is a change to this test.
ALLOWED = {
    (S.NEW, S.PROCESSING), (S.NEW, S.FAILED),
    (S.PROCESSING, S.PROCESSING), (S.PROCESSING, S.AWAITING_REVIEW), (S.PROCESSING, S.FAILED),
    (S.FAILED, S.PROCESSING), (S.FAILED, S.FAILED),
    (S.AWAITING_REVIEW, S.APPROVED), (S.AWAITING_REVIEW, S.PROCESSING), (S.AWAITING_REVIEW, S.PUBLISHED),
    (S.APPROVED, S.PUBLISHED), (S.APPROVED, S.AWAITING_REVIEW),
    (S.PUBLISHED, S.PUBLISHED), (S.PUBLISHED, S.APPROVED), (S.PUBLISHED, S.AWAITING_REVIEW),
}
# How to reach each state from NEW through allowed steps.
PATHS = {
    S.NEW: [], S.PROCESSING: [S.PROCESSING], S.FAILED: [S.FAILED],
    S.AWAITING_REVIEW: [S.PROCESSING, S.AWAITING_REVIEW],
    S.APPROVED: [S.PROCESSING, S.AWAITING_REVIEW, S.APPROVED],
    S.PUBLISHED: [S.PROCESSING, S.AWAITING_REVIEW, S.APPROVED, S.PUBLISHED],
}


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    return Catalog.open(tmp_path_factory.mktemp("lifecycle"))


def _asset_in(catalog: Catalog, state: AssetState, name: str) -> str:
    asset = catalog.add_asset(hashlib.sha256(name.encode()).hexdigest(), name, 1)
    for step in PATHS[state]:
        catalog.set_state(asset.id, step, detail="setting up")
    assert catalog.get(asset.id).state is state
    return asset.id


@pytest.mark.parametrize(("start", "end"), list(itertools.product(AssetState, AssetState)),
                         ids=lambda s: s.value)
def test_every_transition_is_allowed_or_refused_as_the_table_says(catalog: Catalog, start: AssetState,
                                                                   end: AssetState) -> None:
    asset_id = _asset_in(catalog, start, f"{start.value}-{end.value}.mp4")
    before = catalog.events(asset_id)
    if (start, end) in ALLOWED:
        moved = catalog.set_state(asset_id, end, detail="the step under test",
                                  error="why it failed" if end is S.FAILED else None)
        assert moved.state is end
        assert moved.error == ("why it failed" if end is S.FAILED else None)
        assert (moved.stage, moved.progress) == (None, None)
        last = catalog.events(asset_id)[-1]
        assert (last.state, last.detail) == (end, "why it failed" if end is S.FAILED else "the step under test")
        assert len(catalog.events(asset_id)) == len(before) + 1
    else:
        with pytest.raises(UsageError, match=f"is {start.value}; it cannot become {end.value}"):
            catalog.set_state(asset_id, end, detail="the step under test")
        assert catalog.get(asset_id).state is start
        assert catalog.events(asset_id) == before


def test_editing_approved_captions_sends_the_asset_back_through_the_transition(catalog: Catalog) -> None:
    asset_id = _asset_in(catalog, S.AWAITING_REVIEW, "edited.mp4")
    catalog.put_caption_track(_track(asset_id))
    first = catalog.save_revision(asset_id, "en", None, "automatic draft", "draft", [Cue(0, 1500, "Hello.")],
                                  withdraw=False)
    catalog.approve_captions(asset_id, "Ann", {"en": "0" * 64})
    assert catalog.get(asset_id).state is S.APPROVED
    assert catalog.events(asset_id)[-1].detail == "captions approved by Ann"
    catalog.save_revision(asset_id, "en", first.number, "Bob", "cue 1 text", [Cue(0, 1500, "Hello!")])
    assert catalog.get(asset_id).state is S.AWAITING_REVIEW
    assert catalog.events(asset_id)[-1].detail == "en captions edited by Bob"
    with pytest.raises(UsageError, match="only assets awaiting review can be approved"):
        failed = _asset_in(catalog, S.FAILED, "failed.mp4")
        catalog.approve_captions(failed, "Ann", {})


def _track(asset_id: str):  # type: ignore[no-untyped-def]
    from pipeline.models import CaptionState, CaptionTrack

    return CaptionTrack(asset_id, "en", "captions.en.vtt", CaptionState.DRAFT, 1, "faster-whisper", "tiny.en", None,
                        None)


def _state_writers(path: Path) -> list[tuple[str, str]]:
    """(function, table) for each statement in the module that writes a `state` column of the assets table:
    `assets.update()...values(state=...)`, `assets.insert().values(state=...)` or SQL text naming it."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[tuple[str, str]] = []

    def table_of(node: ast.AST) -> str | None:
        while isinstance(node, ast.Call | ast.Attribute):
            if isinstance(node, ast.Attribute) and node.attr in ("update", "insert") \
                    and isinstance(node.value, ast.Name) and node.value.id == "assets":
                return f"assets.{node.attr}"
            node = node.func if isinstance(node, ast.Call) else node.value
        return None

    for function in [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]:
        for node in ast.walk(function):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "values":
                keys = {k.arg for k in node.keywords}
                table = table_of(node.func.value)
                if table and ("state" in keys or None in keys):
                    found.append((function.name, table))
            if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                    and "update assets" in " ".join(node.value.lower().split()):
                found.append((function.name, "sql"))
    return found


def test_only_the_transition_function_writes_an_asset_state() -> None:
    writers = {(str(path.relative_to(PACKAGE)), function, table)
               for path in PACKAGE.rglob("*.py") for function, table in _state_writers(path)}
    assert ("catalog/assets.py", "transition", "assets.update") in writers  # the scan works
    others = writers - {("catalog/assets.py", "transition", "assets.update"),
                        ("catalog/assets.py", "add_asset", "assets.insert")}  # a new asset starts as NEW
    assert not others, f"asset state written outside catalog.assets.transition: {sorted(others)}"


def _imports(path: Path, module: str) -> set[str]:
    """The pipeline modules a module imports, at any depth of the file (lazy imports count)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("pipeline"))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[:len(parts) - node.level + 1] + ([base] if base else []))
            if base.startswith("pipeline"):
                found.add(base)
                found.update(f"{base}.{a.name}" for a in node.names)
    return found


def module_graph() -> dict[str, set[str]]:
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    graph = {}
    for name, path in modules.items():
        # A module's own parent packages are imported before it runs: not an edge.
        graph[name] = {m for m in _imports(path, name) if m in modules and m != name and not name.startswith(m + ".")}
        # Importing pipeline.a.b runs pipeline/a/__init__.py first: that is an edge too.
        graph[name] |= {p for m in set(graph[name]) for p in _parents(m) if p in modules and p != name
                        and not name.startswith(p + ".")}
    return graph


def _parents(module: str) -> list[str]:
    parts = module.split(".")
    return [".".join(parts[:i]) for i in range(2, len(parts))]


def test_there_is_no_import_cycle_inside_the_package() -> None:
    graph = module_graph()
    assert "pipeline.catalog.assets" in graph["pipeline.catalog.captions"]  # the graph sees imports
    cycles, state, stack = [], dict.fromkeys(graph, 0), []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state[nxt] == 1:
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif state[nxt] == 0:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if state[node] == 0:
            visit(node)
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_the_deployment_mode_is_chosen_in_exactly_one_place() -> None:
    # config.py defines and checks `distributed`; everywhere else asks the executor that executor.choose made.
    readers = []
    for path in PACKAGE.rglob("*.py"):
        if path.relative_to(PACKAGE).as_posix() == "config.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for function in [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]:
            readers += [(path.relative_to(PACKAGE).as_posix(), function.name) for node in ast.walk(function)
                        if isinstance(node, ast.Attribute) and node.attr in ("distributed", "mode")
                        and isinstance(node.value, ast.Attribute) and node.value.attr in ("cluster", "settings")
                        or isinstance(node, ast.Attribute) and node.attr == "distributed"]
    assert readers == [("executor.py", "choose")]


def test_the_readme_layout_names_every_package_module_and_nothing_that_is_gone() -> None:
    readme = (PACKAGE.parent / "README.md").read_text(encoding="utf-8")
    layout = readme[readme.index("## Layout"):]
    layout = layout[:layout.index("```", layout.index("```") + 3)]
    top = {p.name for p in PACKAGE.iterdir() if p.suffix == ".py" and p.name not in ("__init__.py", "__main__.py")}
    packages = {p.name + "/" for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    missing = sorted(name for name in top | packages if name not in layout)
    assert not missing, f"README Layout does not mention: {missing}"
    for package in ("catalog", "stages", "review", "distribution", "cluster"):
        for module in (PACKAGE / package).glob("*.py"):
            if module.name != "__init__.py":
                assert module.name in layout, f"README Layout does not mention {package}/{module.name}"
    named = set(re.findall(r"(?<![\w/.-])([a-z_]+\.(?:py|js))\b", layout))
    existing = {p.name for p in PACKAGE.rglob("*") if p.suffix in (".py", ".js")}
    assert not named - existing, f"README Layout names files that do not exist: {sorted(named - existing)}"


def test_the_task_groups_are_the_stage_order() -> None:
    from pipeline import runner, stages
    from pipeline.cluster.app import QUEUES
    from pipeline.cluster.tasks import GROUPS

    order = [stage.name for stage in runner.STAGES]
    assert [name for group in GROUPS for name in stages.group_stages(group)] == order
    assert order == ["ingest", "proxy", "caption", "transcode"]
    # What a reviewer needs comes first; the ladder continues once the asset is reviewable (#19).
    assert stages.review_stages() == ("ingest", "proxy", "caption") and stages.ladder_stages() == ("transcode",)
    assert GROUPS == ("ingest", "caption", "ladder") and QUEUES == ("transcode", "caption")
    assert stages.ready_groups(set()) == ("ingest",)
    assert stages.ready_groups({"ingest"}) == ("caption", "ladder")  # in parallel, on their two queues
    assert stages.ready_groups({"ingest", "caption"}) == ("ladder",)
    assert stages.review_groups() == ("ingest", "caption")
