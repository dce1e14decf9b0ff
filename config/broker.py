"""kombu's Redis transport, made to survive losing Redis while a task is unacknowledged.

With ``task_acks_late`` a running task's message stays "unacked" until it finishes. When the
connection to Redis drops (a restart, a failover, a network blip), the worker closes the channel,
and kombu tries to hand the unacked messages back to Redis — over the connection that was just
lost; and a task finishing right after the drop acknowledges over it. In kombu 5.x both fail not
with a connection error but with ``AttributeError: 'NoneType' object has no attribute 'hostname'``
(or ``'client'``): the channel's transport is already detached. Celery does not treat that as a
connection error: "Unrecoverable error", the worker process exits, and nothing is sent until
someone restarts it. Here a detached channel raises a real ``redis.ConnectionError`` instead.

Handing the message back (or acknowledging it) cannot work while Redis is gone anyway: the failure
is logged and the worker reconnects as usual. Nothing is lost: Redis itself restores unacked messages after
``visibility_timeout`` (if it kept them), and our tasks are only nudges — the outbox rows in
PostgreSQL are the truth and beat sends a new nudge every minute.

Selected with ``CELERY_BROKER_TRANSPORT`` (config/settings.py) when the broker is Redis.
"""

from __future__ import annotations

import logging

from kombu.transport import redis as kombu_redis
from redis import exceptions as redis_exceptions

logger = logging.getLogger(__name__)

#: What "the connection is gone" looks like while handing back unacked messages.
CONNECTION_GONE = (AttributeError, OSError, redis_exceptions.ConnectionError, redis_exceptions.TimeoutError)


class QoS(kombu_redis.QoS):
    def restore_unacked(self, client=None):
        pending = len(self._delivered)
        try:
            return super().restore_unacked(client)
        except CONNECTION_GONE as exc:
            logger.warning(
                "broker connection lost: %s unacknowledged task message(s) not handed back (%r); Redis "
                "restores them after the visibility timeout, and beat's next dispatch covers a lost one",
                pending, exc,
            )
            return None


class Channel(kombu_redis.Channel):
    QoS = QoS

    def _connparams(self, asynchronous=False):
        # A channel whose connection was torn down (Redis went away) would fail here with an
        # AttributeError when anything — handing back unacked messages, the late ack of a task that
        # just finished — asks it for a new Redis client. Say what it is: a connection error, which
        # Celery and kombu handle (log, reconnect) instead of stopping the worker.
        transport = self.connection
        if transport is None or transport.client is None:
            raise redis_exceptions.ConnectionError("the broker connection of this channel is gone")
        return super()._connparams(asynchronous=asynchronous)


class Transport(kombu_redis.Transport):
    Channel = Channel
