"""Deliberately faulty implementations: the suite must fail each on the right cases."""
