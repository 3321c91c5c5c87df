"""Stream processors: consume the incoming message stream, persist, publish what was saved."""
