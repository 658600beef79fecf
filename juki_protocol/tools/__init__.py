"""Tools on the public API of the layers: the command lines (cli and cli_*), the
codec-mode adapter, the pytest plugin, the vector generators (vectors) and the
frame capture (capture)."""
