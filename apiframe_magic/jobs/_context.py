"""A run's settings as one value: where a cell, a shell run or a script sends, saves and records
its jobs, and under which budget.

Every path that runs a job (:func:`~apiframe_magic.generate`, :func:`~apiframe_magic.submit`,
:func:`~apiframe_magic.resume`, a batch, ``%%music``, the shell batch) takes a
:class:`RunContext` built once per cell or run, so the rules it carries (the ledger, the budget,
measuring, the one warning per problem) cannot be skipped by a path that forgot an argument.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any

from .._public import public
from ._files import DEFAULT_OUTPUT_DIR

if TYPE_CHECKING:
    from ..client import AsyncApiframeClient
    from ..ledger import Ledger
    from ._budget import Budget

__all__ = ["DEFAULT_TIMEOUT", "RunContext"]

DEFAULT_TIMEOUT = 600.0
"""Seconds a job is waited for, unless a run says otherwise."""


@public
@dataclass(frozen=True)
class RunContext:
    """Where and how the jobs of one run go.

    ``service`` is what results record as their origin: ``"sandbox"`` or the API's base URL
    (``None``: the client's, see :meth:`service_of`).
    ``account`` keys the job ledger (the service and a short hash of the key, never the key);
    ``None`` works it out from the client. ``output_dir`` is where audio and sidecars are saved,
    ``ledger`` the job ledger (``None``: none), ``budget`` the credit limit every submit passes
    (:class:`~apiframe_magic.Budget`; ``None``: none), ``timeout`` how long a job is waited for,
    ``measure`` whether saved tracks are measured (on ``measure_with``, an executor, else the
    default pool), and ``warn`` hears each problem a run meets (a ledger that cannot be written,
    a measurement that failed) once, however many jobs meet it.
    """

    service: str | None = None
    account: str | None = None
    output_dir: str | os.PathLike[str] = DEFAULT_OUTPUT_DIR
    ledger: Ledger | None = None
    budget: Budget | None = None
    timeout: float | None = DEFAULT_TIMEOUT
    measure: bool = True
    measure_with: Executor | None = field(default=None, repr=False)
    warn: Callable[[str], None] | None = field(default=None, repr=False)
    _said: set[str] = field(default_factory=set, init=False, repr=False, compare=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False, compare=False)

    @classmethod
    def of(cls, context: RunContext | None = None, **settings: Any) -> RunContext:
        """``context`` with ``settings`` (its field names; ``backend`` is read as ``service``)
        replaced, or a new context of them. A ``None`` is a setting left out, so callers can pass
        their optional keywords through; but ``timeout=None`` means waiting with no limit."""
        if "backend" in settings:
            settings.setdefault("service", settings.pop("backend"))
        known = {f.name for f in fields(cls) if f.init}
        unknown = sorted(set(settings) - known)
        if unknown:
            raise TypeError(f"unexpected keyword argument(s): {', '.join(unknown)}")
        given = {k: v for k, v in settings.items() if v is not None or k == "timeout"}
        if context is None:
            return cls(**given)
        if not given:
            return context
        derived = replace(context, **given)
        # One run, one set of things said: a context derived for part of the run shares it.
        object.__setattr__(derived, "_said", context._said)
        object.__setattr__(derived, "_lock", context._lock)
        return derived

    def say(self, message: str) -> None:
        """Tell ``warn`` about a problem, once per context for each distinct message."""
        if self.warn is None:
            return
        with self._lock:
            if message in self._said:
                return
            self._said.add(message)
        self.warn(message)

    def service_of(self, client: AsyncApiframeClient) -> str:
        """:attr:`service`, else ``"sandbox"`` for a client of the sandbox and its base URL for
        any other."""
        if self.service is not None:
            return self.service
        return "sandbox" if client.is_sandbox else client.base_url

    def account_of(self, client: AsyncApiframeClient) -> str:
        """The one home of a job's account identity, which keys the job ledger: ``"sandbox"``,
        or the API's base URL with a short hash of the key (never the key), so that a job never
        answers another account's request, and sandbox jobs never answer real-service ones."""
        if self.account is not None:
            return self.account
        service = self.service_of(client)
        return service if service == "sandbox" else client.account
