-- Sessions: the runs that share a session id (runs without one are in none),
-- each summed up, the one with the latest run start first. The runs are the
-- caller's (tenant, and user for a user-bound key); $sessions, when given,
-- picks the sessions to sum up (a page's, or the one a detail shows).
-- A session is listed when one of its runs passes every filter of
-- sessions_filter.sql, and its figures are those of all its runs. Keyset
-- paging after the previous page's last session ($after_ns, $after_session).
-- No time window here: sessions.py finds a first page's sessions in a window
-- of recent starts first (session_window.sql) when it can; otherwise this
-- groups every session run of the tenant (filters choose sessions, they do
-- not bound the scan).
SELECT *
FROM (
    SELECT
        session_id,
        CASE WHEN count(DISTINCT user_id) = 1 AND count(user_id) = count(*) THEN min(user_id) END AS user_id,
        list_sort(list_distinct(list(agent))) AS agent_ids,
        count(*) AS runs,
        count(*) FILTER (status = 'failed') AS failed_runs,
        count(*) FILTER (status = 'running') AS running_runs,
        min(started_ns) AS first_started_ns,
        max(started_ns) AS last_started_ns,
        max(ended_ns) AS last_ended_ns,
        sum(ended_ns - started_ns) AS duration_ns,
        sum(input_tokens)::BIGINT AS input_tokens,
        sum(output_tokens)::BIGINT AS output_tokens,
        sum(cache_read_tokens)::BIGINT AS cache_read_tokens,
        sum(cache_write_tokens)::BIGINT AS cache_write_tokens,
        sum(reasoning_tokens)::BIGINT AS reasoning_tokens,
        sum(total_tokens)::BIGINT AS total_tokens,
        sum(cost_usd) AS cost_usd
    FROM (
        SELECT
{run_columns},
            agent.id AS agent_id
        FROM run_rollups
        WHERE tenant_id = $tenant
          AND "session".id IS NOT NULL
          AND ($user_scope IS NULL OR "user".id = $user_scope)
          AND ($sessions IS NULL OR list_contains($sessions::VARCHAR[], "session".id))
    )
    GROUP BY session_id
    HAVING bool_or(true
{sessions_filter}
    )
)
WHERE $after_ns IS NULL
   OR last_started_ns < $after_ns::UBIGINT
   OR (last_started_ns = $after_ns::UBIGINT AND session_id < $after_session)
ORDER BY last_started_ns DESC, session_id DESC
LIMIT $limit
