"""smpp-dispatcher: the daemon that drains a PostgreSQL outbox into SMPP and HTTP SMS traffic."""

__version__ = "0.1.0"
