"""`python -m dispatcher` is the same as the `smpp-dispatcher` command."""

from dispatcher.cli import main

raise SystemExit(main())
