"""Socket.IO edge of the chat: authenticates clients, turns their events into requests on
Kafka, and delivers the facts it reads from the event log to its own sockets."""
