-- Usage reported on agent and chain spans, kept apart: it is usually the sum of
-- the run's LLM calls (counted already), but for a remote agent with no child
-- spans (GenAI semconv's invoke_agent of a hosted assistant) it is the only
-- usage there is. A run's totals use it only when no other span reports usage.
ALTER TABLE runs ADD COLUMN usage_spans BIGINT DEFAULT 0;
ALTER TABLE runs ADD COLUMN fallback_input_tokens BIGINT DEFAULT 0;
ALTER TABLE runs ADD COLUMN fallback_output_tokens BIGINT DEFAULT 0;
ALTER TABLE runs ADD COLUMN fallback_cache_read_tokens BIGINT DEFAULT 0;
ALTER TABLE runs ADD COLUMN fallback_reasoning_tokens BIGINT DEFAULT 0;
ALTER TABLE runs ADD COLUMN fallback_total_tokens BIGINT DEFAULT 0;
ALTER TABLE runs ADD COLUMN fallback_cost_usd DECIMAL(38, 12) DEFAULT 0;
ALTER TABLE runs ADD COLUMN fallback_reported_cost_nodes BIGINT DEFAULT 0;
ALTER TABLE runs ADD COLUMN fallback_computed_cost_nodes BIGINT DEFAULT 0;
ALTER TABLE runs ADD COLUMN fallback_unknown_cost_nodes BIGINT DEFAULT 0;
UPDATE runs SET usage_spans = reported_cost_nodes + computed_cost_nodes + unknown_cost_nodes;
