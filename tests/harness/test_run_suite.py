"""The suite's summary cannot call a stage green that ran less than it claims (issue 21.6)."""

from __future__ import annotations

import textwrap
import time

import pytest

from tests import run_suite
from tests.run_suite import STAGES, Result, Stage, read_report, summary

from .conftest import ROOT

NBVAL_FORK = next(s for s in STAGES if s.name == "nbval-fork")
BROWSER = next(s for s in STAGES if s.name == "browser")
UNIT = next(s for s in STAGES if s.name == "unit-fork-1of2")


def test_every_stage_has_its_own_name_and_exists():
    names = [s.name for s in STAGES]
    assert len(names) == len(set(names))
    for stage in STAGES:
        assert all((ROOT / p).exists() for p in stage.paths), stage.name
        assert stage.method in (None, *run_suite.METHODS), stage.name
        assert bool(stage.nbval) <= stage.runs_notebooks, stage.name


def test_the_matrix_of_issue_14_and_19_is_in_the_table():
    strict = {s.method for s in STAGES if s.nbval == run_suite.NBVAL_STRICT and not s.oldest}
    assert strict == {"fork", "spawn", "forkserver"}
    oldest = [s for s in STAGES if s.oldest]
    assert {bool(s.nbval) for s in oldest} == {True, False}  # notebooks and unit tests
    assert all("--nbval-lax" in s.nbval and "--run-all-twice" in s.args for s in oldest if s.nbval)
    macos = next(s for s in STAGES if dict(s.env).get("IPC_IMITATE_MACOS") == "1")
    assert macos.method == "spawn" and "--nbval-lax" in macos.nbval


def test_a_stage_that_runs_alone_shares_the_machine_with_no_other(tmp_path):
    alone = [s for s in STAGES if s.alone]
    assert [s.name for s in alone] == ["honesty"] and alone[0].paths == ("tests/honesty",)
    spans: dict[str, tuple[float, float]] = {}

    class Recorder(run_suite.Runner):
        def run(self, cmd, result):
            start = time.monotonic()
            time.sleep(0.05)
            spans[result.stage.name] = (start, time.monotonic())

    stages = [Stage(f"s{i}", "", alone=i in (1, 3)) for i in range(6)]
    Recorder(tmp_path, jobs=4, live=False).run_stages([([], Result(s)) for s in stages])
    assert set(spans) == {s.name for s in stages}
    for lone in ("s1", "s3"):
        others = [span for name, span in spans.items() if name != lone]
        assert all(end <= spans[lone][0] or start >= spans[lone][1] for start, end in others)
    assert max(spans[n][1] for n in ("s1", "s3")) <= min(spans[n][0] for n in ("s0", "s2", "s4"))


def ok(stage: Stage, **counts) -> Result:
    return Result(stage, code=0, **counts)


@pytest.mark.parametrize(
    "result, why",
    [
        (ok(BROWSER, skipped=7, skip_reasons=["Chromium not found"]), "Chromium not found"),
        (ok(UNIT), "no test ran"),
        (Result(NBVAL_FORK, missing="no notebook matches"), "no notebook matches"),
        (ok(BROWSER, passed=3), "ran no notebook"),
    ],
)
def test_a_stage_that_ran_less_fails_the_suite_unless_allowed(result, why, capsys):
    assert not summary([result], [], set(), 1.0)
    out = capsys.readouterr().out
    assert f"RAN LESS  {result.stage.name}: " in out and why in out
    assert f"ALLOW_SKIP={result.stage.name}" in out
    assert summary([result], [], {result.stage.name}, 1.0)
    assert "(allowed)" in capsys.readouterr().out
    assert summary([result], [], {"all"}, 1.0)


def test_a_green_stage_names_its_python_method_and_notebooks(capsys):
    facts = [{"notebook": "04_manager.ipynb", "start method": "fork", "Python": "3.13"}]
    result = ok(NBVAL_FORK, passed=40, facts=facts)
    assert summary([result], [UNIT], set(), 1.0)
    out = capsys.readouterr().out
    assert "nbval-fork           ok" in out and "3.13    fork" in out and "  04" in out
    assert "left out on request: unit-fork-1of2" in out


def test_a_stage_whose_kernels_ran_another_method_fails(capsys):
    facts = [{"where": "04_manager.ipynb", "notebook": "04_manager.ipynb", "start method": "fork"}]
    result = Result(run_suite.nbval_stage("spawn"), code=0, passed=40, facts=facts)
    assert not summary([result], [], set(), 1.0)
    assert "claims spawn but 04_manager.ipynb: start method fork" in capsys.readouterr().out


def test_skipped_tests_are_listed_with_their_reason(capsys):
    assert summary([ok(UNIT, passed=5, skipped=1, skip_reasons=["needs 3.14"])], [], set(), 1.0)
    assert "skipped tests in unit-fork-1of2: 1 (needs 3.14)" in capsys.readouterr().out


def test_the_report_gives_counts_reasons_and_notebooks(tmp_path):
    report = tmp_path / "r.xml"
    report.write_text(
        textwrap.dedent(
            """\
            <testsuites><testsuite>
              <testcase classname="notebooks.04_manager.ipynb" name="Cell 0"/>
              <testcase classname="tests.interrupt" name="test_interrupting_cells[01_queue]">
                <failure message="boom"/></testcase>
              <testcase classname="tests.browser" name="test_notebook[02_pipe]">
                <skipped message="Chromium not found"/></testcase>
            </testsuite></testsuites>
            """
        ),
        encoding="utf-8",
    )
    result = Result(BROWSER)
    read_report(report, result)
    assert (result.passed, result.failed, result.skipped) == (1, 1, 1)
    assert result.skip_reasons == ["Chromium not found"]
    assert result.notebooks == {"04_manager", "01_queue"}  # a skipped test ran no notebook


def test_a_pattern_that_matches_no_notebook_fails_at_once(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(run_suite, "REPORTS_ROOT", tmp_path)
    monkeypatch.delenv("ALLOW_SKIP", raising=False)
    assert run_suite.main(["--stages", "nbval-fork", "--notebooks", "no-such-notebook"]) == 1
    out = capsys.readouterr().out
    assert (
        "RAN LESS  nbval-fork: not run: no notebook matches --notebooks 'no-such-notebook'" in out
    )
    monkeypatch.setenv("ALLOW_SKIP", "nbval-fork")
    assert run_suite.main(["--stages", "nbval-fork", "--notebooks", "no-such-notebook"]) == 0


def test_stages_may_be_allowed_by_pattern():
    assert run_suite.is_allowed("oldest-unit-1of2", {"oldest-*"})
    assert run_suite.is_allowed("browser", {"all"})
    assert not run_suite.is_allowed("browser", {"oldest-*", "site"})
