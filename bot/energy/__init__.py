"""Energy analysis: tiered tariffs, use and cost per period, label checks, upgrade payback, savings."""
