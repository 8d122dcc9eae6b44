// Tokenizer target — see DESIGN.md.
