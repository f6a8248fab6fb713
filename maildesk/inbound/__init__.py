"""Mail coming in: the three intakes, storing each mail once, and turning it into
ticket actions (parse, loop rules, threading, staff proof and commands, dispatch)."""
