// Test support: synthetic GGUF models and paths to real-model fixtures.
