// Planner target — see DESIGN.md.
