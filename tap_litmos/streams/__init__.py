"""Litmos streams, grouped by Litmos domain (one module per domain)."""

from __future__ import annotations

from tap_litmos.streams.achievements import AchievementsStream

STREAM_TYPES = [AchievementsStream]

__all__ = ["STREAM_TYPES", "AchievementsStream"]
