"""Typed keys for the state the auth application carries."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pymongo import AsyncMongoClient

from auth.metrics import AuthMetrics
from auth.passwords import Passwords
from auth.refresh_tokens import RefreshTokenRepository
from auth.revocations import SessionRevocations
from auth.settings import Settings
from auth.throttle import LoginThrottle
from auth.users import UserRepository

settings_key = web.AppKey("settings", Settings)
passwords_key = web.AppKey("passwords", Passwords)
mongo_client_key = web.AppKey("mongo_client", AsyncMongoClient[dict[str, Any]])
users_key = web.AppKey("users", UserRepository)
refresh_tokens_key = web.AppKey("refresh_tokens", RefreshTokenRepository)
account_throttle_key = web.AppKey("account_throttle", LoginThrottle)
address_throttle_key = web.AppKey("address_throttle", LoginThrottle)
revocations_key = web.AppKey("revocations", SessionRevocations)
metrics_key = web.AppKey("metrics", AuthMetrics)
