"""One throwaway PostgreSQL cluster per test process (a real server: initdb and pg_ctl
on loopback, juki_protocol.tools.pg_cluster), started on first use and removed at exit.

``JUKI_TEST_BACKEND=postgresql`` runs the node tests with every node's tables in it
(tests/node/node_helpers.py); tests/storage uses it for the storage contract.
"""

from __future__ import annotations

import atexit
import itertools
import os

from juki_protocol.tools.pg_cluster import Cluster

_cluster: Cluster | None = None
_schemas = itertools.count(1)


def backend() -> str:
    """``sqlite`` (the default) or ``postgresql`` (JUKI_TEST_BACKEND)."""
    return os.environ.get("JUKI_TEST_BACKEND", "sqlite")


def url() -> str:
    """The URL of this process's cluster, started on first use."""
    global _cluster
    if _cluster is None:
        _cluster = Cluster().start()
        _cluster.watch()                  # an xdist worker may end without atexit
        atexit.register(_cluster.stop)
    return _cluster.url


def database(tag: str = "") -> str:
    """A URL whose nodes' schemas are new: a new database of the cluster for each call,
    so that tests never see each other's tables."""
    import psycopg

    name = f"t{os.getpid()}_{next(_schemas)}{tag}"
    base = url()
    with psycopg.connect(base, autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}"')
    return base.rsplit("/", 1)[0] + f"/{name}"
