"""Synthesizers: one interface (`result.Synthesizer`), two implementations with the same result.

- `extractive` (the default): offline and deterministic — sentences, list items and table rows of
  the source become facts, subjects are found from what the vault already knows plus names in
  the text;
- `llm`: any OpenAI-compatible `/v1/chat/completions` endpoint, every fact checked to quote the
  source.

`choose` picks one from the settings: `ingest.synthesizer` in SYSTEM.md, the endpoint from
`COMPANION_LLM_URL` (the user's own environment, always trusted) or SYSTEM.md's `ingest.llm.url`
(a file that syncs and may be shared: used only when it is loopback or the same as the
environment's), the model likewise, the key only ever from `COMPANION_LLM_API_KEY`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from companion.config import Settings
from companion.errors import ConfigError

if TYPE_CHECKING:
    from companion.embed import Embedder
    from companion.ingest.result import Synthesizer


def choose(settings: Settings, embedder: Embedder | None = None) -> Synthesizer:
    rules = settings.schema.ingest
    if rules.synthesizer == "extractive" and not settings.llm_url:
        from companion.ingest.synth.extractive import ExtractiveSynthesizer

        return ExtractiveSynthesizer(embedder)
    from companion.ingest.synth.llm import LLMSynthesizer, endpoint_allowed

    url = settings.llm_url or rules.llm_url
    model = settings.llm_model or rules.llm_model
    if not url or not model:
        raise ConfigError(
            "the LLM synthesizer needs an endpoint and a model: set COMPANION_LLM_URL and "
            "COMPANION_LLM_MODEL (or `ingest.llm.url`/`model` in SYSTEM.md)"
        )
    from_system_md = not settings.llm_url
    if not endpoint_allowed(url, from_system_md=from_system_md, env_url=settings.llm_url):
        raise ConfigError(
            f"SYSTEM.md names the LLM endpoint {url}, which is not on this machine: sources would "
            "be sent there. Confirm it by setting COMPANION_LLM_URL to the same address"
        )
    return LLMSynthesizer(url, model, api_key=settings.llm_api_key)
