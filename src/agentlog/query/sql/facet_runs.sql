-- The agents and the users of the runs started since $since, each with its
-- number of runs, most runs first (at most $top each): the history's filter
-- dropdowns. One scan of the window's narrow columns, grouped both ways.
SELECT * FROM (
    SELECT GROUPING(agent) = 0 AS is_agent, agent, user_id, count(*) AS runs
    FROM (
        SELECT run_agent(root, agent, service) AS agent, "user".id AS user_id
        FROM run_rollups
        WHERE tenant_id = $tenant
          AND started_ns >= $since::UBIGINT
          AND ($user_scope IS NULL OR "user".id = $user_scope)
    )
    GROUP BY GROUPING SETS ((agent), (user_id))
)
WHERE coalesce(agent, user_id) IS NOT NULL
QUALIFY row_number() OVER (PARTITION BY is_agent ORDER BY runs DESC, coalesce(agent, user_id)) <= $top
ORDER BY is_agent DESC, runs DESC, coalesce(agent, user_id)
