"""Reference nodes: the protocol's machines over mutual TLS, with storage and audit.

This package is the only part of the library with sockets, clocks and databases
(DESIGN.md section 2): :mod:`~juki_protocol.node.transport` (TLS and frames),
:mod:`~juki_protocol.node.node` (connections, timers and the event loop around the
sans-I/O :class:`~juki_protocol.endpoint.endpoint.Endpoint`, whose store is
:mod:`~juki_protocol.node.endpoint_store`),
:mod:`~juki_protocol.node.roles` (the machines of each role),
:mod:`~juki_protocol.node.storage` (SQLite), :mod:`~juki_protocol.node.audit` (the
hash-chained audit log), :mod:`~juki_protocol.node.network` (a whole network on
loopback) and :mod:`~juki_protocol.tools.cli_node` (``juki node``, ``juki network``,
``juki audit``).
"""
