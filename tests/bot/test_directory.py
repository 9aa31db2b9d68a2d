"""Who a ticket is with, as one string, and the name a reader knows for it."""

from __future__ import annotations

from bot.config import load_config
from bot.directory import DEPARTMENT, PERSON, Directory, department_choice, parse_choice, person_choice
from tests.harness import EXAMPLE_CONFIG


def test_assignee_values_round_trip_and_a_bare_name_stays_bare():
    assert parse_choice(person_choice("alice")) == (PERSON, "alice")
    assert parse_choice(department_choice("finance")) == (DEPARTMENT, "finance")
    # A platform identity or a typed name is not a choice: it is looked up by name.
    assert parse_choice("slack:U0ALICE") == ("", "slack:U0ALICE")
    assert parse_choice("alice") == ("", "alice")


def test_display_names_in_the_readers_language():
    directory = Directory(load_config(EXAMPLE_CONFIG))
    assert directory.display_name(department_choice("finance"), "zh-CN") == "财务"
    assert directory.display_name(department_choice("finance"), "en") == "Finance"
    assert directory.display_name("alice", "en") == "Alice Wang"
    assert directory.display_name(department_choice("gone"), "en") == "gone"  # what is stored, when unknown
