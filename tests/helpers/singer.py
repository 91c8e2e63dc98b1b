"""The one reader of Singer output: a tap's stdout, as a target reads it.

Every way the tests run the tap (in-process, `tests/helpers/tap.py`; as a process that may
be killed mid-run, `tests/helpers/resume.py`) hands its stdout to this reader and gets
the same view of it: the messages in order, split by type.
"""

from __future__ import annotations

import dataclasses
import json
import typing as t

if t.TYPE_CHECKING:
    from collections.abc import Iterable


def parse_lines(lines: Iterable[bytes | str], label: str = "tap") -> list[dict]:
    """The Singer messages of stdout lines, one JSON object a line.

    A last line without its newline (the tap died writing it) is dropped, as a target
    drops it; blank lines are skipped; any other line that is not JSON fails the test.
    """
    messages = []
    for number, line in enumerate(lines, 1):
        text = line.decode("utf-8") if isinstance(line, bytes) else line
        if not text.endswith("\n"):
            break  # a partial last line: a target drops it too
        if not text.strip():
            continue
        try:
            messages.append(json.loads(text))
        except ValueError as exc:
            msg = f"{label}: stdout line {number} is not a Singer message: {text[:200]!r}"
            raise AssertionError(msg) from exc
    return messages


def parse_text(text: str, label: str = "tap") -> list[dict]:
    """The Singer messages of a whole stdout (the last line may lack its newline)."""
    if text and not text.endswith("\n"):
        text += "\n"  # a finished run: its last line is whole
    return parse_lines(text.splitlines(keepends=True), label)


@dataclasses.dataclass
class SingerOutput:
    """Everything a target received from one tap run, split by message type."""

    messages: list[dict]

    @property
    def types(self) -> list[str]:
        """The message type of each line, in order."""
        return [m["type"] for m in self.messages]

    def records(self, stream: str = "achievements") -> list[dict]:
        """The RECORD messages' records of `stream`, in order."""
        return [
            m["record"] for m in self.messages if m["type"] == "RECORD" and m["stream"] == stream
        ]

    @property
    def states(self) -> list[dict]:
        """The STATE messages' values, in order."""
        return [m["value"] for m in self.messages if m["type"] == "STATE"]

    @property
    def last_state(self) -> dict | None:
        """The last STATE received, or None.

        The SDK writes a STATE only when the state changed since the last one it wrote
        (the input state counts, written first), so a run that finds nothing new may
        end without one: its state is then the last STATE before, or the input state.
        """
        states = self.states
        return states[-1] if states else None

    @property
    def final_state(self) -> dict:
        """The last STATE of a run that must have written one."""
        state = self.last_state
        assert state is not None, "the run wrote no STATE"
        return state

    def bookmark(self, stream: str = "achievements") -> str | None:
        """The replication key value the final STATE holds for `stream`, if any."""
        return self.final_state["bookmarks"].get(stream, {}).get("replication_key_value")
