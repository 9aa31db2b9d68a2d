"""check-config on the `alerts:` section: a rule that would alert on every ticket, unknown recipients and owners,
and the old `sla.notify_on_p0` key read as `alerts.p0_created.to` with a warning."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main
from bot.config import ConfigError, load_config

PEOPLE = """people:
  - {key: lin, name: 林芳, roles: [lead], department: support}
departments:
  - {key: support, name: {en: Support}}
product_modules: [payments]
"""


@pytest.mark.parametrize(("alerts", "key", "problem"), [
    ("repeat_customer: {min_tickets: 1}", "alerts.repeat_customer.min_tickets",
     "1 would alert on every ticket a customer opens; use 2 or more"),
    ("volume_growth: {owners: {payments: lin}, growth_pct: 0}", "alerts.volume_growth.growth_pct",
     "0 % would alert on every week that does not shrink"),
    ("backlog: {open_above: 0}", "alerts.backlog.open_above", "0 would alert whenever a single ticket is open"),
    ("backlog: {unassigned_older_than: 0m}", "alerts.backlog.unassigned_older_than",
     "would alert on every unassigned ticket at once"),
    ("backlog: {to: [lead]}", "alerts.backlog", "set open_above, unassigned_older_than or both"),
    ("low_csat: {max_score: 5}", "alerts.low_csat.max_score", "would alert on every rating"),
    ("p0_created: {to: [director]}", "alerts.p0_created.to",
     "unknown person or role 'director' (a person's key, or one of: lead, department_head, assignee)"),
    ("repeat_customer: {otherwise: [nobody]}", "alerts.repeat_customer.otherwise", "unknown person or role 'nobody'"),
    ("volume_growth: {owners: {checkout: lin}}", "alerts.volume_growth.owners.checkout",
     "unknown product module 'checkout'"),
    ("volume_growth: {owners: {payments: ghost}}", "alerts.volume_growth.owners.payments", "unknown person 'ghost'"),
    ("check_every: 0m", "alerts.check_every", "without pause"),
    ("low_csat: {threshold: 2}", "alerts.low_csat.threshold", "Extra inputs are not permitted"),
])
def test_a_bad_rule_is_named_with_why(tmp_path: Path, capsys, alerts, key, problem):
    path = tmp_path / "bad.yaml"
    path.write_text(f"{PEOPLE}alerts:\n  {alerts}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert key in str(info.value) and problem in str(info.value)
    assert main(["check-config", "--config", str(path)]) == 2


def test_the_old_p0_key_is_read_with_a_warning(tmp_path: Path, capsys):
    path = tmp_path / "old.yaml"
    path.write_text(f"{PEOPLE}sla: {{notify_on_p0: [lin]}}\n", encoding="utf-8")
    assert main(["check-config", "--config", str(path)]) == 0
    out = capsys.readouterr().out
    assert "alert rules: p0_created" in out
    assert "warning: sla.notify_on_p0 is deprecated: it is read as alerts.p0_created.to ['lin']; move it there" in out
    path.write_text(f"{PEOPLE}sla: {{notify_on_p0: [lin]}}\nalerts: {{p0_created: {{to: [department_head]}}}}\n",
                    encoding="utf-8")
    with pytest.raises(ConfigError, match="keep only alerts.p0_created.to"):
        load_config(path)
