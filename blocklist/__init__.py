"""callscreen's core: numbers, entries, policy, the Redis store, feeds and the CLI.

Depends on nothing else of callscreen; `agi` and `api` depend on it.
"""
