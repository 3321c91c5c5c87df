"""Message search: an SQLite FTS5 index of the event log, answering the gateway's
``records.search.SearchRequest`` over HTTP (``POST /search``).

The index is a projection like any view: ``search.follower`` reads every partition of the log
and ``search.index`` applies each round of facts, with the log's position, in one SQLite
transaction; ``python -m search rebuild`` builds it again from the log.
"""
