"""The editor's pure ES modules (pipeline/web/static/editor/) in a real browser: Debian's Chromium, importing them
from pipeline/web/static served on 127.0.0.1. Every edit is checked against literal values and run on deep-frozen
inputs, so a function that changed its input would throw; quality.js is checked against `pipeline captions check`
and quality.check on the same cues with the same rules."""

from __future__ import annotations

import dataclasses
import functools
import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from playwright.sync_api import Browser, Page

from pipeline.captions import quality, vtt
from pipeline.models import Cue
from tests.conftest import Project

STATIC = Path(__file__).resolve().parents[1] / "pipeline" / "web" / "static"
CHILDREN = dataclasses.asdict(quality.rules_for("children"))

# Calls module.name(...args) with args deep-frozen; reports the result and whether the args still serialise the same.
CALL = """async ([module, name, args]) => {
  const m = await import(module);
  const freeze = (v) => {
    if (v && typeof v === "object") { Object.values(v).forEach(freeze); Object.freeze(v); }
    return v;
  };
  const before = JSON.stringify(args);
  const result = m[name](...freeze(args));
  return {result: result === undefined ? null : result, unchanged: JSON.stringify(args) === before};
}"""


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def page(browser: Browser) -> Iterator[Page]:
    """A page whose origin serves pipeline/web/static, so that `import("/editor/cues.js")` works."""
    handler = functools.partial(_Quiet, directory=str(STATIC))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"http://127.0.0.1:{server.server_address[1]}/editor/")
    yield page
    page.close()
    server.shutdown()
    server.server_close()
    assert errors == []


def call(page: Page, module: str, name: str, *args: Any) -> Any:
    out = page.evaluate(CALL, [f"/editor/{module}", name, list(args)])
    assert out["unchanged"], f"{module} {name} changed its input"
    return out["result"]


def run(page: Page, body: str) -> Any:
    """`body`, an async function's body, with the modules imported as cues, history, quality, api, keys."""
    return page.evaluate(f"""async () => {{
      const [cues, history, quality, api, keys] = await Promise.all(
        ["cues", "history", "quality", "api", "keys"].map((m) => import(`/editor/${{m}}.js`)));
      {body}
    }}""")


def c(start_ms: int, end_ms: int, text: str) -> dict[str, Any]:
    return {"start_ms": start_ms, "end_ms": end_ms, "text": text}


CUES = [c(0, 2000, "Welcome to our short film"), c(2500, 5000, "If something online worries you,\ntalk to an adult"),
        c(6000, 8000, "You are not alone.")]


# -- cues.js ---------------------------------------------------------------------------------------------------


def test_edit_text_replaces_one_cue_and_shares_the_others(page: Page) -> None:
    assert call(page, "cues.js", "editText", CUES, 1, "Changed") == [CUES[0], c(2500, 5000, "Changed"), CUES[2]]
    assert call(page, "cues.js", "editText", CUES, 7, "Nothing there") == CUES
    assert run(page, """
      const old = cues.fromServer([{start_ms: 0, end_ms: 1, text: "a", extra: 1}, {start_ms: 2, end_ms: 3, text: "b"}]);
      const now = cues.editText(old, 1, "c");
      return [now !== old, now[0] === old[0], now[1] !== old[1], Object.isFrozen(now), Object.keys(old[0]).length,
              now[1].id, old[0].id];
    """) == [True, True, True, True, 4, "n2", "n1"]  # ids kept; the server's for cues stored without them


def test_set_time_and_nudge_keep_the_list_in_time_order(page: Page) -> None:
    moved = call(page, "cues.js", "setTime", CUES, 0, "start_ms", 7000.4)
    assert moved == {"cues": [CUES[1], CUES[2], c(7000, 2000, CUES[0]["text"])], "index": 2}
    assert call(page, "cues.js", "setTime", CUES, 1, "end_ms", -50)["cues"][1] == c(2500, 0, CUES[1]["text"])
    assert call(page, "cues.js", "setTime", CUES, 5, "end_ms", 1) is None
    assert call(page, "cues.js", "nudge", CUES, 1, "start_ms", 100) == {
        "cues": [CUES[0], c(2600, 5000, CUES[1]["text"]), CUES[2]], "index": 1}
    assert call(page, "cues.js", "nudge", CUES, 2, "end_ms", -100)["cues"][2] == c(6000, 7900, "You are not alone.")
    assert call(page, "cues.js", "nudge", [], 0, "end_ms", -100) is None
    # Equal start times: the end decides, and equal cues keep their order.
    same = [c(1000, 3000, "b"), c(1000, 3000, "c")]
    assert call(page, "cues.js", "setTime", [c(0, 2000, "a"), *same], 0, "start_ms", 1000) == {
        "cues": [c(1000, 2000, "a"), *same], "index": 0}


