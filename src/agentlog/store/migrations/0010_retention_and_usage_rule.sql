-- Retention per tenant: delete runs that ended more than `days` ago, every
-- `every_seconds`. A tenant without a row gets the server's default.
CREATE TABLE retention_schedules (
    tenant_id         VARCHAR PRIMARY KEY,
    days              INTEGER NOT NULL,
    every_seconds     INTEGER NOT NULL,
    updated_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_run_at       TIMESTAMPTZ,
    last_deleted_runs BIGINT
);

-- The one statement of which spans' usage adds up to a run's totals: not
-- aggregated usage, and not agent or chain spans (their usage is a fallback,
-- see 0008). Used by the roll-up, metrics and repricing alike.
CREATE MACRO own_usage(node_type, usage_aggregated) AS
    NOT coalesce(usage_aggregated, false) AND coalesce(node_type, 'span') NOT IN ('agent', 'chain');
CREATE MACRO fallback_usage(node_type, usage_aggregated) AS
    NOT coalesce(usage_aggregated, false) AND node_type IN ('agent', 'chain');
