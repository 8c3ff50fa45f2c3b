"""The alert rules and the Grafana dashboard in monitoring/: promtool accepts and unit-tests
the rules, the dashboard's queries are valid PromQL, and both use only metrics and labels the
code declares (so never a phone number as a label).

promtool comes with Debian's `prometheus` package (tools/bootstrap installs it); without it
these tests fail, they are not skipped.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from prometheus_client.metrics import MetricWrapperBase

from blocklist import metrics

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "monitoring" / "prometheus" / "callscreen-rules.yml"
RULE_TESTS = ROOT / "monitoring" / "prometheus" / "callscreen-rules.test.yml"
DASHBOARD = ROOT / "monitoring" / "grafana" / "callscreen.json"
RUNBOOK = ROOT / "docs" / "operations.md"

# The high-availability signals the rules and the dashboard must show.
HA_METRICS = ("callscreen_read_endpoint", "callscreen_read_endpoint_switches_total",
              "callscreen_replica_lag_seconds", "callscreen_failovers_followed_total",
              "callscreen_primary_reachable")
# Labels Prometheus itself adds (target labels) or histograms carry.
PROMETHEUS_LABELS = frozenset({"instance", "job", "le"})
METRIC_NAME = re.compile(r"\bcallscreen_[a-z0-9_]+")
GROUPING = re.compile(r"\b(?:by|without)\s*\(([^)]*)\)")
MATCHER = re.compile(r"[{,]\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)")


def promtool(*args: str | Path) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("promtool")
    if binary is None:
        pytest.fail("promtool is not on PATH: tools/bootstrap installs Debian's prometheus package")
    return subprocess.run([binary, *map(str, args)], capture_output=True, text=True,
                          timeout=60, check=False)


def declared() -> dict[str, frozenset[str]]:
    """Every sample name blocklist.metrics exports, with its label names."""
    names: dict[str, frozenset[str]] = {}
    for metric in vars(metrics).values():
        if not isinstance(metric, MetricWrapperBase):
            continue
        # prometheus_client keeps the base name and labels in attributes it does not
        # document; describe() would give the name without the labels.
        base, labels = metric._name, frozenset(metric._labelnames)
        kind = metric._type
        if kind == "counter":
            names[f"{base}_total"] = labels
        elif kind == "histogram":
            names[f"{base}_bucket"] = labels | {"le"}
            names[f"{base}_sum"] = names[f"{base}_count"] = labels
        elif kind == "summary":
            names[f"{base}_sum"] = names[f"{base}_count"] = labels
        else:
            names[base] = labels
    return names


def dashboard_queries() -> list[tuple[str, str]]:
    """(panel title, PromQL) of every query in the dashboard."""
    board = json.loads(DASHBOARD.read_text())
    return [(panel["title"], target["expr"])
            for panel in board["panels"] for target in panel.get("targets", [])]


def rule_expressions() -> list[str]:
    """The `expr` of every rule (YAML block scalars: the indented lines after `expr: |`)."""
    expressions: list[str] = []
    lines = RULES.read_text().splitlines()
    for i, line in enumerate(lines):
        if line.strip() == "expr: |":
            indent = len(line) - len(line.lstrip()) + 2
            body = []
            for follow in lines[i + 1:]:
                if follow.strip() and len(follow) - len(follow.lstrip()) < indent:
                    break
                body.append(follow.strip())
            expressions.append(" ".join(body))
    return expressions


def labels_used(expression: str) -> set[str]:
    used: set[str] = set()
    for group in GROUPING.findall(expression):
        used |= {label.strip() for label in group.split(",") if label.strip()}
    used |= set(MATCHER.findall(expression))
    return used


def test_promtool_accepts_the_rules() -> None:
    """`promtool check rules` finds the rules file valid."""
    done = promtool("check", "rules", RULES)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


def test_rule_unit_tests_pass() -> None:
    """`promtool test rules` passes: every alert fires, and stays quiet, when its test says."""
    done = promtool("test", "rules", RULE_TESTS)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


def test_rule_unit_tests_catch_a_broken_rule(tmp_path: Path) -> None:
    """The unit tests fail when a rule stops firing (here: primary unreachable never fires)."""
    rules = RULES.read_text()
    broken = rules.replace("min by (instance) (callscreen_primary_reachable) == 0",
                           "min by (instance) (callscreen_primary_reachable) == 2")
    assert broken != rules
    (tmp_path / RULES.name).write_text(broken)
    (tmp_path / RULE_TESTS.name).write_text(RULE_TESTS.read_text())
    done = promtool("test", "rules", tmp_path / RULE_TESTS.name)
    assert done.returncode != 0
    assert "CallscreenPrimaryUnreachable" in done.stdout + done.stderr


def test_every_alert_is_tested_firing_and_has_a_runbook() -> None:
    """Each alert has a unit test in which it fires, and a section in docs/operations.md."""
    alerts = re.findall(r"- alert: (\w+)", RULES.read_text())
    fired = set(re.findall(r"alertname: (\w+)\s+exp_alerts:\s+- exp_labels",
                           RULE_TESTS.read_text()))
    runbook = RUNBOOK.read_text()
    assert len(alerts) >= 6
    assert [a for a in alerts if a not in fired] == []
    assert [a for a in alerts if f"### {a}\n" not in runbook] == []
    assert re.findall(r'runbook: "docs/operations.md#(\w+)"', RULES.read_text()) == [
        a.lower() for a in alerts]


def test_alerts_cover_what_operators_must_know() -> None:
    """Rules watch feed staleness, fail-open, no calls, endpoint switches, lag and the primary."""
    rules = RULES.read_text()
    for metric in ("callscreen_feed_last_success_timestamp_seconds", "callscreen_fail_open_total",
                   "callscreen_calls_total", "callscreen_read_endpoint_switches_total",
                   "callscreen_replica_lag_seconds", "callscreen_primary_reachable"):
        assert f"{metric}" in rules, metric


@pytest.mark.parametrize("source", [RULES, RULE_TESTS, DASHBOARD], ids=lambda p: p.name)
def test_only_declared_metrics_are_used(source: Path) -> None:
    """Every callscreen_* name in the rules, their tests and the dashboard is a declared metric."""
    used = set(METRIC_NAME.findall(source.read_text()))
    assert used, f"{source.name} names no metric"
    assert sorted(used - declared().keys()) == []


def test_only_declared_labels_are_used() -> None:
    """Rules and dashboard group and match only by labels the metrics have (no number label)."""
    names = declared()
    allowed = PROMETHEUS_LABELS.union(*names.values())
    for expression in [*rule_expressions(), *(expr for _, expr in dashboard_queries())]:
        assert labels_used(expression) <= allowed, expression
        # each matcher belongs to the metric it is written on
        for metric, matchers in re.findall(r"(callscreen_[a-z0-9_]+)\{([^}]*)\}", expression):
            for label in re.findall(r"([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)", matchers):
                assert label in names[metric] | PROMETHEUS_LABELS, (metric, label)


def test_declared_metrics_have_no_number_label() -> None:
    """No metric the code declares has a label that could carry a phone number."""
    for name, labels in declared().items():
        assert not {label for label in labels
                    if re.search(r"number|caller|callee|subscriber|exten|msisdn", label)}, name


def test_dashboard_queries_are_valid_promql(tmp_path: Path) -> None:
    """Every dashboard query parses as PromQL (promtool checks them as recording rules)."""
    queries = dashboard_queries()
    assert len(queries) >= 15
    grafana = {"$__rate_interval": "5m", "$__range": "6h", "$instance": ".*"}
    rules = []
    for i, (_, expr) in enumerate(queries):
        for variable, value in grafana.items():
            expr = expr.replace(variable, value)
        assert "$" not in expr, expr
        rules.append({"record": f"dashboard:query_{i}", "expr": expr})
    checked = tmp_path / "dashboard-queries.yml"
    # JSON is YAML: promtool reads it as a rules file.
    checked.write_text(json.dumps({"groups": [{"name": "dashboard", "rules": rules}]}))
    done = promtool("check", "rules", checked)
    assert done.returncode == 0, done.stdout + done.stderr


def test_dashboard_shows_the_high_availability_signals() -> None:
    """The dashboard has panels on read endpoints, switches, lag, the primary and failovers."""
    exprs = " ".join(expr for _, expr in dashboard_queries())
    for metric in HA_METRICS:
        assert metric in exprs, metric
    for metric in ("callscreen_calls_total", "callscreen_fail_open_total",
                   "callscreen_feed_last_success_timestamp_seconds"):
        assert metric in exprs, metric
