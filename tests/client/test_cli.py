"""The command line's own errors (exit 2, nothing sent) and its parts that need no server."""

import subprocess
import sys

import pytest
from referrals_push import cli
from referrals_push.push import EXIT_USAGE, Pusher
from referrals_push.records import AGENTS

TARGET = ["--base-url", "http://127.0.0.1:9", "--brand", "1", "--connection", "c"]


def usage_error(argv, capsys) -> str:
    with pytest.raises(SystemExit) as stop:
        cli.main(argv)
    assert stop.value.code == EXIT_USAGE
    return capsys.readouterr().err


def test_the_token_comes_from_the_environment(monkeypatch, capsys):
    monkeypatch.delenv("REFERRALS_API_TOKEN", raising=False)
    err = usage_error(["referrals", "x.csv", *TARGET], capsys)
    assert "set the API token in the environment variable REFERRALS_API_TOKEN" in err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--map", "sessions"], "expected FIELD=COLUMN"),
        (["--batch-rows", "10001"], "--batch-rows must be between 1 and 10000"),
        (["--batch-bytes", "10"], "--batch-bytes must be at least 1024"),
        (["--preset", "matomo"], "invalid choice: 'matomo'"),
        (["--base-url", "referrals.example.com"], "--base-url must be an http:// or https:// URL"),
        (
            ["--base-url", "ftp://referrals.example.com"],
            "--base-url must be an http:// or https://",
        ),
        (["--base-url", "https://"], "--base-url must be an http:// or https:// URL"),
        (["--batch-id", "x" * 129], "--batch-id must be at most 128 characters"),
        (["--delimiter", ";;"], "--delimiter must be one character (or \\t, tab)"),
        (["--timeout", "0"], "--timeout must be more than 0 seconds"),
        (["--retry-base", "-1"], "--retry-base and --retry-cap must be 0 or more seconds"),
        (["--retry-cap", "-1"], "--retry-base and --retry-cap must be 0 or more seconds"),
        (["--max-attempts", "0"], "--max-attempts must be at least 1"),
    ],
)
def test_bad_options(monkeypatch, capsys, extra, message):
    monkeypatch.setenv("REFERRALS_API_TOKEN", "t")
    assert message in usage_error(["referrals", "x.csv", *TARGET, *extra], capsys)


def test_resume_needs_files(monkeypatch, capsys):
    monkeypatch.setenv("REFERRALS_API_TOKEN", "t")
    err = usage_error(["referrals", "-", *TARGET, "--resume", "s.state"], capsys)
    assert "stdin cannot be read again" in err


def test_agents_needs_a_log_format(monkeypatch, capsys):
    monkeypatch.setenv("REFERRALS_API_TOKEN", "t")
    err = usage_error(["agents", "access.log", *TARGET], capsys)
    assert "--log-format" in err


def test_agents_push_to_the_agent_traffic_endpoint():
    pusher = Pusher(
        base_url="https://referrals.example.com",
        brand=1234,
        connection="01JX2Y6E8H1AKQ8V0W7G4D9SXT",
        token="t",
        kind=AGENTS,
        dry_run=True,
    )
    assert pusher.url == (
        "https://referrals.example.com/v1/1234/agent-traffic/connections/"
        "01JX2Y6E8H1AKQ8V0W7G4D9SXT/events"
    )
    assert pusher.params == {"dry_run": "true"}
    assert pusher.headers["Content-Encoding"] == "gzip"
    pusher.http.close()


def test_help_documents_the_exit_codes(capsys):
    with pytest.raises(SystemExit):
        cli.main(["referrals", "--help"])
    out = capsys.readouterr().out
    assert "REFERRALS_API_TOKEN" in out
    assert "4 the server stayed unavailable" in out


def test_the_client_needs_no_django():
    """`pip install ./client` gives a package that runs without the service's code."""
    code = (
        "import sys, referrals_push, referrals_push.cli; "
        "sys.exit(int(any(m.split('.')[0] in {'django', 'referrals'} for m in sys.modules)))"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd="/", check=False, timeout=60)
    assert done.returncode == 0


def test_a_state_file_that_cannot_be_kept_is_a_usage_error(monkeypatch, capsys, tmp_path):
    """A --resume path in a directory that does not exist, or a directory: exit 2 with the
    reason before anything is sent, not an OSError traceback (exit 1, 'fix the data')."""
    monkeypatch.setenv("REFERRALS_API_TOKEN", "t")
    for state in (tmp_path / "missing" / "run.state", tmp_path):
        code = cli.main(["referrals", "x.csv", *TARGET, "--resume", str(state)])
        err = capsys.readouterr().err
        assert code == EXIT_USAGE
        assert f"referrals-push: error: {state}: cannot keep the state file" in err


@pytest.mark.parametrize("typed", ["\\t", "tab", "TAB", "\t"])
def test_a_tab_delimiter_as_a_shell_script_types_it(typed):
    args = cli.build_parser().parse_args(["referrals", "x.csv", *TARGET, "--delimiter", typed])
    assert cli.delimiter_option(args.delimiter) == "\t"


def test_date_is_for_logs(monkeypatch, capsys):
    monkeypatch.setenv("REFERRALS_API_TOKEN", "t")
    argv = ["agents", "rows.csv", *TARGET, "--log-format", "rows", "--date", "2026-05-20"]
    assert "--date is for logs" in usage_error(argv, capsys)
    argv = ["agents", "access.log", *TARGET, "--log-format", "nginx", "--date", "2026-02-30"]
    assert "--date must be a day, YYYY-MM-DD" in usage_error(argv, capsys)
