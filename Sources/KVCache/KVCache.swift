// KVCache target — see DESIGN.md.
