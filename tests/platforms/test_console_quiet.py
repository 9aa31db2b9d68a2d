"""Issue 12 item 5: the page's polling does not fill the log; errors still do."""

from __future__ import annotations

import logging


async def test_polling_leaves_no_access_log_lines_but_errors_do(console, caplog):
    caplog.set_level(logging.INFO, logger="aiohttp.access")
    for _ in range(3):
        assert (await console.get("/console/api/messages", params={"as": "alice", "since": "0"})).status == 200
    assert (await console.get("/console/api/messages", params={"as": "alice", "since": "x"})).status == 400
    lines = [r.getMessage() for r in caplog.records if r.name == "aiohttp.access"]
    assert not [line for line in lines if "/console/api/messages" in line and '" 200 ' in line], lines
    assert [line for line in lines if "since=x" in line and '" 400 ' in line], "a refused poll is still logged"
