"""The golden vector generators and their schema: codec and envelope vectors."""
