"""The command line: help that explains, errors a planner can act on."""

from __future__ import annotations

import subprocess
import sys

import pytest

from cli.main import build_parser, main


@pytest.mark.parametrize(
    "argv,expected",
    [
        (["plan", "--help"], ["--range-margin-km", "km", "--drive-time-min", "minutes", "(default: 50.0)", "GB/T 50966-2024"]),
        (["network", "info", "--help"], ["--json", "--boundary", "441500"]),
        (["network", "export", "--help"], ["roads.geojson", "service_areas.geojson", "WGS84"]),
        (["network", "import", "--help"], ["--boundary", ".osm.pbf"]),
        (["fleet", "indicators", "--help"], ["--year", "--county", "fractions between 0 and 1"]),
        (["fleet", "ingest", "--help"], ["GBK", "quarantined"]),
        (["fleet", "report", "--help"], ["report.html"]),
        (["serve", "--help"], ["--port", "(default: 8000)", "EVPLAN_DATA_DIR"]),
    ],
)
def test_help_explains_options_with_units_and_defaults(argv, expected, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    for phrase in expected:
        assert phrase in text, phrase


def test_every_documented_subcommand_exists() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert set(sub.choices) == {"plan", "network", "fleet", "sweep", "province", "traffic", "scenario", "serve"}


def test_python_dash_m_cli_is_the_same_cli() -> None:
    done = subprocess.run([sys.executable, "-m", "cli", "--version"], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.startswith("evplan ")


def test_bad_option_values_are_refused_with_a_reason(tmp_path, capsys) -> None:
    for flag in ("--stage-years", "--stages"):  # the earlier spelling still works
        assert main(["plan", "--out", str(tmp_path), flag, "2030,2025"]) == 2
        err = capsys.readouterr().err
        assert "evplan: error: --stage-years: stage years must increase" in err and "Traceback" not in err
    assert not any(tmp_path.iterdir())  # refused before any work
    with pytest.raises(SystemExit):
        main(["network", "info", "--bbox", "116,23,115,22"])
    assert "west < east" in capsys.readouterr().err


def test_missing_osm_file_is_a_clear_error(tmp_path, capsys) -> None:
    missing = tmp_path / "nowhere.osm"
    assert main(["network", "info", "--osm", str(missing)]) == 2
    err = capsys.readouterr().err
    assert str(missing) in err and "evplan: error" in err


def test_an_unwritable_output_directory_is_a_clear_error(tmp_path, capsys) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the output directory should be\n")
    assert main(["plan", "--out", str(blocker / "out"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "evplan: error:" in err and str(blocker / "out") in err and "Traceback" not in err
