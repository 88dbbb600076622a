"""glw-sim: an agent-based labour-market simulator of working-age London."""

__version__ = "0.1.0"
