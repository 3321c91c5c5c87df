"""Typed keys for the state the search application carries."""

from __future__ import annotations

from aiohttp import web

from records.operations import BackgroundTasks
from search.follower import Follower
from search.index import MessageIndex
from search.metrics import SearchMetrics
from search.settings import Settings

settings_key = web.AppKey("settings", Settings)
index_key = web.AppKey("index", MessageIndex)
follower_key = web.AppKey("follower", Follower)
metrics_key = web.AppKey("metrics", SearchMetrics)
tasks_key = web.AppKey("tasks", BackgroundTasks)
