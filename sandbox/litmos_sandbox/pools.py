"""The value pools the achievements dataset draws from (``data.py``), awkward ones first.

Names with apostrophes, ampersands, angle brackets and accents (HTML entities in JSON,
docs/litmos-api.md §3.3), scores as text (§9 item 12), and dates placed on purpose.
"""

from __future__ import annotations

from datetime import datetime

# The first users are the awkward ones, so even tiny datasets contain them.
SPECIAL_NAMES: tuple[tuple[str, str], ...] = (
    ("Zoë", "O'Brien"),
    ("José", "Smith & Sons"),
    ('Ann "Nan"', "<Admin> & Co"),
    ("Siobhán", "D'Arcy"),
    ("Björn", "Müller-Lüdenscheidt"),
    ("Renée", "Tran"),
)
FIRST_NAMES = (
    "Alice",
    "Bob",
    "Carol",
    "Dan",
    "Erin",
    "Frank",
    "Grace",
    "Heidi",
    "Ivan",
    "Judy",
    "Mallory",
    "Niaj",
    "Olivia",
    "Peggy",
    "Rupert",
    "Sybil",
    "Trent",
    "Victor",
    "Walter",
    "Chloé",
    "Søren",
    "Łukasz",
    "Mary-Kate",
    "Jean-Luc",
    "Amélie",
    "Paul",
    "Max",
    "Li",
)
LAST_NAMES = (
    "Smith",
    "Jones",
    "Brown",
    "Taylor",
    "Wilson",
    "Davies",
    "Evans",
    "Thomas",
    "Roberts",
    "O'Neil",
    "D'Souza",
    "García",
    "Núñez",
    "Hirst",
    "Chandler",
    "Nguyen",
    "Kowalski",
    "Johnson & Johnson",
    "Lee",
    "Walker",
    "Wright",
    "Hall",
    "Allen",
    "Young",
)
# (title, description) for courses. Descriptions "" for some (nulls/empties, §3.3).
COURSES: tuple[tuple[str, str], ...] = (
    ("Health & Safety 101", "Workplace health & safety basics"),
    ("Manager's Toolkit", "Tools for new managers & team leads"),
    ("Data Privacy & You", ""),
    ("Q&A: Writing <Clean> Code", "Don't repeat yourself & other rules"),
    ("Café Service Basics", "Serving customers at the café"),
    ("Fire Safety/Evacuation", "What to do when the alarm sounds"),
    ("Anti-Bribery & Corruption", ""),
    ('Customer "Delight" Training', "It's all about the customer"),
    ("Onboarding", "Welcome aboard"),
    ("Excel: Formulas & Functions", "SUM, IF & VLOOKUP"),
    ("Conflict Resolution", ""),
    ("Forklift Operator's Certificate", "Operating a forklift safely"),
    ("Code of Conduct 2025", "Annual code of conduct refresher"),
    ("Diversity, Equity & Inclusion", ""),
    ("Time Management", "Getting things done & staying sane"),
    ("First Aid", "CPR & AED basics"),
)
LEARNING_PATHS: tuple[tuple[str, str], ...] = (
    ("New Hire Path", "Everything a new hire needs"),
    ("Leadership & Management Path", ""),
    ("Sales Rep's Journey", "From prospecting to closing"),
    ("Compliance Essentials", "Mandatory compliance courses"),
)
COURSE_RESULTS = ("Complete", "Complete", "Complete", "Complete", "Passed", "Passed", "Failed")
COURSE_SCORES = ("85", "92.5", "100", "70", "", None, "88.75", "0", "100", "", None, "64")
LP_SCORES = (None, None, "")

# Wall clocks placed on purpose (as UTC wall clocks, read as America/Los_Angeles for JSON):
# both sides of the US-Pacific DST changes, inside the nonexistent hour (2024-03-10 02:xx)
# and the ambiguous hour (2024-11-03 01:xx), the hand-computed example of the brief, and
# tie groups sharing one exact AchievementDate.
SPECIAL_DATES: tuple[datetime, ...] = (
    datetime(2024, 3, 10, 1, 59, 59, 997000),  # last ms-ish before the spring-forward gap
    datetime(2024, 3, 10, 2, 30, 0),  # nonexistent local hour
    datetime(2024, 3, 10, 3, 0, 0),  # first wall clock after the gap (PDT)
    datetime(2024, 11, 3, 0, 59, 59, 990000),  # before the ambiguous hour (PDT)
    datetime(2024, 11, 3, 1, 30, 0),  # ambiguous local hour
    datetime(2024, 11, 3, 2, 0, 0),  # after fall-back (PST)
    datetime(2025, 3, 9, 2, 30, 0, 123000),  # nonexistent hour, 2025
    datetime(2025, 11, 2, 1, 30, 0, 500000),  # ambiguous hour, 2025
    datetime(2024, 7, 1, 12, 0, 0),  # summer example: /Date(1719860400000-0700)/
    datetime(2024, 1, 15, 12, 0, 0),  # winter
    datetime(2025, 1, 15, 12, 0, 0),  # tie group of 3
    datetime(2025, 1, 15, 12, 0, 0),
    datetime(2025, 1, 15, 12, 0, 0),
    datetime(2025, 8, 20, 8, 15, 30, 997000),  # tie group of 2, .997
    datetime(2025, 8, 20, 8, 15, 30, 997000),
    datetime(2026, 6, 30, 23, 59, 59, 990000),  # newest possible generated value
)
