// Store target — see DESIGN.md.
