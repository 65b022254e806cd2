"""Cost of a model call, priced at ingest from model and tokens with genai-prices.

genai-prices bundles its price data, so this works offline. Its
``calc_price`` costs ~100 µs a call, too slow for every LLM span at ingest
rates; but a price without tiers is linear in the token counts. So for each
(provider, model, day) we ask genai-prices once for the price of a million
tokens of each kind and multiply (exact ``Decimal`` arithmetic, no floats).
Tiered prices (a rate that changes past some token count) are not linear and
go through ``calc_price`` every time. tests/proto/test_pricing.py checks the
two paths agree with ``calc_price`` on random usage.

An unknown model has no price: ``None``, never zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from genai_prices import Usage, data_snapshot
from genai_prices.types import TieredPrices

_PROBE = 1_000_000
_NANOS_PER_DAY = 86_400 * 10**9


@dataclass(frozen=True, slots=True)
class _LinearPrice:
    """USD per token of uncached input, cache reads, cache writes, and output.

    A model without a cache-write price charges cache writes as input (genai-prices does)."""

    input: Decimal
    cache_read: Decimal
    cache_write: Decimal
    output: Decimal


@dataclass(frozen=True, slots=True)
class _ExactPrice:
    """A price with tiers: every call goes through genai-prices."""

    model: Any
    provider: Any
    day: datetime


def price_usd(
    model: str,
    provider: str | None,
    input_tokens: int,
    cache_read_tokens: int,
    cache_write_tokens: int,
    output_tokens: int,
    start_time_unix_nano: int,
) -> Decimal | None:
    """USD for one call of ``model`` (``input_tokens`` includes cache reads and writes), or None if unknown.

    Cache counts past the input are cut to it (reads first): genai-prices refuses them."""
    price = _price_for_day(model, provider, start_time_unix_nano // _NANOS_PER_DAY)
    if price is None:
        return None
    cache_read, cache_write = cache_counts(input_tokens, cache_read_tokens, cache_write_tokens)
    if isinstance(price, _LinearPrice):
        uncached = input_tokens - cache_read - cache_write
        return (
            uncached * price.input
            + cache_read * price.cache_read
            + cache_write * price.cache_write
            + output_tokens * price.output
        )
    usage = Usage(
        input_tokens=input_tokens,
        cache_read_tokens=cache_read,
        cache_write_tokens=cache_write,
        output_tokens=output_tokens,
    )
    return price.model.calc_price(usage, price.provider, genai_request_timestamp=price.day).total_price  # type: ignore[no-any-return]


def cache_counts(input_tokens: int, cache_read_tokens: int, cache_write_tokens: int) -> tuple[int, int]:
    """Cache reads and writes as priced: reads at most the input, writes at most what reads leave of it."""
    cache_read = min(cache_read_tokens, input_tokens)
    return cache_read, min(cache_write_tokens, input_tokens - cache_read)


@lru_cache(maxsize=4096)
def _price_for_day(model: str, provider: str | None, day: int) -> _LinearPrice | _ExactPrice | None:
    snapshot = data_snapshot.get_snapshot()
    try:
        pb_provider, pb_model = snapshot.find_provider_model(model, None, _provider_id(provider), None)
    except LookupError:
        if provider is None:
            return None
        try:  # a provider name genai-prices does not know (e.g. "azure.ai.openai"): match on the model alone
            pb_provider, pb_model = snapshot.find_provider_model(model, None, None, None)
        except LookupError:
            return None
    when = datetime.fromtimestamp(day * 86_400, tz=UTC)
    model_price = pb_model.get_prices(when)
    if any(isinstance(value, TieredPrices) for value in vars(model_price).values()):
        return _ExactPrice(pb_model, pb_provider, when)

    def per_token(usage: Usage) -> Decimal:
        total: Decimal = pb_model.calc_price(usage, pb_provider, genai_request_timestamp=when).total_price
        return total / _PROBE

    return _LinearPrice(
        input=per_token(Usage(input_tokens=_PROBE)),
        cache_read=per_token(Usage(input_tokens=_PROBE, cache_read_tokens=_PROBE)),
        cache_write=per_token(Usage(input_tokens=_PROBE, cache_write_tokens=_PROBE)),
        output=per_token(Usage(output_tokens=_PROBE)),
    )


def _provider_id(provider: str | None) -> str | None:
    # GenAI semconv names providers like "openai", "gcp.gemini", "aws.bedrock";
    # genai-prices ids are "openai", "google", "aws". Take the vendor part.
    if provider is None:
        return None
    name = provider.lower()
    return {"gcp.gemini": "google", "gcp.vertex_ai": "google", "gcp.gen_ai": "google", "aws.bedrock": "aws"}.get(
        name, name
    )
