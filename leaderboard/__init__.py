"""Leaderboards from stored runs (installed as ``zsbench.leaderboard``)."""
