"""Network provisioning (HLR/HSS): the interface and its simulator.

``NetworkGateway.apply`` carries out one change for one subscriber and returns the network's
reference. It must be idempotent by ``request_ref``: the same request applied twice changes the
network once (real HLR front-ends take a transaction id; the simulator keeps applied refs).

The simulator stands in for the real HLR/HSS in the embedded default and the tests. It is a
simulator, not a network: it keeps subscriber state in Redis, waits ``latency`` seconds, and
fails at random with probability ``failure_rate`` (transient: a retry may succeed). Configure it
with ``NETWORK_SIM_LATENCY_MS`` and ``NETWORK_SIM_FAILURE_RATE``.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import time
from typing import Protocol

import redis


class NetworkError(Exception):
    """A transient failure: timeout, busy, link down. Retrying later may succeed."""


class NetworkRejected(Exception):
    """The network refused the change for good (unknown subscriber, invalid value)."""


class NetworkGateway(Protocol):
    def apply(self, request_ref: str, imsi: str, action: str, params: dict) -> str: ...


ACTIONS = {"set_service", "change_tariff", "suspend", "resume", "activate", "terminate"}


class SimulatedHLR:
    KEY = "sim:hlr"

    def __init__(
        self,
        conn: redis.Redis,
        latency: float = 0.0,
        failure_rate: float = 0.0,
        rng: random.Random | None = None,
    ) -> None:
        self.conn = conn
        self.latency = latency
        self.failure_rate = failure_rate
        self.rng = rng or random.Random()

    @classmethod
    def from_env(cls, conn: redis.Redis) -> SimulatedHLR:
        latency = float(os.environ.get("NETWORK_SIM_LATENCY_MS") or 0) / 1000
        failure_rate = float(os.environ.get("NETWORK_SIM_FAILURE_RATE") or 0)
        return cls(conn, latency=latency, failure_rate=failure_rate)

    def apply(self, request_ref: str, imsi: str, action: str, params: dict) -> str:
        if self.latency:
            time.sleep(self.latency)
        if action not in ACTIONS:
            raise NetworkRejected(f"unsupported action {action}")
        if not imsi or not imsi.isdigit():
            raise NetworkRejected("unknown subscriber")
        applied_key = f"{self.KEY}:applied"
        done = self.conn.hget(applied_key, request_ref)
        if done:
            return done.decode()
        if self.failure_rate and self.rng.random() < self.failure_rate:
            raise NetworkError("simulated network timeout")
        sub_key = f"{self.KEY}:sub:{imsi}"
        state = json.loads(self.conn.get(sub_key) or "{}")
        state.setdefault("log", []).append([action, params])
        state["log"] = state["log"][-20:]
        network_ref = "HLR-" + hashlib.sha256(f"{request_ref}:{imsi}".encode()).hexdigest()[:12]
        pipe = self.conn.pipeline()
        pipe.set(sub_key, json.dumps(state))
        pipe.hset(applied_key, request_ref, network_ref)
        pipe.execute()
        return network_ref

    def applied_count(self, request_ref: str) -> int:
        return 1 if self.conn.hexists(f"{self.KEY}:applied", request_ref) else 0
