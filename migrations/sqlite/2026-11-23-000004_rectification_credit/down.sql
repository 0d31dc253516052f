DROP TABLE credit_events;
DROP TABLE rectification_steps;
