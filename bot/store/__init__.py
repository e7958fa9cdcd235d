"""Durable state: the SQLite store and its parts (see bot.store.sqlite)."""
