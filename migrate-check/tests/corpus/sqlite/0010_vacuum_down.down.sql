-- migrate:no-transaction
DROP TABLE scratchpad;
VACUUM;
