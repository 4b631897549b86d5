"""The fixtures of these tests (a scaled clock, real HTTP servers on 127.0.0.1, a closed
port) come from tests/http_servers.py, loaded for every test by tests/conftest.py."""
