-- The commits numbered in ($low, $high] that stored spans or live-status markers: the live feed on a lake
-- compares them with those it sent, to find commits that landed late (live_late_runs.sql).
SELECT commit_seq FROM stored_spans WHERE commit_seq > $low AND commit_seq <= $high
UNION
SELECT commit_seq FROM pending_spans WHERE commit_seq > $low AND commit_seq <= $high
