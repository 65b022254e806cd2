-- The sessions with a run started at $from_ns or later, the latest run start
-- first, after the previous page's last session: narrow columns only. A
-- session's latest start is at $from_ns or later exactly when one of its runs
-- starts then, and is then the latest start in the window: so once the window
-- holds a page of sessions, they are the page (sessions.py widens it until
-- then), and sessions.sql sums up only theirs.
SELECT "session".id AS session_id, max(started_ns) AS last_started_ns
FROM run_rollups
WHERE tenant_id = $tenant
  AND started_ns >= $from_ns::UBIGINT
  AND "session".id IS NOT NULL
  AND ($user_scope IS NULL OR "user".id = $user_scope)
GROUP BY "session".id
HAVING $after_ns IS NULL
    OR max(started_ns) < $after_ns::UBIGINT
    OR (max(started_ns) = $after_ns::UBIGINT AND "session".id < $after_session)
ORDER BY last_started_ns DESC, session_id DESC
LIMIT $limit
