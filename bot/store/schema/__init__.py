"""Schema files, one folder per database engine."""