def test_split_at_the_caret_takes_the_times_from_the_words(page: Page) -> None:
    words = [{"start_ms": 2500 + 250 * i, "end_ms": 2700 + 250 * i, "text": w, "flags": []}
             for i, w in enumerate("If something online worries you, talk to an adult".split())]
    caret = CUES[1]["text"].index(",") + 1
    split = call(page, "cues.js", "splitAt", CUES, 1, caret, {"words": words, "charsPerLine": 37, "id": "s2"})
    # "you," ends at 2500 + 250 * 4 + 200; "talk" starts at 2500 + 250 * 5. The second part has the new id.
    assert split == [CUES[0], c(2500, 3700, "If something online worries you,"),
                     c(3750, 5000, "talk to an adult") | {"id": "s2"}, CUES[2]]
    # Without matching words: in proportion to the characters; or at a time given.
    # 10 characters before, 14 after: 2000 ms * 10 / 24.
    assert call(page, "cues.js", "splitAt", CUES, 0, 10, {"id": "s"}) == [
        c(0, 833, "Welcome to"), c(833, 2000, "our short film") | {"id": "s"}, CUES[1], CUES[2]]
    assert call(page, "cues.js", "splitAt", CUES, 0, 10, {"atMs": 1234, "id": "s"})[:2] == [
        c(0, 1234, "Welcome to"), c(1234, 2000, "our short film") | {"id": "s"}]
    # Not between two words, or too short to split: nothing.
    assert call(page, "cues.js", "splitAt", CUES, 0, 0, {}) is None
    assert call(page, "cues.js", "splitAt", CUES, 0, len(CUES[0]["text"]), {}) is None
    assert call(page, "cues.js", "splitAt", [c(0, 399, "two words")], 0, 4, {}) is None
    assert call(page, "cues.js", "splitAt", CUES, 9, 4, {}) is None


def test_rebalance_merge_insert_and_delete(page: Page) -> None:
    assert call(page, "cues.js", "rebalance", "  short\n text ", 37) == "short text"
    assert call(page, "cues.js", "rebalance", "If something online worries you, talk to an adult you trust",
                37) == "If something online worries\nyou, talk to an adult you trust"
    merged = call(page, "cues.js", "mergeWithNext", CUES, 0, 37)
    assert merged == [c(0, 5000, "Welcome to our short film If something\nonline worries you, talk to an adult"),
                      CUES[2]]
    assert call(page, "cues.js", "mergeWithNext", [c(0, 5000, "a"), c(1000, 2000, "b")], 0, 37) == [c(0, 5000, "a b")]
    assert call(page, "cues.js", "mergeWithNext", CUES, 2, 37) is None
    # Insert: 2 s after the cue, shortened to the next one when there is room, else overlapping it.
    assert call(page, "cues.js", "insertAfter", CUES, 1, 0, "i") == {
        "cues": [*CUES[:2], c(5000, 6000, "") | {"id": "i"}, CUES[2]], "index": 2}
    assert call(page, "cues.js", "insertAfter", CUES, 2, 0, "i")["cues"][3] == c(8000, 10000, "") | {"id": "i"}
    tight = [c(0, 1000, "a"), c(1300, 2000, "b")]
    assert call(page, "cues.js", "insertAfter", tight, 0, 0, "i")["cues"][1] == c(1000, 3000, "") | {"id": "i"}
    assert call(page, "cues.js", "insertAfter", [], 0, 4321.2, "i") == {"cues": [c(4321, 6321, "") | {"id": "i"}],
                                                                       "index": 0}
    assert call(page, "cues.js", "deleteAt", CUES, 1) == [CUES[0], CUES[2]]
    assert call(page, "cues.js", "deleteAt", CUES, 3) == CUES


