"""``python -m agentlog`` is the ``agentlog`` command."""

from agentlog.cli import main

main()
