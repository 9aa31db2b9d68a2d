"""Who works a ticket in a department: round-robin or least-loaded among its agents, as the department says."""

from __future__ import annotations

from bot.directory import Directory, Role
from bot.ports import Tickets


def agents_of(directory: Directory, department: str) -> list[str]:
    """The keys of the department's agents, in directory order (a department without any is no queue)."""
    return [person.key for person in directory.members(department, Role.AGENT)]


def strategy(directory: Directory, department: str | None) -> str:
    """How the department hands out tickets, as the timeline says it: 'round-robin' or 'least-loaded'."""
    dept = directory.departments.get(department or "")
    return dept.assignment.replace("_", "-") if dept else "round-robin"


async def pick_agent(uow: Tickets, directory: Directory, department: str) -> str | None:
    """The agent of `department` to give the next ticket to, or None when it has no agents."""
    agents = agents_of(directory, department)
    if not agents:
        return None
    if strategy(directory, department) == "least-loaded":
        counts = await uow.open_counts(agents)
        return min(agents, key=lambda key: (counts.get(key, 0), agents.index(key)))
    return await uow.rotate(f"round_robin:{department}", agents)
