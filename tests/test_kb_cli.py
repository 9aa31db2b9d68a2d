"""`ticketbot kb import | search | export` against a real database file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli import main

KB = Path(__file__).resolve().parent / "fixtures" / "kb"


@pytest.fixture
def database(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'kb.db'}")
    monkeypatch.delenv("TICKETBOT_CONFIG", raising=False)
    return tmp_path


def test_import_search_and_export_round_trip(database, capsys):
    assert main(["kb", "import", str(KB / "articles.jsonl")]) == 0
    assert main(["kb", "import", str(KB / "markdown")]) == 0
    out = capsys.readouterr().out
    assert "imported 55 new article(s)" in out and "imported 2 new article(s)" in out

    assert main(["kb", "search", "纸质发票", "寄丢了", "--format", "json", "--limit", "3"]) == 0
    results = json.loads(capsys.readouterr().out)
    assert len(results) == 3 and set(results[0]) == {"id", "title", "score"}
    assert results[0]["title"] == "发票丢失后补打" and results[0]["id"].startswith("KB-")
    assert results[0]["score"] >= results[1]["score"] >= results[2]["score"]

    assert main(["kb", "search", "reset", "router", "--audience", "customer", "--format", "json"]) == 0
    assert "Wi-Fi router" not in capsys.readouterr().out, "an internal article is not shown to customers"

    export = database / "export.jsonl"
    assert main(["kb", "export", "--output", str(export)]) == 0
    lines = [json.loads(line) for line in export.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == 57 and lines[0]["number"] == "KB-1" and lines[0]["version"] == 1

    # Importing the export again changes nothing; an edited line becomes a new version of its article.
    lines[0]["solution"] += "\n补充：换开后原发票作废。"
    export.write_text("\n".join(json.dumps(line, ensure_ascii=False) for line in lines), encoding="utf-8")
    assert main(["kb", "import", str(export)]) == 0
    assert "0 new article(s), 1 updated, 56 unchanged" in capsys.readouterr().out
    assert main(["kb", "export"]) == 0
    first = json.loads(capsys.readouterr().out.splitlines()[0])
    assert first["version"] == 2 and first["solution"].endswith("原发票作废。")


@pytest.mark.parametrize(("content", "problem"), [
    ('{"title": "ok"}\n{"problem": "no title"}\n', "articles.jsonl:2: title is missing"),
    ('{"title": "ok"}\nnot json\n', "articles.jsonl:2: not valid JSON"),
    ('{"title": "x", "visibility": "everyone"}\n', "visibility must be internal or public"),
    ('{"title": "x", "colour": "red"}\n', "unknown field(s) colour"),
    ('{"title": "x", "key": "a"}\n{"title": "y", "key": "a"}\n', "key 'a' is also used by"),
])
def test_a_bad_file_is_refused_whole_with_where_and_why(database, tmp_path, capsys, content, problem):
    path = tmp_path / "articles.jsonl"
    path.write_text(content, encoding="utf-8")
    assert main(["kb", "import", str(path)]) == 2
    assert problem in capsys.readouterr().err
    assert main(["kb", "export"]) == 0
    assert capsys.readouterr().out == "", "nothing was imported"


def test_search_limits_are_checked(database, capsys):
    assert main(["kb", "search", "x", "--limit", "0"]) == 2
    assert "--limit" in capsys.readouterr().err