def test_find_and_replace(page: Page) -> None:
    assert call(page, "cues.js", "findNext", CUES, "you", {}) == {"index": 1, "at": 28, "length": 3}
    assert call(page, "cues.js", "findNext", CUES, "YOU", {"index": 1, "offset": 29}) == {"index": 2, "at": 0,
                                                                                        "length": 3}
    assert call(page, "cues.js", "findNext", CUES, "YOU", {"index": 1, "offset": 29, "matchCase": True}) is None
    assert call(page, "cues.js", "findNext", CUES, "welcome", {"index": 2, "offset": 5}) == {"index": 0, "at": 0,
                                                                                           "length": 7}
    # Wrapping round comes back to the start of the cue it began in.
    assert call(page, "cues.js", "findNext", CUES, "our", {"index": 0, "offset": 20}) == {"index": 0, "at": 11,
                                                                                        "length": 3}
    assert call(page, "cues.js", "findNext", CUES, "", {}) is None
    assert call(page, "cues.js", "findNext", [], "x", {}) is None
    assert call(page, "cues.js", "replaceAt", CUES, 0, 15, 20, "long")[0] == c(0, 2000, "Welcome to our long film")
    done = call(page, "cues.js", "replaceAll", CUES, "o", "$&(.)", False)
    assert done["count"] == 12 and done["cues"][2] == c(6000, 8000, "Y$&(.)u are n$&(.)t al$&(.)ne.")
    assert call(page, "cues.js", "replaceAll", CUES, "you", "we", True)["count"] == 1
    assert call(page, "cues.js", "replaceAll", [c(0, 1, "a.b axb")], ".", "!", False) == {
        "cues": [c(0, 1, "a!b axb")], "count": 1}
    assert run(page, """
      const old = cues.fromServer([{start_ms: 0, end_ms: 1, text: "a"}, {start_ms: 2, end_ms: 3, text: "b"}]);
      const none = cues.replaceAll(old, "z", "y");
      const some = cues.replaceAll(old, "B", "c");
      return [none.cues === old, none.count, some.cues[0] === old[0], some.cues[1].text];
    """) == [True, 0, True, "c"]


def test_small_helpers_and_times(page: Page) -> None:
    assert call(page, "cues.js", "sameCues", CUES, [dict(x) for x in CUES]) is True
    assert call(page, "cues.js", "sameCues", CUES, CUES[:2]) is False
    assert call(page, "cues.js", "sameCues", CUES, [CUES[0], CUES[1], c(6000, 8000, "Changed")]) is False
    assert [call(page, "cues.js", "cueAt", CUES, ms) for ms in (0, 1999, 2000, 2500, 9000)] == [0, 0, -1, 1, -1]
    assert [call(page, "cues.js", "clampIndex", CUES, i) for i in (-1, 1, 5)] == [0, 1, 2]
    assert call(page, "cues.js", "clampIndex", [], 3) == 0
    assert [call(page, "times.js", "formatTime", ms) for ms in (0, 1100, 64250, 3_600_000)] == [
        "0:00.000", "0:01.100", "1:04.250", "60:00.000"]
    assert [call(page, "times.js", "parseTime", t) for t in ("1:04.250", " 64.25 ", "64", "1:2.5", "x", "1.2345")] == [
        64250, 64250, 64000, 62500, None, None]


# -- history.js ------------------------------------------------------------------------------------------------


def _one(label: str) -> list[dict[str, Any]]:
    return [c(0, 1000, label) | {"id": "a"}]


def test_undo_and_redo_walk_back_and_forth_and_a_new_edit_drops_the_redo(page: Page) -> None:
    history = call(page, "history.js", "empty")
    assert call(page, "history.js", "undo", history, _one("A")) is None
    for old, new in (("A", "B"), ("B", "C"), ("C", "D")):  # edits from A to B, B to C, C to D; D is shown now
        history = call(page, "history.js", "record", history, _one(old), _one(new), {"before": "a", "after": "a"})
    assert [step["patch"] for step in history["done"]][0] == [{"id": "a", "before": _one("A")[0],
                                                               "after": _one("B")[0]}]  # a patch, not the track
    back = call(page, "history.js", "undo", history, _one("D"))
    assert (back["cues"], back["selected"], back["skipped"]) == (_one("C"), "a", [])
    back = call(page, "history.js", "undo", back["history"], back["cues"])
    assert back["cues"] == _one("B")
    forward = call(page, "history.js", "redo", back["history"], back["cues"])
    forward = call(page, "history.js", "redo", forward["history"], forward["cues"])
    assert forward["cues"] == _one("D")
    assert call(page, "history.js", "redo", forward["history"], _one("D")) is None
    # After two undos, a new edit: the redo is gone, the undo leads back to where the edit was made.
    again = call(page, "history.js", "undo", history, _one("D"))
    again = call(page, "history.js", "undo", again["history"], again["cues"])
    edited = call(page, "history.js", "record", again["history"], again["cues"], _one("E"), {})
    assert call(page, "history.js", "canRedo", edited) is False
    assert call(page, "history.js", "undo", edited, _one("E"))["cues"] == _one("B")
    # An edit that changed nothing is no step.
    assert call(page, "history.js", "record", edited, _one("E"), _one("E"), {}) == edited


