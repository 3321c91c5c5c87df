"""Contracts shared by every service: requests and facts, views, topic names, settings,
tokens, the search contract.

Nothing in here imports a service; every service imports from here.
"""
