/*
 * Why: graphile-worker's run() always starts its cron loop, even with the
 * empty crontab list worker/index.ts passes (its API has no switch to leave
 * cron out short of dropping run() for runTaskList, which would also drop
 * run()'s schema check and signal handling), and the loop's first step reads
 * graphile_worker._private_known_crontabs. Without SELECT every worker logged
 * "Cron hit an error … permission denied" and retried for ever. SELECT is all
 * an empty list needs: with no crontab identifiers cron inserts nothing and
 * schedules nothing. No policy: graphile-worker keeps row-level security on
 * that table, so the worker reads no rows of it.
 */
revoke all on graphile_worker._private_known_crontabs from heimdex_worker;
grant select on graphile_worker._private_known_crontabs to heimdex_worker;