def test_typing_in_one_caption_is_one_undo_step_until_a_pause_or_another_edit(page: Page) -> None:
    two = [c(0, 1000, "") | {"id": "a"}, c(2000, 3000, "") | {"id": "b"}]

    def texts(a: str, b: str) -> list[dict[str, Any]]:
        return [two[0] | {"text": a}, two[1] | {"text": b}]

    history = call(page, "history.js", "empty")
    for at, typed in ((0, "H"), (400, "He"), (1300, "Hel"), (2200, "Hell")):  # keystrokes under a second apart
        history = call(page, "history.js", "record", history, texts(typed[:-1], ""), texts(typed, ""), {},
                       {"cue": "a", "at": at})
    assert history["done"] == [{"patch": [{"id": "a", "before": two[0], "after": texts("Hell", "")[0]}],
                                "selected": {"before": None, "after": None}}]
    history = call(page, "history.js", "record", history, texts("Hell", ""), texts("Hello", ""), {},
                   {"cue": "a", "at": 3300})  # over a second later
    history = call(page, "history.js", "record", history, texts("Hello", ""), texts("Hello", "x"), {},
                   {"cue": "b", "at": 3400})  # another caption
    assert len(history["done"]) == 3
    back = call(page, "history.js", "undo", history, texts("Hello", "x"))
    assert back["cues"] == texts("Hello", "")
    typed = call(page, "history.js", "record", back["history"], back["cues"], texts("Hello", "y"), {},
                 {"cue": "b", "at": 3500})  # an undo ends the run
    assert len(typed["done"]) == 3 and typed["undone"] == []


def test_history_keeps_the_last_200_steps(page: Page) -> None:
    assert run(page, """
      let h = history.empty();
      const at = (i) => [{id: "a", start_ms: 0, end_ms: 1, text: String(i)}];
      for (let i = 0; i < 250; i++) h = history.record(h, at(i), at(i + 1), {});
      return [h.done.length, h.done[0].patch[0].before.text, h.done[199].patch[0].after.text, Object.isFrozen(h.done)];
    """) == [200, "50", "250", True]


# -- quality.js ------------------------------------------------------------------------------------------------

# Each broken rule at least once, at both levels where there are two, next to cues that pass.
VARIED_VTT = """WEBVTT

00:00:00.000 --> 00:00:03.000
A fine caption of an easy length.

00:00:03.500 --> 00:00:07.000
This line is a little longer than 37 c.

00:00:07.000 --> 00:00:11.000
This one line is far longer than any line may be.

00:00:11.000 --> 00:00:14.000
One
two
three

00:00:14.000 --> 00:00:16.000
Too many words said far too fast.

00:00:16.000 --> 00:00:18.500
Somewhat fast words said here.

00:00:18.500 --> 00:00:19.000
Hi

00:00:19.000 --> 00:00:20.200
Brief.

00:00:20.200 --> 00:00:26.600
Long on screen.

00:00:26.600 --> 00:00:34.000
Far too long on screen.

00:00:33.000 --> 00:00:35.000
Overlaps.

00:00:30.000 --> 00:00:32.000
Out of order.

00:00:36.000 --> 00:00:37.500
one two three four five six

00:00:38.000 --> 00:00:40.000
&nbsp;

00:00:41.000 --> 00:00:44.000
😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀

00:00:44.000 --> 00:00:44.001
x
"""


