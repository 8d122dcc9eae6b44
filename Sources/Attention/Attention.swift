// Attention target — see DESIGN.md.
