// Model target — see DESIGN.md.
