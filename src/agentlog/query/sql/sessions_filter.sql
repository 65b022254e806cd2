-- The filters of a sessions listing (sessions.sql), one a line, put in only
-- when their parameters are given (query/filtered.py): conditions on one run,
-- all of which one run of a listed session meets. q is lower-case text found
-- in the run's whole input or output, lower-cased.
        AND (agent = $agent OR agent_id = $agent)
        AND user_id = $user
        AND started_ns >= $since::UBIGINT
        AND started_ns < $until::UBIGINT
        AND (contains(lower(input), $q) OR contains(lower(output), $q))
