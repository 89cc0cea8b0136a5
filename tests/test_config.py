from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from pipeline import config
from pipeline.errors import ConfigError
from tests.conftest import Project, make_project

ROOT = Path(__file__).resolve().parent.parent


def test_shipped_config_is_the_defaults() -> None:
    shipped = config.load(str(ROOT / "config.toml"))
    defaults = config.parse({}, ROOT)
    assert shipped == defaults


def test_every_setting_is_in_config_toml_with_a_comment() -> None:
    lines = (ROOT / "config.toml").read_text().splitlines()
    for section, cls in config.SECTIONS.items():
        start = lines.index(f"[{section}]")
        for f in dataclasses.fields(cls):
            index = next(i for i, line in enumerate(lines[start:], start) if re.match(rf"{f.name} = ", line))
            assert lines[index - 1].startswith("# "), f"[{section}] {f.name} has no comment"
            assert f.metadata["doc"], f"[{section}] {f.name} has no description"


def test_paths_are_relative_to_the_config_folder(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('[paths]\nmasters = "in"\nstate = "/var/tmp/x"\n')
    settings = config.load(str(tmp_path / "config.toml"))
    assert settings.masters_dir == tmp_path / "in"
    assert settings.output_dir == tmp_path / "output"
    assert settings.state_dir == Path("/var/tmp/x")


def test_environment_variable_names_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "other.toml").write_text("[review]\nport = 8123\n")
    monkeypatch.setenv(config.CONFIG_ENV, str(tmp_path / "other.toml"))
    assert config.load().review.port == 8123


@pytest.mark.parametrize(("text", "message"), [
    ("[transcode]\nladdr = [720]\n", "unknown setting [transcode] laddr; allowed: ladder, bitrates_kbps"),
    ("[transcoding]\n", "unknown section [transcoding]"),
    ("[transcode]\nladder = [720, 90]\nbitrates_kbps = [1, 2]\n",
     "[transcode] ladder = [720, 90] is not allowed; expected a non-empty list, each item a whole number from 144 "
     "to 2160"),
    ("[transcode]\nladder = \"720\"\n", "[transcode] ladder = '720' is not allowed"),
    ("[transcode]\nladder = [720, 480]\n", "bitrates_kbps has 4 values but ladder has 2"),
    ("[transcode]\nladder = [480, 720, 360, 240]\n", "expected distinct sizes, largest first"),
    ("[transcode]\nburn_in_captions = 1\n", "[transcode] burn_in_captions = 1 is not allowed; expected true or "
                                            "false"),
    ("[captions]\nengine = \"vosk\"\n", "[captions] engine = 'vosk' is not allowed; expected one of "
                                        "\"faster-whisper\""),
    ("[review]\nport = true\n", "[review] port = True is not allowed"),
    ("[publish]\ndefault_link_expiry = \"soon\"\n", "[publish] default_link_expiry = 'soon' is not a duration"),
    ("[transcode]\nhls_segment_seconds = 5\n", "hls_segment_seconds = 5 is not allowed; expected a multiple"),
    ("[paths\n", "not valid TOML"),
])
def test_bad_settings_are_named(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "config.toml").write_text(text)
    with pytest.raises(ConfigError) as caught:
        config.load(str(tmp_path / "config.toml"))
    assert message in str(caught.value)


def test_floats_accept_whole_numbers(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text("[captions]\nmax_cue_seconds = 5\n")
    assert config.load(str(tmp_path / "config.toml")).captions.max_cue_seconds == 5.0


def test_cli_bad_config_is_one_line_and_exit_2(tmp_path: Path) -> None:
    project: Project = make_project(tmp_path / "p")
    project.config_file.write_text("[transcode]\ncrf = 99\n")
    done = project.cli("status")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert "[transcode] crf = 99 is not allowed; expected a whole number from 0 to 51" in done.stderr


def test_cli_missing_config_file_is_exit_2(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p")
    done = project.cli("--config", str(tmp_path / "nope.toml"), "status")
    assert done.returncode == 2 and "nope.toml: config file not found" in done.stderr


def test_cli_unknown_key_is_one_line_and_exit_2(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p")
    project.config_file.write_text("[storage]\nendpiont = \"http://x\"\n")
    done = project.cli("run")
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert "unknown setting [storage] endpiont" in done.stderr


def test_glossary_is_a_list_of_names_and_may_be_empty(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('[captions]\nglossary = ["NSPCC", "Barnet"]\n')
    assert config.load(str(tmp_path / "config.toml")).captions.glossary == ("NSPCC", "Barnet")
    (tmp_path / "config.toml").write_text("[captions]\nglossary = [1]\n")
    with pytest.raises(ConfigError, match=r"\[captions\] glossary = \[1\] is not allowed; expected a list, each item "
                                          "a string"):
        config.load(str(tmp_path / "config.toml"))


@pytest.mark.parametrize(("cluster", "storage", "named"), [
    ({"mode": "distributed"}, {"endpoint": "http://s3.internal:8333"}, "[cluster] broker"),
    ({"mode": "distributed", "broker": "redis://q.internal:6379/0"}, {"endpoint": "http://s3.internal:8333"},
     "[cluster] catalog"),
    ({"mode": "distributed", "broker": "redis://q.internal:6379/0", "catalog": "sqlite:///x.db"},
     {"endpoint": "http://s3.internal:8333"}, "[cluster] catalog"),
    ({"mode": "distributed", "broker": "redis://q.internal:6379/0",
      "catalog": "postgresql+psycopg://p@db.internal/pipeline"}, {}, "[storage] endpoint"),
    ({"work_bucket": "media"}, {}, "[cluster] work_bucket"),
])
def test_the_distributed_mode_needs_its_services_named(tmp_path: Path, cluster: dict[str, str],
                                                       storage: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError) as refused:
        config.parse({"cluster": cluster, "storage": storage}, tmp_path)
    assert refused.value.key == named and "\n" not in str(refused.value)


def test_worker_and_pull_need_the_distributed_mode(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p")
    for command in ("worker", "pull"):
        done = project.cli(command)
        assert done.returncode == 2 and done.stderr.count("\n") == 1
        assert '[cluster] mode = "distributed"' in done.stderr
