"""The core every layer shares: the error a user sees (errors), where things live (paths),
a run's record (records), every outcome a run can have (outcomes), and the tracker names
(tracker_options). Imports nothing of the project above it (docs/architecture.md)."""
