-- Cache writes: tokens written to a provider's prompt cache (Anthropic's
-- cache_creation_input_tokens, GenAI semconv's gen_ai.usage.cache_creation.input_tokens),
-- priced at the model's cache-write price. Like cache reads they are part of
-- input_tokens. A span stored before knows none (NULL, as its cache reads when
-- it reported none); a run's sums start at 0, as its cache reads' do.
--
-- The roll-up tables gain the column at their end, run_compacted and
-- run_partials alike: the view run_rollups and the compactor (store/rollups.py)
-- put the two side by side by position, and queries/merge_rollups.sql names
-- run_compacted's columns in its order.
ALTER TABLE stored_spans ADD COLUMN cache_write_tokens BIGINT;
ALTER TABLE run_compacted ADD COLUMN cache_write_tokens BIGINT DEFAULT 0;
ALTER TABLE run_compacted ALTER COLUMN cache_write_tokens SET NOT NULL;  -- as cache_read_tokens
ALTER TABLE run_compacted ADD COLUMN fallback_cache_write_tokens BIGINT DEFAULT 0;
ALTER TABLE run_partials ADD COLUMN cache_write_tokens BIGINT DEFAULT 0;
ALTER TABLE run_partials ADD COLUMN fallback_cache_write_tokens BIGINT DEFAULT 0;
