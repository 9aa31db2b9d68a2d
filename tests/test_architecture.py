"""The import directions of DESIGN.md, enforced with `ast` so they stay true."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "handlers", "storage", "schedules", "cards")
CORE = {
    "bot.events", "bot.tickets", "bot.sla", "bot.business_hours", "bot.routing", "bot.directory",
    "bot.ports", "bot.permissions", "bot.config", "bot.config_types", "bot.config_sla", "bot.config_requests",
    "bot.settings", "bot.deadlines", "bot.requests", "bot.reasons", "bot.i18n", "bot.subjects", "bot.metrics", "bot.text",
    "bot.kb", "bot.kb_config",
    "bot.attachments",
}
CORE |= {"bot.kpis", "bot.digest_config"}  # the managers' figures (definitions, periods) and the digests' config
CORE |= {"bot.csat"}  # CSAT surveys: what a survey is, its scales, its config
CORE |= {"bot.alerts", "bot.config_alerts"}  # alerts: what one is, its once-only key, recipients, weeks; the rules
CORE |= {"bot.kb_card"}  # articles suggested on a ticket and offered to its customer, and their ports
PLATFORM_SDKS = ("slack_bolt", "slack_sdk", "wechatpy", "dingtalk_stream", "alibabacloud_dingtalk", "aiohttp")
# Third-party packages the core may lean on: validation, config parsing, holiday data, message catalogs.
# (and the metrics client: counting is not a platform, and every room may count).
# The one module of bot/platforms/ that every platform may import (token cache, pacer, error codes, parts): what
# several platforms need lives there, since no platform imports another.
SHARED_PLATFORM_MODULE = "bot.platforms.common"
CORE_THIRD_PARTY = {"pydantic", "pydantic_settings", "yaml", "holidays", "babel", "prometheus_client"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            found[_module_name(path)] = path
    return found


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _is_in(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def _is_core(module: str) -> bool:
    return any(module == c or module.startswith(c + ".") for c in CORE)


def _top(name: str) -> str:
    return name.split(".")[0]


def _violations(module: str, imported: set[str]) -> list[str]:
    problems = []
    for name in imported:
        top = _top(name)
        project = top in PACKAGES
        if name == "bot.app" or name.startswith("bot.app."):
            if module != "bot.cli":
                problems.append(f"{module} imports the composition root {name}")
        if _is_core(module):
            # The ports speak of the neutral card model (a messenger sends Cards); nothing else of cards/.
            if project and not _is_core(name) and not (_is_in(module, "bot.ports") and name == "cards.model"):
                problems.append(f"core module {module} imports {name}")
            if not project and top not in sys.stdlib_module_names and top not in CORE_THIRD_PARTY:
                problems.append(f"core module {module} imports third-party {name}")
        elif module.startswith("cards"):
            if project and not (_is_core(name) or top == "cards"):
                problems.append(f"{module} imports {name}")
        elif module.startswith("storage"):
            if project and not (_is_core(name) or top == "storage"):
                problems.append(f"{module} imports {name}")
        elif module.startswith(("handlers", "schedules")):
            if project and not (_is_core(name) or top in ("cards", "handlers", "schedules")):
                problems.append(f"{module} imports {name}")
        elif module.startswith("bot.platforms."):
            own = module.split(".")[2].split("_")[0]  # slack_modal, console_static: the same platform
            if (name.startswith("bot.platforms.") and name.split(".")[2].split("_")[0] != own
                    and name != SHARED_PLATFORM_MODULE):
                problems.append(f"platform {module} imports another platform {name}")
            if module == SHARED_PLATFORM_MODULE and project and (top != "bot" or name.startswith("bot.platforms.")):
                problems.append(f"the shared platform module imports {name}: it knows no platform")
            # What an adapter hands the core (the Inbox) is a port: platforms know no handler.
            if project and top in ("storage", "schedules", "handlers"):
                problems.append(f"platform {module} imports {name}")
            if top == "cards" and name not in ("cards", "cards.model", "cards.actions", f"cards.{own}"):
                problems.append(f"platform {module} imports another renderer {name}")
        if top in PLATFORM_SDKS and not (module.startswith("bot.platforms") or module == "bot.app"):
            problems.append(f"{module} imports platform SDK {name}")
        if top in ("sqlalchemy", "alembic") and not (module.startswith("storage") or module == "bot.app"):
            problems.append(f"{module} imports {name}; only storage/ knows SQL")
    return problems


# Who may name the messenger port: the dispatcher (which sends through it), the platforms (which implement it) and
# the composition root (which hands the platforms' messengers to the dispatcher).
MESSENGER_USERS = ("schedules.outbox", "schedules.sending", "bot.app")


def _named_imports(path: Path) -> set[tuple[str, str]]:
    """(module, name) of every `from module import name`."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {(node.module, alias.name) for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 for alias in node.names}


