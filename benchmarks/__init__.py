"""`make bench`: each benchmark prints one line, a ratio against a baseline measured in the same run."""