def _violation_rows(violations: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [(v["cue"], v["start_ms"], v["rule"], v["level"], float(v["value"]), float(v["limit"]), v["message"])
            for v in violations]


def test_the_editors_figures_are_those_of_pipeline_captions_check(page: Page, project: Project,
                                                                   tmp_path: Path) -> None:
    path = tmp_path / "varied.vtt"
    path.write_text(VARIED_VTT, encoding="utf-8")
    done = project.cli("captions", "check", str(path), "--json")
    assert done.returncode == 1, done.stderr  # errors found
    report = json.loads(done.stdout)
    assert dataclasses.asdict(quality.rules_for(project.settings().captions.preset)) == CHILDREN
    cli = [{**v, "start_ms": vtt.parse_timestamp(v["start"])} for v in report["violations"]]
    assert {v["track"] for v in cli} == {path.name}
    cues = [dataclasses.asdict(cue) for cue in vtt.read_vtt(path)]
    editor = call(page, "quality.js", "check", cues, CHILDREN)
    assert _violation_rows(editor) == _violation_rows(cli)
    # Every rule is in the set, so that the comparison covers it.
    assert {v["rule"] for v in cli} == {"empty", "chars_per_line", "lines", "reading_speed", "duration",
                                        "time_per_word", "order", "overlap"}
    assert {(v["rule"], v["level"]) for v in cli} >= {
        ("chars_per_line", "warning"), ("chars_per_line", "error"), ("reading_speed", "warning"),
        ("reading_speed", "error"), ("duration", "warning"), ("duration", "error")}
    assert report["errors"] == sum(v["level"] == "error" for v in editor)


_TEXT = st.text(st.sampled_from(list("ab yz.,'\n\t\xa0\u2003\x1c\ufeff😀é")), max_size=60)
_CUE = st.builds(lambda start, length, text: Cue(start, start + length, text),
                 st.integers(0, 20_000), st.integers(-50, 9000), _TEXT)


@settings(max_examples=150, deadline=None)
@given(st.lists(_CUE, max_size=8), st.sampled_from(sorted(quality.PRESETS)))
def test_quality_js_agrees_with_quality_check_on_any_cues(page: Page, cues: list[Cue], preset: str) -> None:
    rules = quality.rules_for(preset)
    expected = [dataclasses.asdict(v) | {"level": v.level.value} for v in quality.check(cues, rules)]
    found = call(page, "quality.js", "check", [dataclasses.asdict(cue) for cue in cues], dataclasses.asdict(rules))
    assert _violation_rows(found) == _violation_rows(expected)


def test_words_spaces_and_lengths_are_counted_as_python_counts_them(page: Page) -> None:
    # str.split() and str.strip() know \x1c-\x1f as spaces and not U+FEFF, unlike JavaScript's \s and trim();
    # len() counts code points, not UTF-16 units.
    cues = [Cue(0, 1200, "a\x1cb\x1cc\x1cd\x1ce"), Cue(2000, 3100, "a\ufeffb c d"), Cue(4000, 6000, "\x1c\x1f"),
            Cue(6000, 8000, "\ufeff"), Cue(8000, 11000, "😀" * 38)]
    rules = quality.rules_for("children")
    expected = [dataclasses.asdict(v) | {"level": v.level.value} for v in quality.check(cues, rules)]
    assert {v["rule"] for v in expected} == {"time_per_word", "empty", "chars_per_line", "duration"}
    found = call(page, "quality.js", "check", [dataclasses.asdict(cue) for cue in cues], dataclasses.asdict(rules))
    assert _violation_rows(found) == _violation_rows(expected)


def test_rounding_is_pythons(page: Page) -> None:
    values = [0.125, 0.375, 2.675, 1.005, 14.285714285714286, 15.5, 17.125, 2.5, 0.0, 123.456, 1e-9, 99.995]
    assert [call(page, "quality.js", "pyRound", v) for v in values] == [round(v, 2) for v in values]


def test_figures_take_their_levels_from_the_rules(page: Page) -> None:
    three_lines = call(page, "quality.js", "figures", c(0, 3000, "One\ntwo\nthree"), CHILDREN)
    assert [(f["name"], f["label"], f["level"]) for f in three_lines] == [
        ("cps", "4.3 characters/s", "ok"), ("cpl", "5 characters/line", "error"), ("duration", "3.0 s", "ok")]
    fast = call(page, "quality.js", "figures", c(0, 1200, "Fast words, said fast."), CHILDREN)
    assert [(f["label"], f["level"], f["limit"]) for f in fast] == [
        ("18.3 characters/s", "error", "target at most 15"), ("22 characters/line", "ok", "at most 37"),
        ("1.2 s", "warning", "1.5–6 s")]


# -- api.js and keys.js ----------------------------------------------------------------------------------------


def test_api_sends_the_csrf_token_and_sorts_out_saved_conflict_and_refused(page: Page) -> None:
    result = run(page, """
      const sent = [];
      const answers = [
        [200, {revision: {number: 4}, problems: [{level: "error"}]}],
        [409, {detail: "Bo saved revision 5", current_revision: 5, author: "Bo"}],
        [422, {detail: [{loc: ["body", "cues", 0, "text"], msg: "field required"}]}],
        [500, null],
      ];
      const fetch = async (url, init) => {
        sent.push([url, init.method, init.headers["X-CSRF-Token"], JSON.parse(init.body)]);
        const [status, body] = answers.shift();
        return new Response(body === null ? "oops" : JSON.stringify(body), {status});
      };
      const client = api.createApi({assetId: "a1", language: "en", csrf: "tok", fetch});
      const outcomes = [];
      const changes = [{id: "n1", cue: {start_ms: 0, end_ms: 1, text: "x"}}, {id: "n2", cue: null}];
      for (let i = 0; i < 4; i++) outcomes.push(await client.save(3, "Ann", changes));
      const down = api.createApi({assetId: "a1", language: "en", csrf: "tok",
                                  fetch: async () => { throw new TypeError("Failed to fetch"); }});
      outcomes.push(await down.save(3, "Ann", []));
      return {sent: sent[0], outcomes};
    """)
    assert result["sent"] == ["/api/assets/a1/captions/en", "PUT", "tok",
                              {"base_revision": 3, "author": "Ann",
                               "changes": [{"id": "n1", "cue": c(0, 1, "x")}, {"id": "n2", "cue": None}]}]
    assert result["outcomes"] == [
        {"outcome": "saved", "answer": {"revision": {"number": 4}, "problems": [{"level": "error"}]}},
        {"outcome": "conflict", "conflict": {"detail": "Bo saved revision 5", "current_revision": 5, "author": "Bo"}},
        {"outcome": "refused", "reason": "cues 0 text: field required"},
        {"outcome": "refused", "reason": "the server answered 500"},
        {"outcome": "refused", "reason": "the review app cannot be reached; is it still running?"},
    ]


def test_shortcut_names_of_key_events(page: Page) -> None:
    events = [{"key": "s", "code": "KeyS", "altKey": True}, {"key": "ß", "code": "KeyS", "altKey": True},
              {"key": "Z", "code": "KeyZ", "ctrlKey": True, "shiftKey": True},
              {"key": "z", "code": "KeyZ", "metaKey": True},
              {"key": "ArrowLeft", "code": "ArrowLeft", "altKey": True, "shiftKey": True},
              {"key": "“", "code": "BracketLeft", "altKey": True}, {"key": "F1", "code": "F1"}]
    names = run(page, f"""
      const base = {{altKey: false, ctrlKey: false, metaKey: false, shiftKey: false}};
      return {json.dumps(events)}.map((e) => {{
        const combo = keys.comboOf({{...base, ...e}});
        return [combo, keys.SHORTCUTS[combo] ?? null];
      }});
    """)
    assert names == [["Alt+s", "split"], ["Alt+s", "split"], ["Ctrl+Shift+z", "redo"], ["Ctrl+z", "undo"],
                     ["Alt+Shift+ArrowLeft", "end-earlier"], ["Alt+[", "start-now"], ["F1", "help"]]


# -- cue ids, changes.js and per-cue undo (issue #15) ----------------------------------------------------------


def _ided(*cues: tuple[str, int, int, str]) -> list[dict[str, Any]]:
    return [c(start, end, text) | {"id": cue_id} for cue_id, start, end, text in cues]


IDED = _ided(("n1", 0, 2000, "Welcome to our short film"), ("n2", 2500, 5000, "If something online worries you,"),
             ("n3", 6000, 8000, "You are not alone."))


def test_cue_ids_are_kept_through_edits_and_new_ones_made_for_new_cues(page: Page) -> None:
    found = run(page, f"""
      let list = cues.fromServer({json.dumps(IDED)});
      const split = cues.splitAt(list, 0, 7, {{}});
      const merged = cues.mergeWithNext(split, 0);
      const inserted = cues.insertAfter(merged, 1, 0).cues;
      return {{split: split.map((c) => c.id), merged: merged.map((c) => c.id), inserted: inserted.map((c) => c.id),
               edited: cues.setTime(cues.editText(list, 1, "x"), 1, "start_ms", 7000).cues.map((c) => c.id),
               fresh: [cues.newId(), cues.newId()]}};
    """)
    first, new, *rest = found["split"]
    assert (first, rest) == ("n1", ["n2", "n3"])  # the first part keeps the id, the second gets a new one
    assert found["merged"] == ["n1", "n2", "n3"]  # the merged cue keeps the first one's id
    assert found["inserted"][:2] == ["n1", "n2"] and found["inserted"][3:] == ["n3"]
    assert found["edited"] == ["n1", "n3", "n2"]  # retimed to the end: still n2
    made = [new, found["inserted"][2], *found["fresh"]]
    assert all(len(i) == 13 and i[0] == "e" and set(i[1:]) <= set("0123456789abcdef") for i in made), made
    assert len(set(made)) == 4


def test_a_save_sends_only_the_changed_cues_by_id(page: Page) -> None:
    now = [IDED[0] | {"text": "Hello"}, c(2200, 2400, "new") | {"id": "e1"}, IDED[2]]  # n2 deleted, e1 added
    assert call(page, "changes.js", "changesFrom", IDED, now) == [
        {"id": "n1", "cue": c(0, 2000, "Hello")}, {"id": "e1", "cue": c(2200, 2400, "new")}, {"id": "n2", "cue": None}]
    assert call(page, "changes.js", "changesFrom", IDED, [dict(x) for x in IDED]) == []
    assert call(page, "changes.js", "changedIds", IDED, now) == ["n1", "e1", "n2"]
    # put: in place when the times stay, at its time when they change or it is new; null removes.
    assert [x["id"] for x in call(page, "changes.js", "put", IDED, "n1", IDED[0] | {"start_ms": 7000,
                                                                                   "end_ms": 7500})] == [
        "n2", "n3", "n1"]
    assert [x["id"] for x in call(page, "changes.js", "put", IDED, "e9", c(2100, 2200, "x") | {"id": "e9"})] == [
        "n1", "e9", "n2", "n3"]
    assert call(page, "changes.js", "put", IDED, "n2", None) == [IDED[0], IDED[2]]
    assert call(page, "changes.js", "replay", IDED, call(page, "changes.js", "patchOf", IDED, now)) == [
        now[0], now[1], now[2]]
    # reconcile: a cue that came back the same is the old object (the view leaves its row alone).
    assert run(page, f"""
      const changes = await import("/editor/changes.js");
      const old = cues.fromServer({json.dumps(IDED)});
      const next = changes.reconcile(old, cues.fromServer({json.dumps([IDED[0], IDED[1] | {"text": "x"}])}));
      return [next[0] === old[0], next[1] === old[1], next[1].text];
    """) == [True, False, "x"]


def test_undo_leaves_a_caption_someone_else_changed_and_says_whose_change_kept_it(page: Page) -> None:
    result = run(page, f"""
      const changes = await import("/editor/changes.js");
      const base = cues.fromServer({json.dumps(IDED)});
      // Bob edits caption 3, then caption 1; Ann's save to caption 2 merges in.
      let mine = cues.editText(base, 2, "Bob's fix.");
      let h = history.record(history.empty(), base, mine, {{}});
      const later = cues.editText(mine, 0, "Bob again");
      h = history.record(h, mine, later, {{}});
      const merged = changes.put(later, "n2", {{...later[1], text: "Ann's fix,"}});
      h = history.supersede(h, ["n2"], {{author: "Ann", revision: 4}});
      const one = history.undo(h, merged);
      const two = history.undo(one.history, one.cues);
      const three = history.undo(two.history, two.cues);
      // A step over a caption Ann changed since: marked (supersede), or found changed at undo time.
      const over = history.record(history.empty(), base, cues.editText(base, 1, "Bob's"), {{}});
      const marked = history.undo(history.supersede(over, ["n2"], {{author: "Ann", revision: 4}}),
                                  cues.editText(base, 1, "Ann's"));
      const changedSince = history.undo(over, cues.editText(base, 1, "Ann's"));
      return {{texts: [one.cues.map((c) => c.text), two.cues.map((c) => c.text)], three,
               marked: [marked.cues[1].text, marked.skipped.map((s) => [s.id, s.by]), marked.applied.length,
                        history.canRedo(marked.history)],
               changedSince: [changedSince.cues[1].text, changedSince.skipped.map((s) => s.id)]}};
    """)
    assert result["texts"] == [["Welcome to our short film", "Ann's fix,", "Bob's fix."],
                               ["Welcome to our short film", "Ann's fix,", "You are not alone."]]
    assert result["three"] is None  # nothing more to undo, and Ann's fix is still there
    assert result["marked"] == ["Ann's", [["n2", {"author": "Ann", "revision": 4}]], 0, False]
    assert result["changedSince"] == ["Ann's", ["n2"]]
    # What the editor says about it, in plain words.
    skipped = {"applied": [], "skipped": [{"id": "n2", "by": {"author": "Ann", "revision": 4}}]}
    assert call(page, "history.js", "skippedText", "undo", skipped, IDED) == (
        "Not undone: caption 2 (Ann changed it in revision 4): their change stays")
    partly = {"applied": [{"id": "n1"}], "skipped": [{"id": "n3"}]}
    assert call(page, "history.js", "skippedText", "redo", partly, IDED) == (
        "Redone, except caption 3 (changed since by someone else): their change stays")


def test_undo_of_a_split_and_a_merge_puts_the_cues_back_by_id(page: Page) -> None:
    result = run(page, f"""
      const base = cues.fromServer({json.dumps(IDED)});
      const split = cues.splitAt(base, 1, 20, {{id: "e2"}});
      let h = history.record(history.empty(), base, split, {{before: "n2", after: "e2"}});
      const merged = cues.mergeWithNext(split, 0);
      h = history.record(h, split, merged, {{before: "n1", after: "n1"}});
      const one = history.undo(h, merged);
      const two = history.undo(one.history, one.cues);
      const again = history.redo(two.history, two.cues);
      return [one.cues.map((c) => c.id), one.selected, two.cues.map((c) => [c.id, c.text]), two.selected,
              again.cues.map((c) => c.id)];
    """)
    assert result == [["n1", "n2", "e2", "n3"], "n1",
                      [[x["id"], x["text"]] for x in IDED], "n2", ["n1", "n2", "e2", "n3"]]


def test_merge_messages_name_the_revisions_and_the_captions(page: Page) -> None:
    assert call(page, "saving.js", "revisionsText", [{"number": 4, "author": "Ann"}]) == "Ann's revision 4"
    assert call(page, "saving.js", "revisionsText", [{"number": 4, "author": "Ann"}, {"number": 5, "author": "Bo"},
                                                     {"number": 6, "author": "Cy"}]) == (
        "Ann's revision 4, Bo's revision 5 and Cy's revision 6")
    assert call(page, "saving.js", "captionsText", ["n3"], IDED) == "caption 3"
    assert call(page, "saving.js", "captionsText", ["n3", "n1", "gone"], IDED) == (
        "captions 1 and 3, a caption they deleted")
    assert call(page, "revisions.js", "whose", {"changed_by": "Ann", "changed_in": 4}) == "Ann's change in revision 4"


def test_word_differences_between_two_texts(page: Page) -> None:
    assert call(page, "revisions.js", "wordDiff", "I'll line is here\nfor you.", "Childline is here\nfor you.") == [
        {"kind": "removed", "text": "I'll line "}, {"kind": "added", "text": "Childline "},
        {"kind": "same", "text": "is here\nfor you."}]
    assert call(page, "revisions.js", "wordDiff", "a b c", "a c d") == [
        {"kind": "same", "text": "a "}, {"kind": "removed", "text": "b "}, {"kind": "same", "text": "c "},
        {"kind": "added", "text": "d"}]
    assert call(page, "revisions.js", "wordDiff", "", "new") == [{"kind": "added", "text": "new"}]
    assert call(page, "revisions.js", "wordDiff", "same", "same") == [{"kind": "same", "text": "same"}]