def _attributes(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}


def _messenger_violations(module: str, named: set[tuple[str, str]]) -> list[str]:
    problems = []
    in_platforms = module.startswith("bot.platforms")
    for source, name in named:
        if (source, name) == ("bot.ports", "Messenger") and not (in_platforms or module in MESSENGER_USERS):
            problems.append(f"{module} names the messenger port; only the dispatcher and the platforms do")
        if source.startswith("bot.platforms") and name.endswith("Messenger") and not in_platforms:
            problems.append(f"{module} names the messenger {name} of {source}; only bot/platforms does")
    return problems


def _platform_reaches_into_the_core(module: str, attributes: set[str]) -> list[str]:
    # An adapter is handed what it needs (the router's deliver, a shared-state port); `router.ctx.store` is not it.
    if module.startswith("bot.platforms") and "ctx" in attributes:
        return [f"platform {module} reaches into the core's context (router.ctx)"]
    return []


def test_only_the_dispatcher_and_the_platforms_name_the_messengers():
    problems = [p for module, path in _modules().items() for p in _messenger_violations(module, _named_imports(path))]
    assert problems == []


def test_no_platform_reaches_into_the_core_or_the_store():
    modules = {m: path for m, path in _modules().items() if m.startswith("bot.platforms.")}
    assert "bot.platforms.wecom_aibot" in modules
    problems = [p for module, path in modules.items() for p in _platform_reaches_into_the_core(module, _attributes(path))]
    problems += [p for module, path in modules.items() for p in _violations(module, _imports(path))
                 if "storage" in p or "sqlalchemy" in p]
    assert problems == []


@pytest.mark.parametrize(
    ("module", "named"),
    [
        ("handlers.lifecycle", {("bot.ports", "Messenger")}),
        ("schedules.sla", {("bot.platforms.slack_messenger", "SlackMessenger")}),
        ("schedules.outbox", {("bot.platforms.wecom_messenger", "WeComMessenger")}),
    ],
)
def test_the_checker_catches_a_messenger_named_outside_its_rooms(module, named):
    assert _messenger_violations(module, named)


def test_every_platform_may_import_the_one_shared_module():
    assert _violations("bot.platforms.wecom_api", {SHARED_PLATFORM_MODULE}) == []
    assert _violations("bot.platforms.dingtalk_messenger", {SHARED_PLATFORM_MODULE}) == []
    assert _violations("bot.platforms.slack", {"bot.platforms.commons"})  # that one module, no other


def test_the_checker_catches_a_platform_reaching_into_the_store():
    assert _platform_reaches_into_the_core("bot.platforms.wecom_aibot", {"ctx", "store"})
    assert _violations("bot.platforms.slack", {"storage.shared_state"})
    assert _violations("bot.platforms.wecom", {"sqlalchemy"})


def test_every_module_respects_the_import_directions():
    modules = _modules()
    assert "bot.tickets" in modules and "handlers.router" in modules
    problems = [p for module, path in modules.items() for p in _violations(module, _imports(path))]
    assert problems == []


@pytest.mark.parametrize(
    ("module", "imported"),
    [
        ("bot.tickets", {"storage.tables"}),
        ("handlers.lifecycle", {"sqlalchemy"}),
        ("handlers.router", {"bot.platforms.slack"}),
        ("cards.ticket", {"handlers.notify"}),
        ("storage.store", {"aiohttp"}),
        ("bot.platforms.slack", {"bot.platforms.wecom"}),
        ("bot.platforms.dingtalk", {"bot.platforms.wecom_api"}),
        ("bot.platforms.common", {"bot.platforms.wecom_api"}),
        ("bot.platforms.common", {"cards.wecom"}),
        ("handlers.router", {"bot.app"}),
        ("bot.routing", {"requests"}),
    ],
)
def test_the_checker_catches_a_wrong_import(module, imported):
    assert _violations(module, imported)
