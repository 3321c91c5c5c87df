"""Socket.IO edge of the chat: authenticates clients, turns commands into events, fans out."""
