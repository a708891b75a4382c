"""What a worker does when it starts, before and after it takes work (Celery signals).

- **It will not share a broker with another deployment**: the first worker of a deployment writes
  its id (annotations.jobs.deployment_id) under `labeler:deployment` in the broker's Redis
  database; a worker of another deployment finds it there and exits, naming both. (`make up`
  gives each checkout a Redis of its own and writes the key itself.)
- **It reaches the media storage** (annotations.media.storage_check): a store that does not
  answer or refuses the credentials stops the worker at once with a message naming the store,
  instead of failing every job it would take.
- **It removes what dead tasks left** (workers/temp_files.py).
- **It sends again the Jobs whose message is gone** (annotations.jobs.jobs_resend_lost), and the
  lost chunks of Jobs split into chunks: the broker's queues and its unacknowledged set are read
  for the task ids still alive; one worker at a time does this, under a short Redis lock that it
  releases when done.
"""
from __future__ import annotations

import json
import logging

from celery.signals import worker_init, worker_ready

log = logging.getLogger(__name__)

DEPLOYMENT_KEY = "labeler:deployment"
RESEND_LOCK = "labeler:resend-lock"
QUEUES = ("default", "gpu")


def _redis(app):
    """A redis-py client on the broker's database (the same connection settings as Celery's)."""
    connection = app.connection_for_write()
    return connection, connection.default_channel.client


def broker_claim(app, deployment: str, *, force: bool = False) -> str:
    """Claim the broker for `deployment`; returns the deployment that holds it."""
    connection, client = _redis(app)
    try:
        if force:
            client.set(DEPLOYMENT_KEY, deployment)
            return deployment
        client.set(DEPLOYMENT_KEY, deployment, nx=True)
        holder = client.get(DEPLOYMENT_KEY)
        return holder.decode() if isinstance(holder, bytes) else str(holder)
    finally:
        connection.release()


def live_task_ids(app) -> set[str]:
    """Ids of the tasks whose message the broker still holds: waiting in a queue, or delivered
    and not yet acknowledged (running, or reserved with a countdown)."""
    connection, client = _redis(app)
    ids: set[str] = set()
    try:
        channel = connection.default_channel
        for queue in QUEUES:
            for key in {channel._q_for_pri(queue, pri) for pri in channel.priority_steps}:
                for raw in client.lrange(key, 0, -1):
                    ids.add(_task_id(raw))
        for raw in client.hvals(channel.unacked_key):
            try:
                ids.add(_task_id(json.dumps(json.loads(raw)[0])))
            except (ValueError, IndexError, TypeError):
                continue
    finally:
        connection.release()
    ids.discard("")
    return ids


def _task_id(raw: bytes | str) -> str:
    try:
        message = json.loads(raw)
        return str((message.get("headers") or {}).get("id") or (message.get("properties") or {}).get("correlation_id") or "")
    except (ValueError, AttributeError):
        return ""


@worker_init.connect
def _refuse_a_shared_broker(sender=None, **kwargs) -> None:
    import django

    django.setup()
    from annotations.jobs import deployment_id

    app = sender.app if sender is not None else None
    if app is None:
        from labeler.celery import app
    mine = deployment_id()
    holder = broker_claim(app, mine)
    if holder != mine:
        log.critical(
            "the broker %s is used by another labeler deployment (%s; this one is %s): give each checkout "
            "its own REDIS_URL (make up does), or, if that deployment is gone, delete the key %r there",
            app.conf.broker_url, holder, mine, DEPLOYMENT_KEY,
        )
        raise SystemExit(2)


@worker_init.connect
def _check_media_storage(sender=None, **kwargs) -> None:
    import django

    django.setup()
    from annotations.media import StorageUnavailable, storage_check

    try:
        storage_check()
    except StorageUnavailable as exc:
        log.critical("this worker cannot use the media storage: %s; check MEDIA_STORAGE and the MEDIA_S3_* settings "
                     "(endpoint, bucket, access key and secret)", exc.message)
        raise SystemExit(2)


@worker_ready.connect
def _clean_up_and_resend(sender=None, **kwargs) -> None:
    from annotations.jobs import jobs_resend_lost

    from .temp_files import stale_temp_files_sweep

    app = sender.app
    try:
        stale_temp_files_sweep()
    except Exception:
        log.exception("could not sweep temporary files")
    connection, client = _redis(app)
    try:
        if not client.set(RESEND_LOCK, "1", nx=True, ex=30):
            return  # another worker of this deployment is doing it
    finally:
        connection.release()
    try:
        resent = jobs_resend_lost(live_task_ids=live_task_ids(app))
        if resent:
            log.warning("sent again %s job(s) whose message was lost: %s", len(resent), resent)
    except Exception:
        log.exception("could not re-send lost jobs")
    finally:  # done: the next worker to start looks again (what it re-sends now is live, so not twice)
        connection, client = _redis(app)
        try:
            client.delete(RESEND_LOCK)
        except Exception:
            log.warning("could not release %s; it expires by itself", RESEND_LOCK)
        finally:
            connection.release()
