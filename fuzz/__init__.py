"""Fuzz targets and their inputs (issue 16 item 1); see fuzz/README.md."""
