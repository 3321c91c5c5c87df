"""Typed keys of the gateway application's state."""

from __future__ import annotations

import aiohttp
import socketio
from aiohttp import web
from aiokafka import AIOKafkaProducer
from pymongo import AsyncMongoClient
from redis.asyncio import Redis

from gateway.delivery import Delivery
from gateway.directory import UserDirectory
from gateway.limits import RateLimits
from gateway.manager import RedisManager
from gateway.metrics import GatewayMetrics
from gateway.readmodel import ReadModel
from gateway.search import SearchClient
from gateway.seen import SeenLog
from gateway.settings import Settings
from records.operations import BackgroundTasks

SETTINGS = web.AppKey("settings", Settings)
MONGO = web.AppKey("mongo", AsyncMongoClient)
READS = web.AppKey("reads", ReadModel)
PRODUCER = web.AppKey("producer", AIOKafkaProducer)
REDIS = web.AppKey("redis", Redis)
HTTP = web.AppKey("http", aiohttp.ClientSession)
DIRECTORY = web.AppKey("directory", UserDirectory)
SEARCH = web.AppKey("search", SearchClient)
SIO = web.AppKey("sio", socketio.AsyncServer)
SEEN = web.AppKey("seen", SeenLog)
DELIVERY = web.AppKey("delivery", Delivery)
MANAGER = web.AppKey("manager", RedisManager)
LIMITS = web.AppKey("limits", RateLimits)
METRICS = web.AppKey("metrics", GatewayMetrics)
TASKS = web.AppKey("tasks", BackgroundTasks)
