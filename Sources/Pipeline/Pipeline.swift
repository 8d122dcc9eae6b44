// Pipeline target — see DESIGN.md.
