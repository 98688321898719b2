"""What a job costs before it runs: :func:`price_bounds`, the one answer the budget, the dry runs,
the display and the sandbox's model list ask for.

The prices themselves are facts of each :class:`~apiframe_magic.catalog.ModelSpec`
(``credits_per_job``, ``credits_per_track``, ``credits_by_length``); this is how to read them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

from ._actions import ActionSpec
from ._registry import get_spec
from ._spec import ModelSpec

__all__ = ["price_bounds"]


class PricedRequest(Protocol):
    """Anything naming a model and its params, as a ``MusicRequest`` does."""

    @property
    def model(self) -> str: ...

    @property
    def params(self) -> Mapping[str, Any]: ...


@runtime_checkable
class PricedAction(Protocol):
    """Anything naming the Suno action it runs, as an ``ActionRequest`` does."""

    @property
    def action_spec(self) -> ActionSpec: ...


def price_bounds(
    request: PricedRequest | PricedAction | ModelSpec | ActionSpec | str,
    params: Mapping[str, Any] | None = None,
) -> tuple[int, int] | None:
    """The lowest and highest credits one job can cost, from the documented prices.

    ``request`` is a ``MusicRequest`` (its model and params), an ``ActionRequest`` or an
    :class:`ActionSpec` (a Suno action: 11 credits, whatever its body), or a model (a spec or its
    id) with ``params``. Equal bounds are an exact price; a range is a price that depends on what is not
    known before the job: the length ElevenLabs Music picks when none is asked for (10 to 30), or,
    for a model given without ``params``, whatever params a job of it may have (Mureka: 6 to 18).
    ``None``: the model has no published price. A budget counts a range at its top.

    >>> price_bounds("suno", {})
    (11, 11)
    >>> price_bounds("elevenlabs-music", {})
    (10, 30)
    """
    if isinstance(request, ActionSpec):
        return request.price_bounds()
    if isinstance(request, PricedAction):
        return request.action_spec.price_bounds()
    if isinstance(request, (ModelSpec, str)):
        spec = request if isinstance(request, ModelSpec) else get_spec(request)
    else:
        if params is not None:
            raise TypeError("price_bounds: give a request, or a model and its params, not both")
        spec, params = get_spec(request.model), request.params
    if params is None:
        return spec.cost_range()
    exact = spec.cost(params)
    if exact is not None:
        return exact, exact
    if spec.credits_by_length and spec.length_param is not None and spec.length_param not in params:
        return spec.cost_range()
    return None
