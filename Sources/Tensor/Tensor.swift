// Tensor target — see DESIGN.md.
