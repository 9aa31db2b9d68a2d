"""People, roles and departments, and how a platform identity maps to one of them."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from bot.config import AppConfig
from bot.events import Actor, Platform
from bot.tickets import Tier


class Role(StrEnum):
    """What someone may do; anyone not in the directory is a customer."""

    CUSTOMER = "customer"
    COLLEAGUE = "colleague"
    AGENT = "agent"
    LEAD = "lead"
    MANAGER = "manager"


STAFF_ROLES = frozenset({Role.AGENT, Role.LEAD, Role.MANAGER})


@dataclass(frozen=True)
class Person:
    """Someone the bot knows: staff from the directory, or a customer (known account or not)."""

    key: str
    name: str
    roles: frozenset[Role]
    department: str | None = None
    language: str | None = None
    identities: dict[Platform, tuple[str, ...]] = field(default_factory=dict, hash=False, compare=False)
    tier: Tier = Tier.NORMAL
    account_manager: str | None = None
    timezone: str | None = None

    @property
    def is_customer(self) -> bool:
        """True for anyone who is not staff or colleague."""
        return Role.CUSTOMER in self.roles

    @property
    def is_staff(self) -> bool:
        """Agents, leads and managers: the people who work tickets."""
        return bool(self.roles & STAFF_ROLES)

    def has(self, *roles: Role) -> bool:
        """True when the person holds any of `roles`."""
        return bool(self.roles & set(roles))

    def identity_on(self, platform: Platform) -> str | None:
        """This person's user id on `platform`, if they have one."""
        ids = self.identities.get(platform)
        return ids[0] if ids else None


@dataclass(frozen=True)
class Department:
    """A team; `names` holds its name per language."""

    key: str
    names: dict[str, str]
    aliases: tuple[str, ...]
    assignment: str
    head: str | None
    contacts: tuple[str, ...] = ()  # who answers requests to it (its head when none are named)

    def name(self, language: str) -> str:
        """The department's name in `language` (falling back to any)."""
        return self.names.get(language) or next(iter(self.names.values()), self.key)


# Who a ticket is with, as one string (a drop-down's value, an assignment's before / after on the timeline):
# "p:<person key>" or "d:<department key>". These three functions are the only ones that spell it.
PERSON, DEPARTMENT = "p", "d"


def person_choice(key: str) -> str:
    """The value that names person `key` as an assignee."""
    return f"{PERSON}:{key}"


def department_choice(key: str) -> str:
    """The value that names department `key` (its queue) as an assignee."""
    return f"{DEPARTMENT}:{key}"


def parse_choice(value: str) -> tuple[str, str]:
    """(PERSON or DEPARTMENT, key) of an assignee value; ("", value) for a bare name or key."""
    kind, sep, key = value.partition(":")
    return (kind, key) if sep and kind in (PERSON, DEPARTMENT) else ("", value)


class Directory:
    """Lookups over the configured people, customers and departments."""

    def __init__(self, config: AppConfig):
        self.default_language = config.language
        self.default_timezone = config.business_hours.timezone
        self._people: dict[str, Person] = {}
        self._by_identity: dict[tuple[Platform, str], Person] = {}
        for p in config.people:
            person = Person(
                key=p.key,
                name=p.name,
                roles=frozenset(Role(r) for r in p.roles),
                department=p.department,
                language=p.language,
                identities={plat: (uid,) for plat, uid in p.identities.items()},
                timezone=p.timezone,
            )
            self._add(person)
        for c in config.customers:
            ids = {plat: tuple([uid] if isinstance(uid, str) else uid) for plat, uid in c.identities.items()}
            customer = Person(
                key=c.key,
                name=c.name,
                roles=frozenset({Role.CUSTOMER}),
                language=c.language,
                identities=ids,
                tier=c.tier,
                account_manager=c.account_manager,
            )
            self._add(customer)
        self.departments: dict[str, Department] = {
            d.key: Department(d.key, dict(d.name), tuple(d.aliases), d.assignment, d.head,
                                tuple(d.contacts)) for d in config.departments
        }

    def _add(self, person: Person) -> None:
        self._people[person.key] = person
        for platform, ids in person.identities.items():
            for uid in ids:
                self._by_identity[(platform, uid)] = person

    def person(self, key: str | None) -> Person | None:
        """The person with directory key `key`."""
        return self._people.get(key) if key else None

    def display_name(self, key: str, language: str) -> str:
        """A person's name, or a department's (`d:finance`) in `language`; what is stored when neither is known."""
        kind, bare = parse_choice(key)
        if kind == DEPARTMENT:
            department = self.departments.get(bare)
            return department.name(language) if department else bare
        person = self.person(bare)
        return person.name if person else bare

    def people(self) -> list[Person]:
        """Everyone configured, staff and known customers."""
        return list(self._people.values())

    def resolve_actor(self, actor: Actor) -> Person:
        """Who `actor` is; people not in the directory (and external ones) are customers."""
        known = self._by_identity.get((actor.platform, actor.user_id))
        if known and not (actor.external and not known.is_customer):
            return known
        return Person(
            key=f"{actor.platform}:{actor.user_id}",
            name=actor.display_name or actor.user_id,
            roles=frozenset({Role.CUSTOMER}),
            identities={actor.platform: (actor.user_id,)},
        )

    def members(self, department: str, *roles: Role) -> list[Person]:
        """People of `department` holding any of `roles` (all staff roles when none given)."""
        wanted = set(roles) or set(STAFF_ROLES)
        return [p for p in self._people.values() if p.department == department and p.roles & wanted]

    def find_person(self, token: str, platform: Platform | None = None) -> Person | None:
        """A person named by an @-mention token: directory key, platform user id, or display name."""
        token = token.strip().lstrip("@")
        if not token:
            return None
        if token in self._people and not self._people[token].is_customer:
            return self._people[token]
        if platform and (platform, token) in self._by_identity:
            return self._by_identity[(platform, token)]
        lowered = token.casefold()
        for person in self._people.values():
            if not person.is_customer and person.name.casefold() == lowered:
                return person
        return None

    def find_department(self, token: str) -> Department | None:
        """A department named by key, localized name or alias (case-insensitive)."""
        lowered = token.strip().lstrip("@").casefold()
        for dept in self.departments.values():
            names = {dept.key, *dept.names.values(), *dept.aliases}
            if lowered in {n.casefold() for n in names}:
                return dept
        return None

    def timezone_of(self, person: Person | None) -> str:
        """The time zone `person` reads times in: theirs, else the workspace's (its business hours')."""
        return (person.timezone if person and person.timezone else None) or self.default_timezone

    def contacts_of(self, department: str) -> list[Person]:
        """Who answers requests to `department`: its contacts, else its head (empty when it has neither)."""
        dept = self.departments.get(department)
        if dept is None:
            return []
        keys = dept.contacts or ((dept.head,) if dept.head else ())
        return [person for key in keys if (person := self.person(key)) is not None]

    def language_of(self, person: Person | None) -> str:
        """The language to speak to `person`: theirs, else the workspace's."""
        return (person.language if person and person.language else None) or self.default_language
