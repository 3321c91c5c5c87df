"""Contracts shared by every service: event records, topic names, settings, tokens.

Nothing in here imports a service; every service imports from here.
"""
