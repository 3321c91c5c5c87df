"""The agents: decide requests into facts against state folded from the event log, in Kafka
transactions (``agents.decider``), and project the facts into the MongoDB views
(``agents.projector``)."""
