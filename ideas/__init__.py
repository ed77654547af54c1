"""Ideas: submit, vote, review by value and report back (issue #4; not built yet)."""
