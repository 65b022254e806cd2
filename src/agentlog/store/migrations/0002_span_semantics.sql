-- Canonical columns read from each span's attributes at ingest, whatever the
-- instrumentation's convention (agentlog.proto.conventions has the table).
-- The original attributes stay as sent in `attributes`.
ALTER TABLE spans ADD COLUMN node_type VARCHAR;          -- agent, llm, tool, retriever, embedding, chain, reranker, guardrail, evaluator, prompt, span
ALTER TABLE spans ADD COLUMN agent_name VARCHAR;
ALTER TABLE spans ADD COLUMN agent_id VARCHAR;
ALTER TABLE spans ADD COLUMN model VARCHAR;
ALTER TABLE spans ADD COLUMN provider VARCHAR;
ALTER TABLE spans ADD COLUMN input_tokens BIGINT;        -- includes cache reads, as GenAI semconv counts them
ALTER TABLE spans ADD COLUMN output_tokens BIGINT;       -- includes reasoning
ALTER TABLE spans ADD COLUMN cache_read_tokens BIGINT;
ALTER TABLE spans ADD COLUMN reasoning_tokens BIGINT;
ALTER TABLE spans ADD COLUMN total_tokens BIGINT;
ALTER TABLE spans ADD COLUMN usage_aggregated BOOLEAN;   -- usage sums the children's: never added to run totals
ALTER TABLE spans ADD COLUMN cost_usd DECIMAL(38, 12);   -- exact; NULL when unknown
ALTER TABLE spans ADD COLUMN cost_source VARCHAR;        -- reported, computed, unknown; NULL without usage
ALTER TABLE spans ADD COLUMN input VARCHAR;
ALTER TABLE spans ADD COLUMN output VARCHAR;
ALTER TABLE spans ADD COLUMN user_id VARCHAR;
ALTER TABLE spans ADD COLUMN session_id VARCHAR;
ALTER TABLE spans ADD COLUMN tool_name VARCHAR;
ALTER TABLE spans ADD COLUMN error_type VARCHAR;
ALTER TABLE spans ADD COLUMN error_message VARCHAR;
