"""evplan's HTTP service: translates HTTP into ``planner`` calls, nothing more."""
