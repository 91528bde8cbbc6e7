"""The `worker` command: delivers queued mail and runs the periodic clean-ups until stopped."""

from __future__ import annotations

import logging
import signal
import threading
import time
from types import FrameType

from adapters.db.housekeeping import Housekeeping
from adapters.db.mail_outbox import MailDelivery

log = logging.getLogger(__name__)

CLEANUP_EVERY = 300.0  # seconds; expiries are counted in minutes and days


def clean_up(housekeeping: Housekeeping, delivery: MailDelivery) -> dict[str, int]:
    """Every clean-up, once: how many rows of each kind went. The worker runs it every
    CLEANUP_EVERY seconds; the `purge` command runs it once (for cron)."""
    return {**housekeeping.run(), "sent mails past retention": delivery.prune_sent()}


class Worker:
    def __init__(
        self, delivery: MailDelivery, housekeeping: Housekeeping, interval: float, cleanup_every: float = CLEANUP_EVERY
    ) -> None:
        self._delivery = delivery
        self._housekeeping = housekeeping
        self._interval = interval
        self._cleanup_every = cleanup_every
        self._stop = threading.Event()

    def stop(self) -> None:
        """Ends the loop once the message being sent, if any, is done."""
        self._stop.set()

    def run(self) -> None:
        log.info("worker started: delivering mail every %gs; stop it with Ctrl-C or SIGTERM", self._interval)
        next_cleanup = time.monotonic()
        while not self._stop.is_set():
            cleanup = time.monotonic() >= next_cleanup
            if cleanup:
                next_cleanup = time.monotonic() + self._cleanup_every
            self.run_once(cleanup)
            self._stop.wait(self._interval)
        log.info("worker stopped")

    def run_once(self, cleanup: bool = True) -> bool:
        """One pass; False if it failed, as when the database is away (the next pass retries)."""
        try:
            self._delivery.deliver_due(self._stop)
            if cleanup:
                removed = clean_up(self._housekeeping, self._delivery)
                done = ", ".join(f"{count} {what}" for what, count in removed.items() if count)
                if done:
                    log.info("cleaned up: %s", done)
        except Exception:
            log.exception("worker pass failed; the next pass tries again")
            return False
        return True


def serve(worker: Worker, once: bool) -> int:
    """Runs ``worker`` with SIGTERM and SIGINT ending it cleanly; the exit status."""

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        log.info("%s received: stopping after the current message", signal.Signals(signum).name)
        worker.stop()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        if once:
            return 0 if worker.run_once() else 1
        worker.run()
        return 0
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
